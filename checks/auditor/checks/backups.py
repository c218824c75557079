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

from auditor.checks._common import per_target
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
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta
from auditor.vendors import names as vendor_names

KIND = FactKind.BACKUP_LISTING
PROBE = "backup.files"
CONFIG_KIND = FactKind.DEVICE_CONFIG
CONFIG_PROBE = "ssh.device_config"
FUTURE_SLACK_S = 3600.0  # file times more than this ahead of the agent's clock are not believed
PREVIOUS = 5  # how many earlier files the size comparison looks at


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


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 72 else f"{hours:.1f} h ({hours / 24:.1f} days)"


# (target, its listing, finding factory) -> finding
Judge = Callable[[BackupTarget, BackupListing, Callable[..., Finding]], Finding]


def per_backup(meta: CheckMeta, ctx: CheckContext[Any], judge: Judge) -> list[Finding]:
    """One finding per inventory backup target; a missing, failed or unreadable listing is an error."""
    def finding(backup: BackupTarget, target: str, fact: Fact) -> Finding:
        def make(status: Status, message: str, **kw: Any) -> Finding:
            return Finding(meta.id, target, status, meta.severity, message, facts=(fact.id,),
                           artifacts=fact.artifacts, **kw)

        return judge(backup, read_fact(fact, BackupListing), make)

    targets = [(f"backup/{backup.id}", backup) for backup in ctx.inventory.backups]
    return per_target(meta, ctx, KIND, PROBE, targets, finding) or [
        Finding(meta.id, "backups", Status.ERROR, meta.severity,
                "the inventory lists no backup targets; declare them under 'backups'")]


