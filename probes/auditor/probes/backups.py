"""Backup-files probe: which backup files lie where the inventory says, how big and how old.

One task per inventory backup target. Over SSH (host keys verified against the agent's
known-hosts file, :mod:`auditor.sshclient`) it lists the files matching the target's pattern
in its directory on the primary host and, when declared, on the off-site location, and reads
the restore-test record file. Everything it runs is read-only.

The remote commands are POSIX ``sh`` scripts run through ``sh -c`` (the login shell may be
anything): ``[ -d ]``, ``cd``, ``date +%s``, a ``for`` loop over the glob, ``[ -f ]``/``[ -h ]``
and ``stat -c '%s %Y %n'``, which GNU coreutils and busybox both support (NAS boxes, CentOS,
Debian); BSD ``stat -f '%z %m %N'`` is the fallback. ``find -printf`` (GNU only) and ``ls``
(whose time format is not portable) are not used. Only regular files count: directories and
symbolic links are skipped, and so are names containing a newline. Paths are quoted with
:func:`shlex.quote`; the pattern may hold the glob characters ``*``, ``?`` and simple bracket
expressions and no ``/``, so it only ever expands inside the directory.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.errors import AuditorError, OutOfScope, ProbeError
from auditor.facts import BackupFile, BackupListing, FactKind, ListedLocation, RestoreRecordRead, fact_data
from auditor.inventory import BackupLocation, BackupTarget, Inventory
from auditor.messages import Msg, define, english, msg
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes.parsers.file_listing import (
    Listing,
    ListingParseError,
    parse_listing,
    parse_restore_record,
)

if TYPE_CHECKING:
    from auditor.sshclient import CommandResult

KIND = FactKind.BACKUP_LISTING
RECORD_LINES = 20
_EXIT_NO_DIR = 3
_EXIT_NO_ENTRY = 4
_BRACKET = re.compile(r"\[[!^]?[A-Za-z0-9._-]+\]")


class BackupSettings(BaseModel):
    """Settings of the backup-files probe (profile ``probe_settings: backup.files``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=20.0, gt=0, le=300)
    # File ages are measured with the agent's clock against file times from the host's clock:
    # when the two clocks disagree by more than this, the ages mean nothing and the listing is
    # an error (a host clock a day fast makes a two-day-old dump look one day old).
    max_clock_skew_s: float = Field(default=300.0, gt=0, le=86400)


