"""Backup checks: fresh, not shrunk, copied off-site, restore tested; device configurations archived.

Ages are measured against ``listed_at`` (the agent's clock when the listing was taken); file
times come from the backup host. One finding per inventory backup target.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import per_target, reason
from auditor.facts import (
    BackupFile,
    BackupListing,
    DeviceConfig,
    FactKind,
    ListedLocation,
    UnreadableFact,
    read_fact,
)
from auditor.inventory import BackupTarget
from auditor.messages import Msg, define, joined, msg
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta
from auditor.vendors import names as vendor_names

KIND = FactKind.BACKUP_LISTING
PROBE = "backup.files"
CONFIG_KIND = FactKind.DEVICE_CONFIG
CONFIG_PROBE = "ssh.device_config"
FUTURE_SLACK_S = 3600.0  # file times more than this ahead of the agent's clock are not believed
PREVIOUS = 5  # how many earlier files the size comparison looks at

define({
    "backup.of": ("{backup}：{text}", "{backup}: {text}"),
    "backup.no_targets": ("清单中没有列出备份目标；请在 'backups' 下声明",
                          "the inventory lists no backup targets; declare them under 'backups'"),
    "backup.what.backup": ("备份", "backup"),
    "backup.what.offsite": ("异地副本", "off-site copy"),
    "backup.hours": ("{hours:.1f} 小时", "{hours:.1f} h"),
    "backup.hours_days": ("{hours:.1f} 小时（{days:.1f} 天）", "{hours:.1f} h ({days:.1f} days)"),
    "backup.no_file": ("没有与 {where} 匹配的{what}文件", "no {what} file matches {where}"),
    "backup.future": ("{where} 上最新的{what} {file} 的日期比审计代理的时钟晚 {span}；请校正该主机的时钟",
                      "newest {what} {file} at {where} is dated {span} in the future; fix the host's clock"),
    "backup.age_ok": ("{where} 上最新的{what} {file} 已有 {age}（≤ {limit:g} 小时）",
                      "newest {what} {file} at {where} is {age} old (≤ {limit:g} h)"),
    "backup.age_old": ("{where} 上最新的{what} {file} 已有 {age}（> {limit:g} 小时）",
                       "newest {what} {file} at {where} is {age} old (> {limit:g} h)"),
    "backup.empty": ("{where} 上最新的备份 {file} 为空（0 字节）",
                     "newest backup {file} at {where} is empty (0 bytes)"),
    "backup.size_alone": ("最新的备份 {file} 大小为 {size}；没有更早的备份可供比较",
                          "newest backup {file} is {size}; no earlier backup to compare with"),
    "backup.size_after_empty": ("最新的备份 {file} 大小为 {size}；之前的 {count} 个备份均为空（{sizes}）",
                                "newest backup {file} is {size}; the previous {count} were empty ({sizes})"),
    "backup.size_ok": ("最新的备份 {file} 大小为 {size}，是之前 {count} 个备份（{sizes}）中位数 {median} 的 "
                       "{ratio:.0%}；不低于 {min_ratio:.0%}",
                       "newest backup {file} is {size}, {ratio:.0%} of the median {median} of the previous "
                       "{count} ({sizes}); at least {min_ratio:.0%}"),
    "backup.size_low": ("最新的备份 {file} 大小为 {size}，是之前 {count} 个备份（{sizes}）中位数 {median} "
                        "的 {ratio:.0%}；低于 {min_ratio:.0%}",
                        "newest backup {file} is {size}, {ratio:.0%} of the median {median} of the "
                        "previous {count} ({sizes}); below {min_ratio:.0%}"),
    "backup.no_offsite": ("清单中未声明异地副本", "no off-site copy declared in the inventory"),
    "backup.offsite_unmeasured": ("未测量异地副本：{why}", "off-site copy not measured: {why}"),
    "backup.offsite_not_listed": ("未列出异地位置的文件", "the off-site location was not listed"),
    "backup.no_record": ("未声明恢复测试记录文件；请对最近一次恢复测试进行人工证明（auditor attest），"
                         "或声明 restore_record",
                         "no restore-test record file declared; attest the last restore test (auditor "
                         "attest) or declare restore_record"),
    "backup.record_not_read": ("未读取记录", "record not read"),
    "backup.record_future": ("恢复测试记录 {path} 的日期为 {day}，晚于当前日期；不能作为证据",
                             "restore record {path} is dated {day}, in the future; it proves nothing"),
    "backup.restore_ok": ("据 {path}，最近一次恢复测试在 {day}（{age} 天前，≤ {limit} 天）",
                          "last restore test {day} ({age} days ago, ≤ {limit} days) per {path}"),
    "backup.restore_old": ("据 {path}，最近一次恢复测试在 {day}（{age} 天前，> {limit} 天）",
                           "last restore test {day} ({age} days ago, > {limit} days) per {path}"),
    "backup.no_ssh_devices": ("清单中没有可通过 SSH 访问的交换机或路由器，因此无法归档任何配置",
                              "no inventory switch or router has SSH access, so no configuration can be "
                              "archived"),
    "backup.no_config_read": ("未读取到配置", "no configuration read"),
    "backup.config_incomplete": ("读取的配置不完整，因此未归档副本",
                                 "the configuration read was not complete, so no copy was archived"),
    "backup.device_why": ("{device}（{why}）", "{device} ({why})"),
    "backup.archived": ("已归档 {total} 台设备中 {count} 台的配置",
                        "{count} of {total} device configurations archived"),
    "backup.archived_missing": ("已归档 {total} 台设备中 {count} 台的配置；未归档：{items}",
                                "{count} of {total} device configurations archived; not archived: {items}"),
})


class FreshParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_hours: float = Field(default=26.0, gt=0)  # a nightly job plus two hours of slack


class SizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_ratio: float = Field(default=0.5, gt=0, le=1)


class OffsiteParams(BaseModel):
    """Off-site age limit. The default, 8 days, is a weekly off-site schedule plus a day of slack:
    GB/T 22239 level 2 asks for scheduled batch transfer without a frequency, and weekly is the
    usual schedule for school off-site copies; profiles for level 3 (real-time) set it lower."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_hours: float = Field(default=192.0, gt=0)


