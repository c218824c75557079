"""What every device check shares: one finding per switch or router of a supported vendor, from the
:class:`~auditor.facts.DeviceView` its vendor family read (live, or offline from saved outputs).

The evidence rule is enforced here and in the families: a missing or failed fact, an output that
was an error reply or cut short, a setting the configuration does not show and whose default no
document states, or zero objects examined, is ``error`` (or ``not_applicable``) with the reason,
never ``pass``. Every verdict names the lines it rests on (file and line, secrets masked) and, when
it fails, the commands that fix it in the device's own syntax.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.checks._common import unmeasured
from auditor.facts import DeviceView, Known, LineRef, LoginUsed
from auditor.inventory import Device
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta
from auditor.vendors import family, names

P = TypeVar("P", bound=BaseModel)
CONFIG_KIND = "device.config"
SNMP_KIND = "device.snmp"
DEFAULT_COMMUNITY_KIND = "device.default_community"
CONFIG_PROBE = "ssh.device_config"
SNMP_PROBE = "snmp.device_info"
DEFAULT_COMMUNITY_PROBE = "snmp.default_community"


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Verdict:
    """What a check decides for one device."""

    status: Status
    message: str
    lines: tuple[LineRef, ...] = ()
    severity: Severity | None = None  # overrides the check's severity (a lower-weight failure)
    facts: tuple[str, ...] = ()
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Subject:
    """One device as a check sees it: the inventory entry, its view, the fact behind it."""

    device: Device
    view: DeviceView
    fact: Fact

    @property
    def live(self) -> bool:
        return bool(self.fact.data.get("live", True))

    def tcp(self, port: int) -> str | None:
        """What a TCP connect to ``port`` found (``open``/``closed``/``filtered``); None offline."""
        value = (self.fact.data.get("tcp") or {}).get(str(port))
        return str(value) if value is not None else None

    @property
    def login(self) -> LoginUsed | None:
        raw = self.fact.data.get("login")
        return LoginUsed.model_validate(raw) if raw else None


# Views by the fact that carries them, for as long as the fact lives (one audit).
_VIEWS: dict[int, tuple[weakref.ref[Fact], DeviceView]] = {}


def device_view(fact: Fact) -> DeviceView:
    """The device view a ``device.config`` fact carries, validated once for all the checks that
    read it (a switch with thousands of interfaces takes milliseconds to validate)."""
    key = id(fact)
    cached = _VIEWS.get(key)
    if cached is not None and cached[0]() is fact:
        return cached[1]
    view = DeviceView.model_validate(fact.data["view"])
    _VIEWS[key] = (weakref.ref(fact, lambda _ref: _VIEWS.pop(key, None)), view)
    return view


def unknown(setting: Known[Any], what: str) -> Verdict:
    """An ``error``: ``what`` cannot be judged, and why (the setting's note); ``not_applicable`` when
    the vendor family has no such setting at all."""
    if setting.source == "n/a":
        return Verdict(Status.NOT_APPLICABLE, setting.note, setting.lines)
    why = setting.note or "the configuration does not show it"
    return Verdict(Status.ERROR, f"cannot judge {what}: {why}", setting.lines)


def meta(check_id: str, title: tuple[str, str], severity: Severity, rationale: tuple[str, str],
         remediation: tuple[str, str], requires: tuple[str, ...] = (CONFIG_PROBE,)) -> CheckMeta:
    return CheckMeta(check_id, title[0], title[1], severity, rationale[0], rationale[1],
                     remediation[0], remediation[1], requires)


class DeviceCheck(Generic[P]):
    """Base: one finding per supported device from its ``device.config`` fact."""

    meta: ClassVar[CheckMeta]
    params_model: ClassVar[type[BaseModel]] = NoParams

    def judge(self, subject: Subject, ctx: CheckContext[P]) -> Verdict:
        raise NotImplementedError

    def evaluate(self, ctx: CheckContext[P]) -> list[Finding]:
        findings = []
        for device in ctx.inventory.devices:
            if device.vendor not in names():
                continue
            target = f"device/{device.id}"
            fact = ctx.facts.get(CONFIG_KIND, target)
            if fact is None and device.ssh is None:
                findings.append(Finding(
                    self.meta.id, target, Status.ERROR, self.meta.severity,
                    f"{device.id} ({device.address}): not audited: the inventory gives no `ssh` access "
                    f"for it, so its configuration could not be read"))
                continue
            problem = unmeasured(self.meta, target, fact, CONFIG_PROBE)
            if problem is not None:
                findings.append(problem)
                continue
            assert fact is not None
            findings.append(self.finding(device, fact, ctx))
        return findings

    def finding(self, device: Device, fact: Fact, ctx: CheckContext[P]) -> Finding:
        try:
            view = device_view(fact)
        except (KeyError, ValidationError) as exc:
            verdict = Verdict(Status.ERROR, f"the {CONFIG_KIND} fact carries no readable device view ({exc})")
            return self._to_finding(device, fact, verdict, None)
        subject = Subject(device, view, fact)
        return self._to_finding(device, fact, self.judge(subject, ctx), view)

    def _to_finding(self, device: Device, fact: Fact, verdict: Verdict, view: DeviceView | None) -> Finding:
        artifacts = tuple(dict.fromkeys(fact.artifacts))
        evidence = tuple(_evidence(ref, view) for ref in verdict.lines)
        fix: tuple[str, ...] = ()
        if verdict.status is Status.FAIL:
            fix = family(device.vendor).remediation.get(self.meta.id, ())
        return Finding(
            self.meta.id, f"device/{device.id}", verdict.status, verdict.severity or self.meta.severity,
            f"{device.id} ({device.address}): {verdict.message}", measured=verdict.measured,
            threshold=verdict.threshold, unit=verdict.unit, facts=(fact.id, *verdict.facts),
            artifacts=artifacts, lines=tuple(ref.text for ref in verdict.lines), evidence=evidence, fix=fix)


def _evidence(ref: LineRef, view: DeviceView | None) -> dict[str, Any]:
    """A line as the report names it: the evidence file it is in (or the output kind), its number."""
    state = view.outputs.get(ref.output) if view is not None else None
    return {"file": (state.artifact if state and state.artifact else ref.output), "line": ref.line,
            "text": ref.text}
