"""Backup checks on facts: fresh/stale, shrunk, off-site, restore record, device configurations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from auditor.checks.backups import (
    BackupFresh,
    BackupOffsite,
    BackupRestoreTested,
    BackupSize,
    DeviceConfigsArchived,
    FreshParams,
    NoParams,
    OffsiteParams,
    RestoreParams,
    SizeParams,
)
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.parsers.file_listing import parse_listing
from tests.support.devices import NETCONFIG, config_fact, read
from tests.support.paths import DATA

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
SSH = {"username": {"env": "BK_USER"}, "key_file": "/k"}
INV = Inventory.model_validate({
    "school": {"name": "t"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "backups": [
        {"id": "sis", "host": "10.200.21.2", "ssh": SSH, "path": "/srv/sis", "pattern": "db-*.gz",
         "offsite": {"host": "10.200.21.2", "ssh": SSH, "path": "/srv/off"}, "restore_record": "/srv/r.txt"},
        {"id": "files", "host": "10.200.21.2", "ssh": SSH, "path": "/srv/files"},
    ],
    "devices": [
        {"id": "core", "address": "10.200.9.2", "vendor": "huawei", "ssh": SSH},
        {"id": "acc", "address": "10.200.9.3", "vendor": "h3c", "ssh": SSH},
        {"id": "ap", "address": "10.200.9.4", "vendor": "other"},
    ],
})


def nightly(newest_age_h: float, count: int = 7, size: int = 1_000_000,
            newest_size: int | None = None) -> list[dict[str, Any]]:
    """Nightly dumps, oldest first; the newest is ``newest_age_h`` hours old."""
    out = []
    for n in range(count - 1, -1, -1):
        when = NOW - timedelta(hours=newest_age_h + 24 * n)
        out.append({"name": f"db-{when:%Y%m%d}.gz", "size": size + n, "mtime": int(when.timestamp())})
    if newest_size is not None:
        out[-1]["size"] = newest_size
    return out


def loc(files: list[dict[str, Any]], path: str = "/srv/sis") -> dict[str, Any]:
    return {"host": "10.200.21.2", "path": path, "pattern": "db-*.gz",
            "remote_time": int(NOW.timestamp()), "files": files, "clock_skew_s": 0.4}


def listing(subject: str, primary: list[dict[str, Any]], **extra: Any) -> Fact:
    data: dict[str, Any] = {"primary": loc(primary), "offsite": None, "offsite_error": None,
                            "restore_record": None, "restore_record_error": None,
                            "restore_record_state": "not_declared", "listed_at": NOW.isoformat()}
    data.update(extra)
    return Fact("backup.listing", subject, "backup.files", FactStatus.OK, data,
                artifacts=(f"evidence/backups/{subject}.txt",))


def run(check: Any, params: BaseModel, *facts: Fact, inv: Inventory = INV) -> dict[str, Finding]:
    index = FactIndex()
    for fact in facts:
        index.add(fact)
    return {f.target: f for f in check.evaluate(CheckContext(inv, index, params))}


def test_fresh_passes_stale_fails_and_limit_is_inclusive() -> None:
    found = run(BackupFresh(), FreshParams(), listing("backup/sis", nightly(3)),
                listing("backup/files", nightly(24 * 9)))
    fresh, stale = found["backup/sis"], found["backup/files"]
    assert fresh.status is Status.PASS and fresh.measured == 3.0 and fresh.threshold == 26
    assert stale.status is Status.FAIL and stale.measured == 216.0 and "9.0 days" in stale.message
    assert fresh.facts == ("backup.listing:backup/sis",)
    assert fresh.artifacts == ("evidence/backups/backup/sis.txt",)
    edge = run(BackupFresh(), FreshParams(max_age_hours=3), listing("backup/sis", nightly(3)),
               listing("backup/files", nightly(3.01)))
    assert edge["backup/sis"].status is Status.PASS and edge["backup/files"].status is Status.FAIL


def test_fresh_no_files_future_files_and_missing_facts() -> None:
    future = nightly(-5)
    found = run(BackupFresh(), FreshParams(), listing("backup/sis", []), listing("backup/files", future))
    assert found["backup/sis"].status is Status.FAIL
    assert "no backup file matches" in found["backup/sis"].message
    assert found["backup/files"].status is Status.ERROR and "future" in found["backup/files"].message
    failed = Fact("backup.listing", "backup/sis", "backup.files", FactStatus.ERROR,
                  error="backup host 10.200.21.2: directory /srv/sis does not exist")
    found = run(BackupFresh(), FreshParams(), failed)
    assert found["backup/sis"].status is Status.ERROR and "does not exist" in found["backup/sis"].message
    assert found["backup/files"].status is Status.ERROR
    assert "produced nothing" in found["backup/files"].message
    empty_inv = Inventory.model_validate({"school": {"name": "t"}, "scope": {"allow": ["10.0.0.0/8"]}})
    none = run(BackupFresh(), FreshParams(), inv=empty_inv)
    assert none["backups"].status is Status.ERROR and "no backup targets" in none["backups"].message


def test_size_shrunk_empty_and_normal() -> None:
    found = run(BackupSize(), SizeParams(), listing("backup/sis", nightly(3, newest_size=100_000)),
                listing("backup/files", nightly(3)))
    shrunk, normal = found["backup/sis"], found["backup/files"]
    assert shrunk.status is Status.FAIL and shrunk.measured == pytest.approx(0.1, abs=0.001)
    assert "97.7 KiB" in shrunk.message and "976.6 KiB" in shrunk.message and "previous 5" in shrunk.message
    assert normal.status is Status.PASS and normal.measured == pytest.approx(1.0, abs=0.001)
    found = run(BackupSize(), SizeParams(), listing("backup/sis", nightly(3, newest_size=0)),
                listing("backup/files", nightly(3, count=1)))
    assert found["backup/sis"].status is Status.FAIL and "empty (0 bytes)" in found["backup/sis"].message
    assert found["backup/files"].status is Status.PASS and "no earlier" in found["backup/files"].message
    lenient = run(BackupSize(), SizeParams(min_ratio=0.05),
                  listing("backup/sis", nightly(3, newest_size=100_000)))
    assert lenient["backup/sis"].status is Status.PASS


def test_size_on_recorded_listing_with_empty_newest_dump() -> None:
    parsed = parse_listing((DATA / "backups" / "gnu-coreutils.txt").read_text())
    files = [f.to_json() for f in parsed.files]
    found = run(BackupSize(), SizeParams(), listing("backup/sis", files))
    assert found["backup/sis"].status is Status.FAIL and "db-20261118.sql.gz" in found["backup/sis"].message
    without_empty = run(BackupSize(), SizeParams(), listing("backup/sis", files[:-1]))
    # the newest is then the 20 KiB manual copy: far below the ~1 MiB nightly dumps before it
    assert without_empty["backup/sis"].status is Status.FAIL
    assert "20.0 KiB" in without_empty["backup/sis"].message


def test_offsite_declared_fresh_stale_undeclared_and_unmeasured() -> None:
    good = listing("backup/sis", nightly(3), offsite=loc(nightly(30), "/srv/off"))
    found = run(BackupOffsite(), OffsiteParams(), good, listing("backup/files", nightly(3)))
    assert found["backup/sis"].status is Status.PASS and found["backup/sis"].measured == 30.0
    assert "off-site copy" in found["backup/sis"].message and "/srv/off" in found["backup/sis"].message
    assert found["backup/files"].status is Status.FAIL
    assert "no off-site copy declared" in found["backup/files"].message
    strict = run(BackupOffsite(), OffsiteParams(max_age_hours=26), good)
    assert strict["backup/sis"].status is Status.FAIL
    broken = listing("backup/sis", nightly(3), offsite_error="backup host 10.200.21.3:22: SSH login refused")
    found = run(BackupOffsite(), OffsiteParams(), broken)
    assert found["backup/sis"].status is Status.ERROR and "login refused" in found["backup/sis"].message
    empty = run(BackupOffsite(), OffsiteParams(),
                listing("backup/sis", nightly(3), offsite=loc([], "/srv/off")))
    assert empty["backup/sis"].status is Status.FAIL
    assert "no off-site copy file" in empty["backup/sis"].message


def _record(date: str, state: str = "ok", error: str | None = None) -> dict[str, Any]:
    record = {"date": date, "text": f"{date}\nrestored"} if state == "ok" else None
    return {"restore_record": record, "restore_record_state": state, "restore_record_error": error}


def test_restore_record_recent_old_and_undeclared() -> None:
    recent = listing("backup/sis", nightly(3), **_record("2026-10-09"))
    found = run(BackupRestoreTested(), RestoreParams(), recent, listing("backup/files", nightly(3)))
    assert found["backup/sis"].status is Status.PASS and found["backup/sis"].measured == 46
    assert found["backup/files"].status is Status.MANUAL and "auditor attest" in found["backup/files"].message
    old = listing("backup/sis", nightly(3), **_record("2025-11-20T10:00:00+08:00"))
    found = run(BackupRestoreTested(), RestoreParams(), old)
    assert found["backup/sis"].status is Status.FAIL and found["backup/sis"].measured == 369
    tight = run(BackupRestoreTested(), RestoreParams(max_age_days=30), recent)
    assert tight["backup/sis"].status is Status.FAIL
    future = run(BackupRestoreTested(), RestoreParams(),
                 listing("backup/sis", nightly(3), **_record("2027-01-01")))
    assert future["backup/sis"].status is Status.FAIL and "future" in future["backup/sis"].message


@pytest.mark.parametrize(("state", "status"), [("missing", Status.FAIL), ("invalid", Status.FAIL),
                                               ("unreadable", Status.ERROR)])
def test_restore_record_problems(state: str, status: Status) -> None:
    fact = listing("backup/sis", nightly(3), **_record("", state, f"restore record /srv/r.txt: {state}"))
    found = run(BackupRestoreTested(), RestoreParams(), fact)
    assert found["backup/sis"].status is status and state in found["backup/sis"].message


def _config(device: str, ok: bool) -> Fact:
    if ok:
        return replace(config_fact("huawei", "hardened", device=device),
                       artifacts=(f"evidence/configs/{device}.txt",))
    return Fact("device.config", f"device/{device}", "ssh.device_config", FactStatus.ERROR,
                error=f"device {device}: SSH login refused")


def test_device_configs_all_some_none_and_not_applicable() -> None:
    found = run(DeviceConfigsArchived(), NoParams(), _config("core", True), _config("acc", True))
    assert found["devices"].status is Status.PASS and found["devices"].measured == 2
    assert found["devices"].artifacts == ("evidence/configs/core.txt", "evidence/configs/acc.txt")
    found = run(DeviceConfigsArchived(), NoParams(), _config("core", True), _config("acc", False))
    assert found["devices"].status is Status.FAIL and "acc (device acc: SSH login refused)" in found[
        "devices"].message
    found = run(DeviceConfigsArchived(), NoParams(), _config("acc", False))
    assert found["devices"].status is Status.ERROR
    assert "core (no configuration read)" in found["devices"].message
    no_ssh = INV.model_copy(update={"devices": [INV.devices[2]]})
    found = run(DeviceConfigsArchived(), NoParams(), inv=no_ssh)
    assert found["devices"].status is Status.NOT_APPLICABLE


def test_a_cut_configuration_is_not_counted_as_archived() -> None:
    """The probe keeps no copy of a configuration it could not read whole: no archive, no pass."""
    text = (NETCONFIG / "huawei" / "hardened" / "config.txt").read_text(encoding="utf-8")
    cut = read("huawei", {"config": text[: len(text) // 2]})
    fact = config_fact("huawei", "hardened", device="core", the_view=cut, keys=("config",))
    found = run(DeviceConfigsArchived(), NoParams(), fact, _config("acc", True))
    assert found["devices"].status is Status.FAIL
    assert "core (the configuration read was not complete" in found["devices"].message
