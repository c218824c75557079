"""Wi-Fi survey probe: the current survey records of each Wi-Fi area, as facts and evidence.

Surveys are taken beforehand in the area (``auditor wifi survey``); this probe measures
nothing on the network. For each inventory Wi-Fi area it keeps the newest record of every
survey point that is younger than ``max_age_days``, copies the record and its raw scan into
the evidence store, and yields one ``wifi.survey`` fact. An area without a current record
is an ``error`` fact ("no current evidence"), never an empty pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.errors import InputError, ProbeError, TargetUnreachable
from auditor.facts import BssRow, FactKind, SurveyPoint, WifiSurvey, fact_data
from auditor.inbound import read_text
from auditor.inventory import Inventory
from auditor.messages import define, english, msg
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes.wifi_capture import Survey, load_surveys, surveys_dir

KIND = FactKind.WIFI_SURVEY

define({
    "probe.wifi.record_evidence": ("{area} 的 Wi-Fi 勘测记录，点位 {point}",
                                   "Wi-Fi survey record of {area}, point {point}"),
    "probe.wifi.unnamed": ("（未命名）", "(unnamed)"),
    "probe.wifi.raw_missing": ("勘测记录 {path} 引用的原始扫描文件 {file} 不存在；请重新勘测",
                               "survey record {path} names raw scan {file}, which is missing; re-take the "
                               "survey"),
    "probe.wifi.raw_evidence": ("{tool} 扫描输出（{version}）", "{tool} scan output ({version})"),
    "probe.wifi.version_unknown": ("版本未知", "version unknown"),
    "probe.wifi.no_record": ("区域 {area}（{name}）没有勘测记录：请在该区域运行 `auditor wifi survey --area "
                             "{area}`（或用 --from-file 导入扫描结果）",
                             "no survey record for area {area} ({name}): run `auditor wifi survey --area "
                             "{area}` there (or import a scan with --from-file)"),
    "probe.wifi.future": ("区域 {area}（{name}）没有当前证据：勘测记录 {file} 的时间比审计代理的时钟晚 "
                          "{hours:.1f} 小时，说明勘测电脑（或审计代理）的时钟有误，该记录不计入；"
                          "请校正时钟后重新勘测",
                          "no current evidence for area {area} ({name}): survey {file} is dated "
                          "{hours:.1f} h after the agent's clock, so the surveying computer's clock (or "
                          "the agent's) is wrong and the record is not counted; fix the clock and survey "
                          "again"),
    "probe.wifi.stale": ("区域 {area}（{name}）没有当前证据：最新的勘测记录已有 {age} 天（上限 {limit} 天）"
                         "；请在该区域重新运行 `auditor wifi survey --area {area}`",
                         "no current evidence for area {area} ({name}): the newest survey is {age} days "
                         "old (limit {limit}); run `auditor wifi survey --area {area}` there again"),
}, recoverable=True)


class WifiSurveySettings(BaseModel):
    """Settings of the Wi-Fi survey probe (profile ``probe_settings: wifi.surveys``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_days: int = Field(default=180, ge=1, le=3650)


class WifiSurveysProbe:
    """Reads each Wi-Fi area's current survey records (taken with ``auditor wifi survey``)."""

    name: ClassVar[str] = "wifi.surveys"
    description: ClassVar[str] = "Wi-Fi survey records per area (signal, band, security of every BSS)"
    settings_model: ClassVar[type[BaseModel]] = WifiSurveySettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, WifiSurveySettings)
        directory = str(surveys_dir(inventory))
        return [
            ProbeTask(
                probe=self.name, target=f"area/{area.id}", address=None,  # reads survey records only
                params={"area": area.id, "area_name": area.name, "area_class": area.area_class,
                        "directory": directory, "settings": settings.model_dump()},
                produces=((KIND, f"area/{area.id}"),), safety=Safety.PASSIVE, estimated_seconds=0.1,
            )
            for area in inventory.wifi_areas
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = WifiSurveySettings.model_validate(task.params["settings"])
        area, name = str(task.params["area"]), str(task.params["area_name"])
        records = load_surveys(Path(task.params["directory"]), area)
        current = current_surveys(records, s.max_age_days, datetime.now(UTC), area, name)
        artifacts: list[str] = []
        surveys: list[SurveyPoint] = []
        for record in current:
            stem = record.path.stem
            artifacts.append(ctx.evidence.put(
                f"wifi/{area}/{stem}.json", record.path.read_bytes(), "application/json",
                english("probe.wifi.record_evidence", area=name,
                        point=record.point or msg("probe.wifi.unnamed"))).path)
            if not record.raw_path.exists():
                raise ProbeError(english("probe.wifi.raw_missing", path=str(record.path),
                                         file=record.raw_file))
            try:  # copied into the bundle: a scan's text, never a key or the secrets
                raw = read_text(record.raw_path, f"survey record {record.path}: raw_file")
            except InputError as exc:
                raise ProbeError(str(exc)) from None
            artifacts.append(ctx.evidence.put(
                f"wifi/{area}/{record.raw_file}", raw, "text/plain",
                english("probe.wifi.raw_evidence", tool=record.tool,
                        version=record.tool_version or msg("probe.wifi.version_unknown"))).path)
            surveys.append(survey_point(record, artifacts[-2]))
        data = WifiSurvey(area=area, area_name=name, area_class=task.params["area_class"],
                          max_age_days=s.max_age_days, superseded=len(records) - len(current),
                          surveys=tuple(surveys))
        return [Fact(KIND, task.target, self.name, FactStatus.OK, data=fact_data(data),
                     artifacts=tuple(artifacts))]


def survey_point(record: Survey, evidence: str) -> SurveyPoint:
    """One survey record as the ``wifi.survey`` data keeps it (``evidence``: its copy in the bundle)."""
    return SurveyPoint(
        taken_at=record.taken_at.isoformat().replace("+00:00", "Z"),
        point=record.point, host=record.host, tool=record.tool,
        tool_version=record.tool_version, interface=record.interface,
        record=evidence, bss=tuple(BssRow.of(b) for b in record.bss),
    )


FUTURE_SLACK_S = 3600.0  # a record dated later than this after the agent's clock is not believed


def current_surveys(records: list[Survey], max_age_days: int, now: datetime, area: str,
                    name: str) -> list[Survey]:
    """The newest record of each point that is at most ``max_age_days`` old (oldest first).

    Raises TargetUnreachable when there is none: no record at all, or only stale ones, or only
    ones dated in the future (a clock is wrong: reported, never counted).
    """
    if not records:
        raise TargetUnreachable(english("probe.wifi.no_record", area=area, name=name))
    future = [r for r in records if (r.taken_at - now).total_seconds() > FUTURE_SLACK_S]
    limit = max_age_days * 86400
    fresh = [r for r in records if r not in future and (now - r.taken_at).total_seconds() <= limit]
    if not fresh and future:
        ahead = (future[0].taken_at - now).total_seconds() / 3600
        raise TargetUnreachable(english("probe.wifi.future", area=area, name=name, file=future[0].path.name,
                                        hours=ahead))
    if not fresh:
        newest = max(records, key=lambda r: r.taken_at)
        age = (now - newest.taken_at).days
        raise TargetUnreachable(english("probe.wifi.stale", area=area, name=name, age=age,
                                        limit=max_age_days))
    newest_by_point: dict[str, Survey] = {}
    for record in sorted(fresh, key=lambda r: r.taken_at):
        newest_by_point[record.point or ""] = record
    return sorted(newest_by_point.values(), key=lambda r: r.taken_at)