define({
    "probe.backups.bad_pattern": ("备份文件匹配模式 {pattern} 必须是不含 '/' 或换行的文件名通配符（只在备份"
                                  "目录内匹配）",
                                  "backup file pattern {pattern} must be a file-name glob without '/' or "
                                  "newlines (it only matches inside the backup directory)"),
    "probe.backups.record_evidence": ("{path} 的前几行", "first lines of {path}"),
    "probe.backups.out_of_scope": ("已拒绝：备份 {backup} 的异地主机 {host} 不在清单的范围允许列表"
                                   "（{allowed}）内；请将其网络加入 scope.allow",
                                   "refused: backup {backup}'s off-site host {host} is outside the "
                                   "inventory's scope allow-list ({allowed}); add its network to "
                                   "scope.allow"),
    "probe.backups.no_dir": ("备份主机 {host}：目录 {path} 不存在（或 SSH 用户看不到它）；请检查清单中的路径",
                             "backup host {host}: directory {path} does not exist (or the SSH user cannot "
                             "see it); check the inventory's path"),
    "probe.backups.no_entry": ("备份主机 {host}：无法进入目录 {path}（SSH 用户权限不足）；请授予其读取权限",
                               "backup host {host}: directory {path} cannot be entered (permission denied "
                               "for the SSH user); grant it read access"),
    "probe.backups.no_stderr": ("没有错误输出", "no error output"),
    "probe.backups.listing_failed": ("备份主机 {host}：列出 {path} 失败（退出码 {code}：{detail}）；"
                                     "该主机需要 POSIX sh 和 stat",
                                     "backup host {host}: listing {path} failed (exit {code}: {detail}); "
                                     "the host needs a POSIX sh and stat"),
    "probe.backups.bad_listing": ("备份主机 {host}：{path} 的列表输出无法识别（{error}）",
                                  "backup host {host}: unexpected listing output for {path} ({error})"),
    "probe.backups.which.primary": ("主", "primary"),
    "probe.backups.which.offsite": ("异地", "offsite"),
    "probe.backups.listing_evidence": ("{which}备份目录列表 {where}，匹配模式 {pattern}（先是远端时钟，"
                                       "然后是大小、修改时间、文件名）",
                                       "{which} backup listing {where} pattern {pattern} (remote clock, "
                                       "then size, mtime, name)"),
    "probe.backups.no_record": ("{host} 上不存在恢复测试记录 {path}",
                                "restore record {path} does not exist on {host}"),
    "probe.backups.record_unreadable": ("无法读取 {host} 上的恢复测试记录 {path}（{detail}）",
                                        "restore record {path} on {host} cannot be read ({detail})"),
    "probe.backups.record_invalid": ("{host} 上的恢复测试记录 {path}：{error}",
                                     "restore record {path} on {host}: {error}"),
    "probe.backups.hours": ("{hours:.1f} 小时", "{hours:.1f} h"),
    "probe.backups.seconds": ("{seconds:.0f} 秒", "{seconds:.0f} s"),
    "probe.backups.clock_ahead": ("备份主机 {host}：其时钟比审计代理快 {span}（主机时间为 {time}）；"
                                  "跨两个时钟测得的文件时间会有同样大的误差，因此不作判断："
                                  "请校正该主机（或审计代理）的时钟，例如使用 NTP",
                                  "backup host {host}: its clock is {span} ahead of the agent's (it says "
                                  "{time}); file ages measured across the two clocks would be wrong by as "
                                  "much, so none is judged: fix the host's (or the agent's) clock, e.g. "
                                  "with NTP"),
    "probe.backups.clock_behind": ("备份主机 {host}：其时钟比审计代理慢 {span}（主机时间为 {time}）；"
                                   "跨两个时钟测得的文件时间会有同样大的误差，因此不作判断："
                                   "请校正该主机（或审计代理）的时钟，例如使用 NTP",
                                   "backup host {host}: its clock is {span} behind the agent's (it says "
                                   "{time}); file ages measured across the two clocks would be wrong by as "
                                   "much, so none is judged: fix the host's (or the agent's) clock, e.g. "
                                   "with NTP"),
}, recoverable=True)
_WHICH = {"primary": Msg("probe.backups.which.primary"), "offsite": Msg("probe.backups.which.offsite")}

def glob_word(pattern: str) -> str:
    """The pattern as one shell word: glob characters bare, everything else quoted."""
    if "/" in pattern or "\0" in pattern or "\n" in pattern:
        raise ProbeError(english("probe.backups.bad_pattern", pattern=repr(pattern)))
    parts: list[str] = []
    literal = ""
    pos = 0
    while pos < len(pattern):
        bracket = _BRACKET.match(pattern, pos)
        char = pattern[pos]
        if char in "*?" or bracket:
            if literal:
                parts.append(shlex.quote(literal))
                literal = ""
            token = bracket.group() if bracket else char
            parts.append(token)
            pos += len(token)
            continue
        literal += char
        pos += 1
    if literal:
        parts.append(shlex.quote(literal))
    return "".join(parts)


def listing_command(path: str, pattern: str) -> str:
    """The read-only command that prints the remote clock and ``SIZE MTIME NAME`` per file.

    Exit status 3: the directory does not exist; 4: it cannot be entered.
    """
    where = shlex.quote(path)
    script = "\n".join([
        "LC_ALL=C; export LC_ALL",
        f"[ -d {where} ] || exit {_EXIT_NO_DIR}",
        f"cd -- {where} || exit {_EXIT_NO_ENTRY}",
        "date +%s",
        "set --",
        f"for f in {glob_word(pattern)}; do",
        '  [ -f "$f" ] && [ ! -h "$f" ] || continue',
        "  case $f in *'\n'*) continue ;; esac",
        '  set -- "$@" "$f"',
        "done",
        '[ "$#" -eq 0 ] && exit 0',
        "stat -c '%s %Y %n' -- \"$@\" 2>/dev/null || stat -f '%z %m %N' -- \"$@\"",
    ])
    return "sh -c " + shlex.quote(script)


