"""Helpers shared by checks: turning a missing, failed, skipped or unreadable fact into a finding."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from auditor.facts import UnreadableFact
from auditor.messages import Msg, define, msg, recover
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, CheckMeta

T = TypeVar("T")

define({
    "check.no_measurement": ("未测量：{probe} 探针没有为 {target} 产生任何结果",
                             "no measurement: the {probe} probe produced nothing for {target}"),
    "check.not_measured": ("未测量", "not measured"),
    # a reason written elsewhere (a probe's error, a fact that does not validate), quoted as it is
    # when it is no catalogue message
    "check.reason": ("{reason}", "{reason}"),
})


def reason(text: str | Msg | None) -> Msg:
    """A reason that reached the check as text (a fact's error, an exception), as a message: the
    catalogue message it was rendered from, else the text quoted as it is."""
    if isinstance(text, Msg):
        return text
    found = recover(text or "")
    return found if isinstance(found, Msg) else msg("check.reason", reason=found)


def unmeasured(meta: CheckMeta, target: str, fact: Fact | None, probe: str) -> Finding | None:
    """A finding for a fact that is absent, errored or skipped; None when the fact is usable."""
    if fact is None:
        return Finding(meta.id, target, Status.ERROR, meta.severity,
                       msg("check.no_measurement", probe=probe, target=target))
    if fact.status is FactStatus.OK:
        return None
    status = Status.SKIPPED if fact.status is FactStatus.SKIPPED else Status.ERROR
    return Finding(meta.id, target, status, meta.severity,
                   reason(fact.error) if fact.error else msg("check.not_measured"),
                   facts=(fact.id,), artifacts=fact.artifacts)


def unreadable(meta: CheckMeta, target: str, fact: Fact, exc: UnreadableFact) -> Finding:
    """An ``error`` for a fact (``fact``, or another one the check read beside it) whose data is not
    the shape its probe writes: it is not evidence, so nothing is judged from it."""
    return Finding(meta.id, target, Status.ERROR, meta.severity, reason(str(exc)),
                   facts=tuple(dict.fromkeys((fact.id, exc.fact_id))), artifacts=fact.artifacts)


def judged(meta: CheckMeta, target: str, fact: Fact, judge: Callable[[], Finding]) -> Finding:
    """``judge()``'s finding, or an ``error`` when a fact it reads is unreadable (never a crash)."""
    try:
        return judge()
    except UnreadableFact as exc:
        return unreadable(meta, target, fact, exc)


def per_target(meta: CheckMeta, ctx: CheckContext[Any], kind: str, probe: str,
               items: Iterable[tuple[str, T]], judge: Callable[[T, str, Fact], Finding]) -> list[Finding]:
    """One finding per ``(target, item)``: the fact of ``kind`` for the target judged, or an
    ``error``/``skipped`` finding when the probe measured nothing usable (never a pass), or its data
    is not the shape the probe writes."""
    findings = []
    for target, item in items:
        fact = ctx.facts.get(kind, target)
        problem = unmeasured(meta, target, fact, probe)
        if problem is None:
            assert fact is not None  # unmeasured() returns a finding for a missing fact
            problem = judged(meta, target, fact, partial(judge, item, target, fact))
        findings.append(problem)
    return findings