class RestoreParams(BaseModel):
    """Restore-test period. The default, 365 days, gives each yearly assessment a restore test
    of its own year; neither GB/T 22239 nor the Beijing criteria set a shorter period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_days: int = Field(default=365, gt=0)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _files(location: ListedLocation) -> list[BackupFile]:
    return sorted(location.files, key=lambda f: (f.mtime, f.name))


def _listed_at(data: BackupListing) -> float:
    return datetime.fromisoformat(data.listed_at).timestamp()


def _record_day(iso: str) -> date:
    """The calendar day of the record's ISO date or date-time (as the probe stored it)."""
    return date.fromisoformat(iso) if len(iso) == 10 else datetime.fromisoformat(iso).date()


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


def _hours(seconds: float) -> Msg:
    hours = seconds / 3600
    return msg("backup.hours", hours=hours) if hours < 72 else msg("backup.hours_days", hours=hours,
                                                                    days=hours / 24)


# (target, its listing, finding factory) -> finding
Judge = Callable[[BackupTarget, BackupListing, Callable[..., Finding]], Finding]


def per_backup(meta: CheckMeta, ctx: CheckContext[Any], judge: Judge) -> list[Finding]:
    """One finding per inventory backup target; a missing, failed or unreadable listing is an error."""
    def finding(backup: BackupTarget, target: str, fact: Fact) -> Finding:
        def make(status: Status, message: Msg, **kw: Any) -> Finding:
            return Finding(meta.id, target, status, meta.severity, message, facts=(fact.id,),
                           artifacts=fact.artifacts, **kw)

        return judge(backup, read_fact(fact, BackupListing), make)

    targets = [(f"backup/{backup.id}", backup) for backup in ctx.inventory.backups]
    return per_target(meta, ctx, KIND, PROBE, targets, finding) or [
        Finding(meta.id, "backups", Status.ERROR, meta.severity, msg("backup.no_targets"))]


