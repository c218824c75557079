"""Helpers shared by checks: turning a missing, failed or skipped fact into a finding."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, CheckMeta

T = TypeVar("T")


def unmeasured(meta: CheckMeta, target: str, fact: Fact | None, probe: str) -> Finding | None:
    """A finding for a fact that is absent, errored or skipped; None when the fact is usable."""
    if fact is None:
        return Finding(meta.id, target, Status.ERROR, meta.severity,
                       f"no measurement: the {probe} probe produced nothing for {target}")
    if fact.status is FactStatus.OK:
        return None
    status = Status.SKIPPED if fact.status is FactStatus.SKIPPED else Status.ERROR
    return Finding(meta.id, target, status, meta.severity, fact.error or "not measured",
                   facts=(fact.id,), artifacts=fact.artifacts)


def per_target(meta: CheckMeta, ctx: CheckContext[Any], kind: str, probe: str,
               items: Iterable[tuple[str, T]], judge: Callable[[T, str, Fact], Finding]) -> list[Finding]:
    """One finding per ``(target, item)``: the fact of ``kind`` for the target judged, or an
    ``error``/``skipped`` finding when the probe measured nothing usable (never a pass)."""
    findings = []
    for target, item in items:
        fact = ctx.facts.get(kind, target)
        problem = unmeasured(meta, target, fact, probe)
        if problem is None:
            assert fact is not None  # unmeasured() returns a finding for a missing fact
            problem = judge(item, target, fact)
        findings.append(problem)
    return findings