def _age_verdict(location: ListedLocation, listed_at: float, limit_h: float, what: str,
                 make: Callable[..., Finding]) -> Finding:
    """Pass when the newest file of ``location`` is at most ``limit_h`` hours old."""
    files = _files(location)
    if not files:
        return make(Status.FAIL, f"no {what} file matches {location.where()}", threshold=limit_h, unit="h")
    newest = files[-1]
    age = listed_at - float(newest.mtime)
    if age < -FUTURE_SLACK_S:
        return make(Status.ERROR, f"newest {what} {newest.name} at {location.where()} is dated "
                    f"{_hours(-age)} in the future; fix the host's clock", threshold=limit_h, unit="h")
    age_h = max(age, 0.0) / 3600
    ok = age_h <= limit_h
    return make(Status.PASS if ok else Status.FAIL,
                f"newest {what} {newest.name} at {location.where()} is {_hours(max(age, 0.0))} old "
                f"({'≤' if ok else '>'} {limit_h:g} h)",
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
    )
    params_model: ClassVar[type[BaseModel]] = FreshParams

    def evaluate(self, ctx: CheckContext[FreshParams]) -> list[Finding]:
        limit = ctx.params.max_age_hours

        def judge(_b: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            return _age_verdict(data.primary, _listed_at(data), limit, "backup", make)

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
        return make(Status.FAIL, f"no backup file matches {location.where()}", threshold=min_ratio)
    newest, earlier = files[-1], files[-1 - PREVIOUS:-1]
    size = newest.size
    if size == 0:
        return make(Status.FAIL, f"newest backup {newest.name} at {location.where()} is empty (0 bytes)",
                    measured=0.0, threshold=min_ratio, unit="ratio")
    if not earlier:
        return make(Status.PASS, f"newest backup {newest.name} is {_size(size)}; no earlier backup to "
                    f"compare with", threshold=min_ratio, unit="ratio")
    median = statistics.median(f.size for f in earlier)
    shown = ", ".join(_size(f.size) for f in earlier)
    if median == 0:
        return make(Status.PASS, f"newest backup {newest.name} is {_size(size)}; the previous "
                    f"{len(earlier)} were empty ({shown})", threshold=min_ratio, unit="ratio")
    got = size / median
    ok = got >= min_ratio
    return make(Status.PASS if ok else Status.FAIL,
                f"newest backup {newest.name} is {_size(size)}, {got:.0%} of the median {_size(median)} "
                f"of the previous {len(earlier)} ({shown}); {'at least' if ok else 'below'} {min_ratio:.0%}",
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
    )
    params_model: ClassVar[type[BaseModel]] = OffsiteParams

    def evaluate(self, ctx: CheckContext[OffsiteParams]) -> list[Finding]:
        limit = ctx.params.max_age_hours

        def judge(backup: BackupTarget, data: BackupListing, make: Callable[..., Finding]) -> Finding:
            if backup.offsite is None:
                return make(Status.FAIL, f"{backup.id}: no off-site copy declared in the inventory",
                            threshold=limit, unit="h")
            if data.offsite_error or data.offsite is None:
                reason = data.offsite_error or "the off-site location was not listed"
                return make(Status.ERROR, f"{backup.id}: off-site copy not measured: {reason}",
                            threshold=limit, unit="h")
            return _age_verdict(data.offsite, _listed_at(data), limit, "off-site copy", make)

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
    if backup.restore_record is None:
        return make(Status.MANUAL, f"{backup.id}: no restore-test record file declared; attest the last "
                    f"restore test (auditor attest) or declare restore_record", threshold=float(limit),
                    unit="days")
    if state in ("missing", "invalid"):
        return make(Status.FAIL, f"{backup.id}: {data.restore_record_error}", threshold=float(limit),
                    unit="days")
    if state != "ok" or record is None:
        return make(Status.ERROR, f"{backup.id}: {data.restore_record_error or 'record not read'}",
                    threshold=float(limit), unit="days")
    day = _record_day(record.date)
    age = (datetime.fromisoformat(data.listed_at).date() - day).days
    if age < -1:
        return make(Status.FAIL, f"{backup.id}: restore record {backup.restore_record} is dated {day}, in "
                    f"the future; it proves nothing", measured=float(age), threshold=float(limit),
                    unit="days")
    ok = age <= limit
    return make(Status.PASS if ok else Status.FAIL,
                f"{backup.id}: last restore test {day} ({max(age, 0)} days ago, {'≤' if ok else '>'} "
                f"{limit} days) per {backup.restore_record}",
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
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        # the switches and routers whose configuration the audit reads (not Linux hosts)
        devices = [d for d in ctx.inventory.devices if d.ssh is not None and d.vendor in vendor_names()]
        if not devices:
            return [Finding(self.meta.id, "devices", Status.NOT_APPLICABLE, self.meta.severity,
                            "no inventory switch or router has SSH access, so no configuration can be "
                            "archived")]
        facts = {d.id: ctx.facts.get(CONFIG_KIND, f"device/{d.id}") for d in devices}
        ok = {i: f for i, f in facts.items() if f is not None and f.status is FactStatus.OK}
        unreadable = {i: _unreadable(f) for i, f in ok.items()}
        if any(unreadable.values()):
            return [Finding(self.meta.id, "devices", Status.ERROR, self.meta.severity,
                            "; ".join(why for why in unreadable.values() if why),
                            facts=tuple(f.id for i, f in ok.items() if unreadable[i]))]
        # archived only when the whole configuration was read (the probe stores no copy of a cut,
        # refused or unreadable one)
        incomplete = {i for i, f in ok.items() if not read_fact(f, DeviceConfig).config_sha256}
        missing = {i: (f.error if f is not None and f.error else "no configuration read")
                   for i, f in facts.items() if i not in ok}
        missing |= {i: "the configuration read was not complete, so no copy was archived" for i in incomplete}
        ok = {i: f for i, f in ok.items() if i not in incomplete}
        status = Status.PASS if not missing else (Status.FAIL if ok else Status.ERROR)
        text = f"{len(ok)} of {len(devices)} device configurations archived"
        if missing:
            text += "; not archived: " + "; ".join(f"{i} ({why})" for i, why in sorted(missing.items()))
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
