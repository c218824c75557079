"""Waivers: an accepted risk for a check on a target (or an item), with approver and expiry.

A waived finding keeps its real status (``original_status``) and is reported as ``waived``;
it never counts as a pass. An expired or not-yet-started waiver is ignored with a warning.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Collection
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from auditor.errors import InputError
from auditor.model import Finding, Status
from auditor.yamlsrc import FieldError, line_of, load_yaml, validate

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


def load_waivers(path: Path, checks: Collection[str] | None = None,
                 items: Collection[str] | None = None) -> WaiverFile:
    """Read and validate a waiver file. Given the installed ``checks`` and the ``items`` the run's
    profiles have (bare and as ``PROFILE:ITEM``), a waiver naming anything else is refused with
    its line and the nearest valid name."""
    data, node, _raw = load_yaml(path)
    waiver_file = validate(WaiverFile, data, node, str(path))
    problems = []
    for i, w in enumerate(waiver_file.waivers):
        if checks is not None and w.check is not None and w.check not in checks:
            where = line_of(node, ("waivers", i, "check"))
            problems.append(f"{path}:{where}: waiver check {w.check!r}: no such check installed; "
                            + _nearest(w.check, checks, "'auditor checks' lists them"))
        if items is not None and w.item is not None and w.item not in items:
            where = line_of(node, ("waivers", i, "item"))
            loaded = ", ".join(sorted({n.partition(":")[0] for n in items if ":" in n}))
            problems.append(f"{path}:{where}: waiver item {w.item!r}: no profile in this run ({loaded}) "
                            f"has such an item; {_nearest_item(w.item, items)}")
    if len(problems) == 1:
        raise InputError(problems[0])
    if problems:
        raise InputError(f"{path}: {len(problems)} problems found:\n  " + "\n  ".join(problems))
    return waiver_file


def _nearest_item(item: str, items: Collection[str]) -> str:
    """The nearest valid item reference, written the way ``item`` is (bare or ``PROFILE:ITEM``);
    for a profile this run does not load, the nearest item of one it does."""
    qualified = ":" in item
    same_form = sorted(n for n in items if (":" in n) == qualified)
    near = difflib.get_close_matches(item, same_form, n=1)
    if not near and qualified:
        by_bare = {n.partition(":")[2]: n for n in same_form}
        near = [by_bare[b] for b in difflib.get_close_matches(item.partition(":")[2], sorted(by_bare), n=1)]
    return f"did you mean {near[0]}?" if near else "'auditor profiles --items' lists them"


def _nearest(name: str, names: Collection[str], otherwise: str) -> str:
    """``did you mean X?`` for the closest of ``names``, or ``otherwise`` when none is close."""
    near = difflib.get_close_matches(name, sorted(names), n=1)
    return f"did you mean {near[0]}?" if near else otherwise


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