def _age_verdict(location: ListedLocation, listed_at: float, limit_h: float, what: Msg,
                 make: Callable[..., Finding]) -> Finding:
    """Pass when the newest file of ``location`` is at most ``limit_h`` hours old."""
    files = _files(location)
    if not files:
        return make(Status.FAIL, msg("backup.no_file", what=what, where=location.where()), threshold=limit_h,
                    unit="h")
    newest = files[-1]
    age = listed_at - float(newest.mtime)
    if age < -FUTURE_SLACK_S:
        return make(Status.ERROR, msg("backup.future", what=what, file=newest.name, where=location.where(),
                                      span=_hours(-age)), threshold=limit_h, unit="h")
    age_h = max(age, 0.0) / 3600
    ok = age_h <= limit_h
    return make(Status.PASS if ok else Status.FAIL,
                msg("backup.age_ok" if ok else "backup.age_old", what=what, file=newest.name,
                    where=location.where(), age=_hours(max(age, 0.0)), limit=limit_h),
                measured=round(age_h, 2), threshold=limit_h, unit="h")


_BACKUP_RATIONALE_ZH = ("等保 2.0 要求提供重要数据的本地备份与恢复功能；"
                        "北京市智慧校园评价要求数据备份与快速恢复。")
_BACKUP_RATIONALE_EN = ("GB/T 22239 requires local backup and recovery of important data; the Beijing smart-"
                        "campus criteria ask for data backup and fast recovery.")


