"""The audit's data shapes: statuses, facts, artifacts, findings, indicator results.

Everything here is a frozen dataclass with a ``to_json`` that gives plain JSON types, so a
report can be written canonically and read back by anyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, overload

from auditor.messages import Msg, both, recovered, render

JsonDict = dict[str, Any]

REPORT_NAME = "report.json"  # a bundle's canonical report
ENVELOPE_NAME = "report.dsse.json"  # its signed envelope


class Status(StrEnum):
    """Outcome of a check or an indicator. ``error`` (could not measure) never counts as pass."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    MANUAL = "manual"
    WAIVED = "waived"


class FactStatus(StrEnum):
    """Whether a probe produced a fact (``ok``), could not (``error``), or did not try."""

    OK = "ok"
    ERROR = "error"
    SKIPPED = "skipped"


class Severity(StrEnum):
    """How much a failed check matters."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Safety(StrEnum):
    """Safety class of a probe task on a live network."""

    PASSIVE = "passive"  # reads state (SNMP get, SSH show)
    ACTIVE = "active"  # sends probes (scans)
    BANDWIDTH = "bandwidth"  # saturates a link: exclusive, never in class hours unless forced


@dataclass(frozen=True)
class Artifact:
    """A raw evidence file stored in the bundle, with its SHA-256."""

    path: str  # relative to the bundle root, POSIX separators
    sha256: str
    size: int
    media_type: str
    description: str
    sm3: str = ""  # SM3 digest (GB/T 32905), beside the SHA-256

    def to_json(self) -> JsonDict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "sm3": self.sm3,
            "size": self.size,
            "media_type": self.media_type,
            "description": self.description,
            # the description in both languages (a probe writes it by rendering a catalogue message)
            "text": both(recovered(self.description)),
        }


@dataclass(frozen=True)
class Fact:
    """A typed observation made by a probe about one subject.

    ``kind`` names the shape of ``data`` (e.g. ``bandwidth.goodput``); ``subject`` names what
    was observed (e.g. ``classroom/room101/downstream``). A fact whose status is ``error``
    carries the reason and no data.
    """

    kind: str
    subject: str
    probe: str
    status: FactStatus
    data: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    artifacts: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.subject}"

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "probe": self.probe,
            "status": self.status.value,
            "data": dict(self.data),
            "error": self.error,
            "artifacts": list(self.artifacts),
        }


class _English:
    """The ``message`` field of :class:`Finding`: given a plain string or a :class:`Msg`, it reads as
    the English string (what every reader of ``finding.message`` has always had); the value given is
    kept in ``Finding.text``."""

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _English: ...
    @overload
    def __get__(self, obj: Finding, owner: type[Any]) -> str: ...
    def __get__(self, obj: Finding | None, owner: type[Any]) -> str | _English:
        if obj is None:
            raise AttributeError("message")  # no class-level default: the dataclass field is required
        return render(obj.text, "en")

    def __set__(self, obj: Finding, value: str | Msg) -> None:
        obj.__dict__["_given"] = value


@dataclass(frozen=True)
class Finding:
    """A check's verdict on one target, with the values and evidence it relied on.

    ``message`` is given as a plain string or a :class:`~auditor.messages.Msg` and reads as the
    English string; ``text`` is what was given (render it in the reader's language with
    :func:`auditor.messages.both`). ``to_json`` writes both: ``message`` (English) and ``text``.
    """

    check: str
    target: str
    status: Status
    severity: Severity
    message: _English = _English()  # given str | Msg; reads as the English str
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None
    facts: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    original_status: Status | None = None  # set when waived
    waiver: Mapping[str, Any] | None = None
    lines: tuple[str, ...] = ()  # configuration lines (or output lines) the verdict relied on
    id: str = ""  # unique within a report (``F0001`` ...), set once every check has run
    evidence: tuple[Mapping[str, Any], ...] = ()  # those lines with their file and line number
    fix: tuple[str, ...] = ()  # commands that fix a failure, in the target's own syntax
    # the message as given (str or Msg); set from ``message``, and carried over by
    # ``dataclasses.replace`` (which passes the English ``message`` back in beside it)
    text: str | Msg = field(default="", repr=False)

    def __post_init__(self) -> None:
        given = self.__dict__.pop("_given")
        if not isinstance(given, Msg) and isinstance(self.text, Msg) and self.text.render("en") == given:
            return  # replace(finding, ...) without a new message: keep the message it had
        object.__setattr__(self, "text", given)

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "check": self.check,
            "target": self.target,
            "status": self.status.value,
            "severity": self.severity.value,
            "message": self.message,
            "text": both(self.text),
            "measured": self.measured,
            "threshold": self.threshold,
            "unit": self.unit,
            "facts": list(self.facts),
            "artifacts": list(self.artifacts),
            "original_status": self.original_status.value if self.original_status else None,
            "waiver": dict(self.waiver) if self.waiver else None,
            "lines": list(self.lines),
            "evidence": [dict(e) for e in self.evidence],
            "fix": list(self.fix),
        }


VERDICT = {
    Status.PASS: "satisfied",
    Status.FAIL: "not satisfied",
    Status.ERROR: "not determined",
    Status.SKIPPED: "not determined",
    Status.NOT_APPLICABLE: "not applicable",
    Status.MANUAL: "needs attestation",
    Status.WAIVED: "not satisfied (waived)",
}


@dataclass(frozen=True)
class IndicatorResult:
    """An item's (monitoring point's) status, from its findings, attestations and waivers."""

    profile: str
    indicator: str
    number: str | None
    path: tuple[str, ...]
    title: str
    status: Status
    reason: str
    checks: tuple[str, ...]
    manual: tuple[str, ...]
    attested_by: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()  # ids of the findings that decided it

    def to_json(self) -> JsonDict:
        return {
            "profile": self.profile,
            "indicator": self.indicator,
            "number": self.number,
            "path": list(self.path),
            "title": self.title,
            "status": self.status.value,
            "verdict": VERDICT[self.status],
            "reason": self.reason,
            "checks": list(self.checks),
            "manual": list(self.manual),
            "attested_by": list(self.attested_by),
            "findings": list(self.findings),
        }


def combine(statuses: Iterable[Status]) -> Status:
    """Combine statuses conservatively: any fail → fail; else any error → error; all pass → pass.

    ``waived`` findings keep the combination from passing on their own; skipped or missing
    evidence never yields ``pass``.
    """
    seen = set(statuses)
    if not seen:
        return Status.ERROR
    for status in (Status.FAIL, Status.ERROR, Status.SKIPPED, Status.WAIVED, Status.MANUAL):
        if status in seen:
            return status
    if seen == {Status.NOT_APPLICABLE}:
        return Status.NOT_APPLICABLE
    return Status.PASS
