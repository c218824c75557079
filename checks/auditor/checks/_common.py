"""Helpers shared by checks: turning a missing, failed or skipped fact into a finding."""

from __future__ import annotations

from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckMeta


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