class BackupFresh:
    """The newest backup file is at most ``max_age_hours`` old."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="backup.fresh",
        title_zh="最近一次备份在规定时间内完成",
        title_en="The newest backup is recent enough",
        severity=Severity.HIGH,
        rationale_zh=_BACKUP_RATIONALE_ZH + "备份停止而无人发现是最常见的备份失效方式。",
        rationale_en=_BACKUP_RATIONALE_EN + " Backups that silently stopped are the most common failure.",
        remediation_zh="检查备份任务（计划任务、日志、磁盘空间），恢复定时备份并设置失败告警。",
        remediation_en="Check the backup job (schedule, logs, disk space), restore the schedule and alert "
        "on failures.",
        requires=(PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = FreshParams

    def evaluate(self, ctx: CheckContext[FreshParams]) -> list[Finding]:
        limit = ctx.params.max_age_hours

        def judge(_b: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            return _age_verdict(data.primary, _listed_at(data), limit, msg("backup.what.backup"), make)

        return per_backup(self.meta, ctx, judge)


class BackupSize:
    """The newest backup is not empty and not much smaller than the ones before it."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="backup.size",
        title_zh="最近一次备份非空且大小未骤减",
        title_en="The newest backup is not empty and has not shrunk sharply",
        severity=Severity.MEDIUM,
        rationale_zh="空文件或骤然变小的备份通常意味着备份任务出错（数据库连接失败、磁盘已满），却仍按时生成了文件。",
        rationale_en="An empty or sharply smaller backup usually means the job failed (database "
        "unreachable, disk full) while still writing a file on time.",
        remediation_zh="检查最近一次备份任务的日志与内容，必要时重新备份并做恢复验证。",
        remediation_en="Inspect the log and contents of the latest backup run; back up again and test a "
        "restore if needed.",
        requires=(PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = SizeParams

    def evaluate(self, ctx: CheckContext[SizeParams]) -> list[Finding]:
        ratio = ctx.params.min_ratio

        def judge(_b: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            return _size_verdict(data.primary, ratio, make)

        return per_backup(self.meta, ctx, judge)


def _size_verdict(location: ListedLocation, min_ratio: float, make: Callable[..., Finding]) -> Finding:
    files = _files(location)
    if not files:
        return make(Status.FAIL, msg("backup.no_file", what=msg("backup.what.backup"),
                                     where=location.where()), threshold=min_ratio)
    newest, earlier = files[-1], files[-1 - PREVIOUS:-1]
    size = newest.size
    if size == 0:
        return make(Status.FAIL, msg("backup.empty", file=newest.name, where=location.where()),
                    measured=0.0, threshold=min_ratio, unit="ratio")
    if not earlier:
        return make(Status.PASS, msg("backup.size_alone", file=newest.name, size=_size(size)),
                    threshold=min_ratio, unit="ratio")
    median = statistics.median(f.size for f in earlier)
    shown = [_size(f.size) for f in earlier]
    if median == 0:
        return make(Status.PASS, msg("backup.size_after_empty", file=newest.name, size=_size(size),
                                     count=len(earlier), sizes=shown), threshold=min_ratio, unit="ratio")
    got = size / median
    ok = got >= min_ratio
    return make(Status.PASS if ok else Status.FAIL,
                msg("backup.size_ok" if ok else "backup.size_low", file=newest.name, size=_size(size),
                    ratio=got, median=_size(median), count=len(earlier), sizes=shown, min_ratio=min_ratio),
                measured=round(got, 3), threshold=min_ratio, unit="ratio")


class BackupOffsite:
    """An off-site copy is declared and its newest file is at most ``max_age_hours`` old."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="backup.offsite",
        title_zh="备份有异地副本且异地副本及时更新",
        title_en="Backups are copied off-site, and the off-site copy is recent",
        severity=Severity.HIGH,
        rationale_zh="等保 2.0 要求提供异地数据备份，定时批量传送至备用场地；"
        "与原始数据同处的备份会随火灾、勒索软件一同损毁。",
        rationale_en="GB/T 22239 requires off-site backup transferred on a schedule to a standby site; a "
        "backup kept beside the data is lost with it to fire or ransomware.",
        remediation_zh="配置定时将备份复制到另一场地（区教委机房、另一校区或云存储），并在清单中登记。",
        remediation_en="Copy backups on a schedule to another site (the district data centre, another "
        "campus, cloud storage) and declare it in the inventory.",
        requires=(PROBE,),
        effort="purchase",
        owner="leadership",
    )
    params_model: ClassVar[type[BaseModel]] = OffsiteParams

    def evaluate(self, ctx: CheckContext[OffsiteParams]) -> list[Finding]:
        limit = ctx.params.max_age_hours

        def judge(backup: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            if backup.offsite is None:
                return make(Status.FAIL, msg("backup.of", backup=backup.id, text=msg("backup.no_offsite")),
                            threshold=limit, unit="h")
            if data.offsite_error or data.offsite is None:
                why = reason(data.offsite_error) if data.offsite_error else msg("backup.offsite_not_listed")
                return make(Status.ERROR, msg("backup.of", backup=backup.id,
                                              text=msg("backup.offsite_unmeasured", why=why)),
                            threshold=limit, unit="h")
            return _age_verdict(data.offsite, _listed_at(data), limit, msg("backup.what.offsite"), make)

        return per_backup(self.meta, ctx, judge)


class BackupRestoreTested:
    """A restore test is recorded within ``max_age_days``.

    Without a declared record file the finding is ``manual``: the restore test has to be
    attested (``auditor attest``) instead of measured.
    """

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="backup.restore_tested",
        title_zh="定期进行备份恢复测试并留有记录",
        title_en="Restoring from backup is tested regularly, with a record",
        severity=Severity.MEDIUM,
        rationale_zh="未经恢复测试的备份不能证明可用；北京市智慧校园评价要求数据能够快速恢复。",
        rationale_en="A backup that was never restored is not known to work; the Beijing criteria ask "
        "for fast recovery.",
        remediation_zh="定期把备份恢复到测试环境并核对数据，在记录文件首行写明日期（YYYY-MM-DD）并登记其路径。",
        remediation_en="Restore a backup into a test environment regularly, check the data, write the date "
        "(YYYY-MM-DD) on the first line of the record file and declare its path.",
        requires=(PROBE,),
        effort="policy",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = RestoreParams

    def evaluate(self, ctx: CheckContext[RestoreParams]) -> list[Finding]:
        limit = ctx.params.max_age_days

        def judge(backup: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            return _restore_verdict(backup, data, limit, make)

        return per_backup(self.meta, ctx, judge)


def _restore_verdict(backup: BackupTarget, data: BackupListing, limit: int,
                     make: Callable[..., Finding]) -> Finding:
    state = data.restore_record_state
    record = data.restore_record
    def of(text: Msg) -> Msg:
        return msg("backup.of", backup=backup.id, text=text)

    if backup.restore_record is None:
        return make(Status.MANUAL, of(msg("backup.no_record")), threshold=float(limit), unit="days")
    if state in ("missing", "invalid"):
        return make(Status.FAIL, of(reason(str(data.restore_record_error))), threshold=float(limit),
                    unit="days")
    if state != "ok" or record is None:
        why = (reason(data.restore_record_error) if data.restore_record_error
               else msg("backup.record_not_read"))
        return make(Status.ERROR, of(why), threshold=float(limit), unit="days")
    day = _record_day(record.date)
    age = (datetime.fromisoformat(data.listed_at).date() - day).days
    if age < -1:
        return make(Status.FAIL,
                    of(msg("backup.record_future", path=str(backup.restore_record), day=str(day))),
                    measured=float(age), threshold=float(limit), unit="days")
    ok = age <= limit
    return make(Status.PASS if ok else Status.FAIL,
                of(msg("backup.restore_ok" if ok else "backup.restore_old", day=str(day), age=max(age, 0),
                       limit=limit, path=str(backup.restore_record))),
                measured=float(max(age, 0)), threshold=float(limit), unit="days")




class DeviceConfigsArchived:
    """Every device with SSH access had its configuration read and archived by this audit."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="backup.device_configs",
        title_zh="网络设备配置已备份（由审计归档）",
        title_en="Network device configurations are backed up (archived by the audit)",
        severity=Severity.INFO,
        rationale_zh="设备配置也是需要备份的重要数据；审计通过 SSH 读取并归档的配置即为一份配置备份。",
        rationale_en="Device configurations are important data too; the configurations the audit reads "
        "over SSH and archives are a configuration backup.",
        remediation_zh="为清单中的设备配置 SSH 访问，使审计能读取并归档其配置。",
        remediation_en="Give the auditor SSH access to the inventory's devices so it can read and "
        "archive their configurations.",
        requires=(CONFIG_PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        # the switches and routers whose configuration the audit reads (not Linux hosts)
        devices = [d for d in ctx.inventory.devices if d.ssh is not None and d.vendor in vendor_names()]
        if not devices:
            return [Finding(self.meta.id, "devices", Status.NOT_APPLICABLE, self.meta.severity,
                            msg("backup.no_ssh_devices"))]
        facts = {d.id: ctx.facts.get(CONFIG_KIND, f"device/{d.id}") for d in devices}
        ok = {i: f for i, f in facts.items() if f is not None and f.status is FactStatus.OK}
        unreadable = {i: _unreadable(f) for i, f in ok.items()}
        if any(unreadable.values()):
            return [Finding(self.meta.id, "devices", Status.ERROR, self.meta.severity,
                            joined(reason(why) for why in unreadable.values() if why),
                            facts=tuple(f.id for i, f in ok.items() if unreadable[i]))]
        # archived only when the whole configuration was read (the probe stores no copy of a cut,
        # refused or unreadable one)
        incomplete = {i for i, f in ok.items() if not read_fact(f, DeviceConfig).config_sha256}
        missing: dict[str, Msg] = {
            i: (reason(f.error) if f is not None and f.error else msg("backup.no_config_read"))
            for i, f in facts.items() if i not in ok}
        missing |= {i: msg("backup.config_incomplete") for i in incomplete}
        ok = {i: f for i, f in ok.items() if i not in incomplete}
        status = Status.PASS if not missing else (Status.FAIL if ok else Status.ERROR)
        if missing:
            items = joined(msg("backup.device_why", device=i, why=why) for i, why in sorted(missing.items()))
            text = msg("backup.archived_missing", count=len(ok), total=len(devices), items=items)
        else:
            text = msg("backup.archived", count=len(ok), total=len(devices))
        return [Finding(self.meta.id, "devices", status, self.meta.severity, text,
                        measured=float(len(ok)), threshold=float(len(devices)), unit="devices",
                        facts=tuple(f"{CONFIG_KIND}:device/{i}" for i in sorted(facts)),
                        artifacts=tuple(a for f in ok.values() for a in f.artifacts))]


def _unreadable(fact: Fact) -> str | None:
    """Why a ``device.config`` fact's data is not evidence (None: it is)."""
    try:
        read_fact(fact, DeviceConfig)
    except UnreadableFact as exc:
        return str(exc)
    return None