def record_command(path: str) -> str:
    """Print the first lines of the restore record; exit status 3 when the file does not exist."""
    where = shlex.quote(path)
    return "sh -c " + shlex.quote(f"[ -f {where} ] || exit {_EXIT_NO_DIR}\nhead -n {RECORD_LINES} {where}")


class BackupFilesProbe:
    """Backup files (name, size, mtime) on the primary and off-site locations, and the restore record."""

    name: ClassVar[str] = "backup.files"
    description: ClassVar[str] = "Backup files, off-site copies and restore-test records over SSH"
    settings_model: ClassVar[type[BaseModel]] = BackupSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, BackupSettings)
        return [
            ProbeTask(
                probe=self.name, target=f"backup/{b.id}", address=str(b.host),
                params={"backup": b.id, "settings": settings.model_dump()},
                produces=((KIND, f"backup/{b.id}"),), safety=Safety.PASSIVE,
                estimated_seconds=settings.timeout_s * (2 if b.offsite else 1),
            )
            for b in inventory.backups
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = BackupSettings.model_validate(task.params["settings"])
        target = next(b for b in ctx.inventory.backups if b.id == task.params["backup"])
        _require_scope(ctx.inventory, target)
        primary = BackupLocation(host=target.host, ssh=target.ssh, path=target.path, pattern=target.pattern)
        before = time.time()
        results = await asyncio.to_thread(
            _list, ctx, primary, f"backups[{target.id}].ssh", s.timeout_s, target.restore_record)
        listed_at = datetime.now(UTC)
        artifacts = [_store(ctx, target.id, "primary", primary, results[0].stdout)]
        listing = _parsed(primary, results[0])
        skew = _clock_skew(primary, listing, before, listed_at.timestamp(), s.max_clock_skew_s)
        data: dict[str, Any] = {
            "primary": location(primary, listing, skew),
            "offsite": None, "offsite_error": None,
            "restore_record": None, "restore_record_error": None, "restore_record_state": "not_declared",
            "listed_at": listed_at.isoformat(timespec="seconds"),
        }
        if target.restore_record is not None:
            data.update(restore_record(target.restore_record, str(target.host), results[1]))
            if results[1].exit_status == 0:
                artifacts.append(ctx.evidence.put(
                    f"backups/{target.id}/restore-record.txt", results[1].stdout.encode("utf-8"),
                    "text/plain", english("probe.backups.record_evidence",
                                          path=f"{target.host}:{target.restore_record}")).path)
        if target.offsite is not None:
            offsite, path = await _offsite(ctx, target, target.offsite, s)
            data.update(offsite)
            artifacts += [path] if path else []
        return [Fact(KIND, task.target, self.name, FactStatus.OK, data=fact_data(BackupListing(**data)),
                     artifacts=tuple(artifacts))]


def _require_scope(inventory: Inventory, target: BackupTarget) -> None:
    """Refuse a target whose off-site host lies outside the scope (the primary is refused at plan time)."""
    if target.offsite is not None and not inventory.scope.contains(target.offsite.host):
        allowed = ", ".join(str(n) for n in inventory.scope.allow)
        raise OutOfScope(english("probe.backups.out_of_scope", backup=target.id,
                                 host=str(target.offsite.host), allowed=allowed))


def _list(ctx: RunContext, loc: BackupLocation, where: str, timeout_s: float,
          record: str | None = None) -> list[CommandResult]:
    """One SSH session on ``loc.host``: the listing, then (optionally) the restore record."""
    from auditor.sshclient import Credentials, run_commands  # noqa: PLC0415 - paramiko only when used

    creds = Credentials.resolve(loc.ssh, ctx.secrets, where)
    commands = [listing_command(loc.path, loc.pattern), *([record_command(record)] if record else [])]
    return run_commands(str(loc.host), loc.ssh.port, creds, ctx.known_hosts(), commands, timeout_s,
                        "backup host")


def _parsed(loc: BackupLocation, result: CommandResult) -> Listing:
    """The listing of one location, or a ProbeError naming host and path."""
    host = str(loc.host)
    if result.exit_status == _EXIT_NO_DIR:
        raise ProbeError(english("probe.backups.no_dir", host=host, path=loc.path))
    if result.exit_status == _EXIT_NO_ENTRY:
        raise ProbeError(english("probe.backups.no_entry", host=host, path=loc.path))
    if result.exit_status != 0:
        detail = (result.stderr.strip().splitlines() or [english("probe.backups.no_stderr")])[-1][:200]
        raise ProbeError(english("probe.backups.listing_failed", host=host, path=loc.path,
                                 code=result.exit_status, detail=detail))
    try:
        return parse_listing(result.stdout)
    except ListingParseError as exc:
        raise ProbeError(english("probe.backups.bad_listing", host=host, path=loc.path,
                                 error=str(exc))) from None


def location(loc: BackupLocation, listing: Listing, clock_skew_s: float) -> ListedLocation:
    """One location's part of the ``backup.listing`` data."""
    files = tuple(BackupFile(name=f.name, size=f.size, mtime=f.mtime) for f in listing.files)
    return ListedLocation(host=str(loc.host), path=loc.path, pattern=loc.pattern,
                          remote_time=listing.remote_time, files=files, clock_skew_s=clock_skew_s)


def _store(ctx: RunContext, backup_id: str, which: str, loc: BackupLocation, stdout: str) -> str:
    return ctx.evidence.put(
        f"backups/{backup_id}/{which}.txt", stdout.encode("utf-8"), "text/plain",
        english("probe.backups.listing_evidence", which=_WHICH.get(which, which),
                where=f"{loc.host}:{loc.path}", pattern=repr(loc.pattern))).path


def restore_record(path: str, host: str, result: CommandResult) -> dict[str, Any]:
    """The restore-record part of the fact: the parsed record, or why there is none."""
    if result.exit_status == _EXIT_NO_DIR:
        return {"restore_record_state": "missing",
                "restore_record_error": english("probe.backups.no_record", path=path, host=host)}
    if result.exit_status != 0:
        detail = (result.stderr.strip().splitlines() or [english("probe.backups.no_stderr")])[-1][:200]
        return {"restore_record_state": "unreadable",
                "restore_record_error": english("probe.backups.record_unreadable", path=path, host=host,
                                                detail=detail)}
    try:
        record = parse_restore_record(result.stdout)
    except ListingParseError as exc:
        return {"restore_record_state": "invalid",
                "restore_record_error": english("probe.backups.record_invalid", path=path, host=host,
                                                error=str(exc))}
    return {"restore_record_state": "ok",
            "restore_record": RestoreRecordRead(date=record.date, text=record.text)}


async def _offsite(ctx: RunContext, target: BackupTarget, loc: BackupLocation,
                   s: BackupSettings) -> tuple[dict[str, Any], str | None]:
    """The off-site part of the fact; a failure there is recorded, not raised."""
    try:
        before = time.time()
        results = await asyncio.to_thread(_list, ctx, loc, f"backups[{target.id}].offsite.ssh", s.timeout_s)
        listing = _parsed(loc, results[0])
        skew = _clock_skew(loc, listing, before, time.time(), s.max_clock_skew_s)
    except AuditorError as exc:
        return {"offsite": None, "offsite_error": ctx.secrets.mask(str(exc))}, None
    path = _store(ctx, target.id, "offsite", loc, results[0].stdout)
    return {"offsite": location(loc, listing, skew), "offsite_error": None}, path


def _clock_skew(loc: BackupLocation, listing: Listing, before: float, after: float, limit_s: float) -> float:
    """Seconds the host's clock is ahead of the agent's (behind: negative); ProbeError past ``limit_s``.

    The host read its clock between ``before`` and ``after`` (the agent's clock around the SSH
    session), so the skew is known to within half that span, which is allowed for.
    """
    skew = listing.remote_time - (before + after) / 2
    if abs(skew) <= limit_s + (after - before) / 2:
        return round(skew, 1)
    when = datetime.fromtimestamp(listing.remote_time, UTC).isoformat(timespec="seconds")
    raise ProbeError(english("probe.backups.clock_ahead" if skew > 0 else "probe.backups.clock_behind",
                             host=str(loc.host), span=_span(abs(skew)), time=when))


def _span(seconds: float) -> Msg:
    return (msg("probe.backups.hours", hours=seconds / 3600) if seconds >= 3600
            else msg("probe.backups.seconds", seconds=seconds))
