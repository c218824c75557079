"""Waivers: an accepted risk for a check on a target (or an item), with approver and expiry.

A waived finding keeps its real status (``original_status``) and is reported as ``waived``;
it never counts as a pass. An expired or not-yet-started waiver is ignored with a warning.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from auditor.model import Finding, Status
from auditor.yamlsrc import FieldError, load_yaml, validate

Text = Annotated[str, StringConstraints(min_length=1)]


class Waiver(BaseModel):
    """One waiver. ``target`` may use shell wildcards (``classroom/room103/*``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: Text | None = None
    target: Text | None = None
    item: Text | None = None  # [PROFILE:]ITEM, to waive an item as a whole
    reason: Text
    approver: Text
    start: date
    expires: date
    risk: Literal["low", "medium", "high", "critical"]

    @model_validator(mode="after")
    def _what(self) -> Self:
        if self.check is None and self.item is None:
            raise ValueError("a waiver names a 'check' (and optionally a 'target') or an 'item'")
        if self.expires < self.start:
            raise FieldError(("expires",), "'expires' is before 'start'; check the dates")
        return self

    def active(self, today: date) -> bool:
        return self.start <= today <= self.expires

    def covers(self, finding: Finding) -> bool:
        return (self.check is not None and self.check == finding.check
                and (self.target is None or fnmatch.fnmatchcase(finding.target, self.target)))

    def covers_item(self, profile: str, item: str) -> bool:
        return self.item is not None and self.item in {item, f"{profile}:{item}"}

    def to_json(self) -> dict[str, str | None]:
        return {"check": self.check, "target": self.target, "item": self.item,
                "reason": self.reason, "approver": self.approver, "start": self.start.isoformat(),
                "expires": self.expires.isoformat(), "risk": self.risk}


class WaiverFile(BaseModel):
    """A waiver file (``schema: 1``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Annotated[Literal[1], Field(alias="schema")] = 1
    waivers: list[Waiver] = Field(default_factory=list)


def load_waivers(path: Path) -> WaiverFile:
    data, node, _raw = load_yaml(path)
    return validate(WaiverFile, data, node, str(path))


def split_active(waivers: list[Waiver], today: date) -> tuple[list[Waiver], list[str]]:
    """Active waivers, and a warning for each one that is not in force ``today`` (the audit clock's
    date in the school's time zone; the warning states it)."""
    active, warnings = [], []
    for w in waivers:
        if w.active(today):
            active.append(w)
        else:
            what = w.item or f"{w.check} {w.target or '*'}"
            when = f"expired {w.expires}" if w.expires < today else f"starts {w.start}"
            warnings.append(f"waiver for {what} ({when}; judged on {today} by the audit clock) is ignored")
    return active, warnings


def apply_waivers(findings: list[Finding], waivers: list[Waiver]) -> list[Finding]:
    """Mark failed or errored findings covered by an active waiver as ``waived``."""
    out = []
    for f in findings:
        w = next((w for w in waivers if w.covers(f)), None)
        if w is not None and f.status in {Status.FAIL, Status.ERROR}:
            out.append(replace(f, status=Status.WAIVED, original_status=f.status, waiver=w.to_json()))
        else:
            out.append(f)
    return out
