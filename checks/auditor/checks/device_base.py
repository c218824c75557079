"""What every device check shares: one finding per switch or router of a supported vendor, from the
:class:`~auditor.facts.DeviceView` its vendor family read (live, or offline from saved outputs).

The evidence rule is enforced here and in the families: a missing or failed fact, an output that
was an error reply or cut short, a setting the configuration does not show and whose default no
document states, or zero objects examined, is ``error`` (or ``not_applicable``) with the reason,
never ``pass``. Every verdict names the lines it rests on (file and line, secrets masked) and, when
it fails, the commands that fix it in the device's own syntax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from auditor.checks._common import reason, unmeasured
from auditor.facts import (
    DeviceConfig,
    DeviceView,
    FactKind,
    Known,
    LineRef,
    LoginUsed,
    UnreadableFact,
    read_fact,
)
from auditor.inventory import Device
from auditor.messages import Msg, define, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta
from auditor.vendors import families, family, names

P = TypeVar("P", bound=BaseModel)
CONFIG_PROBE = "ssh.device_config"
SNMP_PROBE = "snmp.device_info"
DEFAULT_COMMUNITY_PROBE = "snmp.default_community"


define({
    "device.finding": ("{device}（{address}）：{text}", "{device} ({address}): {text}"),
    "device.not_audited": ("未审计：清单中没有为其提供 `ssh` 访问方式，无法读取其配置",
                           "not audited: the inventory gives no `ssh` access for it, so its configuration "
                           "could not be read"),
    "device.cannot_judge": ("无法判断{what}：{why}", "cannot judge {what}: {why}"),
    "device.config_silent": ("配置中没有体现", "the configuration does not show it"),
})


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Verdict:
    """What a check decides for one device."""

    status: Status
    message: Msg
    lines: tuple[LineRef, ...] = ()
    severity: Severity | None = None  # overrides the check's severity (a lower-weight failure)
    facts: tuple[str, ...] = ()
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None


@dataclass(frozen=True)
class Subject:
    """One device as a check sees it: the inventory entry, what was read from it, the fact."""

    device: Device
    config: DeviceConfig
    fact: Fact

    @property
    def view(self) -> DeviceView:
        return self.config.view

    @property
    def live(self) -> bool:
        return self.config.live

    def tcp(self, port: int) -> str | None:
        """What a TCP connect to ``port`` found (``open``/``closed``/``filtered``); None offline."""
        return (self.config.tcp or {}).get(str(port))

    @property
    def login(self) -> LoginUsed | None:
        return self.config.login


def unknown(setting: Known[Any], what: Msg) -> Verdict:
    """An ``error``: ``what`` cannot be judged, and why (the setting's note); ``not_applicable`` when
    the vendor family has no such setting at all."""
    if setting.source == "n/a":
        return Verdict(Status.NOT_APPLICABLE, reason(setting.note), setting.lines)
    why = reason(setting.note) if setting.note else msg("device.config_silent")
    return Verdict(Status.ERROR, msg("device.cannot_judge", what=what, why=why), setting.lines)


def meta(check_id: str, title: tuple[str, str], severity: Severity, rationale: tuple[str, str],
         remediation: tuple[str, str], requires: tuple[str, ...] = (CONFIG_PROBE,), *, effort: str,
         owner: str) -> CheckMeta:
    return CheckMeta(check_id, title[0], title[1], severity, rationale[0], rationale[1],
                     remediation[0], remediation[1], requires, effort=effort, owner=owner)


class DeviceCheck(Generic[P]):
    """Base: one finding per supported device from its ``device.config`` fact."""

    meta: ClassVar[CheckMeta]
    params_model: ClassVar[type[BaseModel]] = NoParams

    def judge(self, subject: Subject, ctx: CheckContext[P]) -> Verdict:
        raise NotImplementedError

    def evaluate(self, ctx: CheckContext[P]) -> list[Finding]:
        families()  # the families' messages: their notes in the facts are read back as messages
        findings = []
        for device in ctx.inventory.devices:
            if device.vendor not in names():
                continue
            target = f"device/{device.id}"
            fact = ctx.facts.get(FactKind.DEVICE_CONFIG, target)
            if fact is None and device.ssh is None:
                findings.append(Finding(
                    self.meta.id, target, Status.ERROR, self.meta.severity,
                    msg("device.finding", device=device.id, address=str(device.address),
                        text=msg("device.not_audited"))))
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
            config = read_fact(fact, DeviceConfig)
        except UnreadableFact as exc:
            return self._to_finding(device, fact, Verdict(Status.ERROR, reason(str(exc))), None)
        try:
            verdict = self.judge(Subject(device, config, fact), ctx)
        except UnreadableFact as exc:  # another fact the check reads beside this one
            verdict = Verdict(Status.ERROR, reason(str(exc)), facts=(exc.fact_id,))
        return self._to_finding(device, fact, verdict, config.view)

    def _to_finding(self, device: Device, fact: Fact, verdict: Verdict, view: DeviceView | None) -> Finding:
        artifacts = tuple(dict.fromkeys(fact.artifacts))
        evidence = tuple(_evidence(ref, view) for ref in verdict.lines)
        fix: tuple[str, ...] = ()
        if verdict.status is Status.FAIL:
            fix = family(device.vendor).remediation.get(self.meta.id, ())
        return Finding(
            self.meta.id, f"device/{device.id}", verdict.status, verdict.severity or self.meta.severity,
            msg("device.finding", device=device.id, address=str(device.address), text=verdict.message),
            measured=verdict.measured,
            threshold=verdict.threshold, unit=verdict.unit, facts=(fact.id, *verdict.facts),
            artifacts=artifacts, lines=tuple(ref.text for ref in verdict.lines), evidence=evidence, fix=fix)


def _evidence(ref: LineRef, view: DeviceView | None) -> dict[str, Any]:
    """A line as the report names it: the evidence file it is in (or the output kind), its number."""
    state = view.outputs.get(ref.output) if view is not None else None
    return {"file": (state.artifact if state and state.artifact else ref.output), "line": ref.line,
            "text": ref.text}
