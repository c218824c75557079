"""Faults that need no bandwidth measurement, against the lab tier's demo school: a backup host
whose clock is far off, SNMP packet loss, a device whose host key changed. Each must end as an
error naming its reason, never a pass, and the bundle still verifies (figures for
``bench/reliability.py`` as in test_reliability_lab.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.reliability import (
    PREFIX,
    STATE,
    Doc,
    audit,
    findings,
    only,
    profile,
    record,
    site,
    verifies,
)

pytestmark = pytest.mark.lab


def test_a_backup_host_clock_far_off_is_an_error_not_a_pass(lab: Any, tmp_path: Path) -> None:
    """The host's clock is 30 h fast: its 40 h old dump looks 10 h old. Without the skew check it
    would pass as fresh; the listing must be an error naming the clock instead."""
    from tests.support import faults

    skewed = faults.start_skewed_backup_host(PREFIX, offset_s=30 * 3600)
    known = tmp_path / "known_hosts"
    lines = (STATE / "known_hosts").read_text(encoding="ascii")
    key = next(line.split()[1:] for line in lines.splitlines() if line.startswith("10.200.21.2 "))
    known.write_text(lines + f"[10.200.21.2]:{faults.SKEW_PORT} {' '.join(key)}\n", encoding="ascii")

    def edit(data: Doc) -> None:
        only("backups")(data)
        data["agent"]["known_hosts"] = str(known)
        fresh = data["backups"][0]
        ssh = {**fresh["ssh"], "port": faults.SKEW_PORT}
        skew = {**fresh, "id": "skewed-host", "path": str(skewed), "ssh": ssh}
        for key_ in ("offsite", "restore_record"):
            skew.pop(key_, None)
        data["backups"] = [fresh, skew]

    prof = str(profile(tmp_path, "backup.fresh", "backup.size"))
    res, out, report = audit(tmp_path, site(tmp_path, edit), (prof,))
    f = findings(report)
    skewed_finding = f[("backup.fresh", "backup/skewed-host")]
    false = [x for (_c, target), x in f.items() if target == "backup/skewed-host" and x["status"] == "pass"]
    survived = skewed_finding["status"] == "error" and verifies(out)
    record("fault", "backup host clock 30 h fast", survived=survived, false_passes=len(false))
    assert skewed_finding["status"] == "error", skewed_finding
    assert "clock is 30.0 h ahead of the agent's" in skewed_finding["message"]
    assert false == []
    assert f[("backup.fresh", "backup/student-db")]["status"] == "pass"  # the honest host still counts
    clock = report["authorisation"]["clock"]
    assert clock["timezone"] == "Asia/Shanghai" and clock["source"] == "the agent's system clock"
    assert res.returncode == 1 and verifies(out)


def _truth(report: Doc) -> dict[tuple[str, str], tuple[str, Any]]:
    return {k: (v["status"], v["measured"]) for k, v in findings(report).items()}


def _snmp_site(tmp: Path) -> Path:
    def edit(data: Doc) -> None:
        only("uplink", "classrooms", "devices")(data)
        for dev in data["devices"]:
            dev.pop("ssh", None)
        data["devices"] = [d for d in data["devices"] if "snmp" in d]
        for room in data["classrooms"]:
            room.pop("endpoint", None)

    return site(tmp, edit)


SNMP_CHECKS = ("ports.uplink_speed", "ports.classroom_speed", "snmp.default_community")


@pytest.fixture(scope="module")
def clean_snmp(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Doc]:
    """The SNMP audit without loss: (directory, inventory, profile, report)."""
    tmp = tmp_path_factory.mktemp("snmp")
    inv = _snmp_site(tmp)
    prof = profile(tmp, *SNMP_CHECKS)
    _res, _out, clean = audit(tmp, inv, (str(prof),), out=tmp / "clean")
    return tmp, inv, prof, clean


@pytest.mark.parametrize("percent", [30, 100])
def test_snmp_packet_loss_is_retried_then_an_error_never_a_pass(
        clean_snmp: tuple[Path, Path, Path, Doc], tmp_path: Path, percent: int) -> None:
    from tests.support import faults

    _clean_dir, inv, prof_path, clean = clean_snmp
    prof = str(prof_path)
    truth = _truth(clean)
    assert truth[("snmp.default_community", "device/access-h3c")][0] == "fail"  # it answers public
    try:
        for role in ("switch", "netdev"):
            faults.snmp_loss(PREFIX, role, percent)
        res, out, report = audit(tmp_path, inv, (prof,), "snmp.port_speed.retries=3",
                                 "snmp.device_info.retries=3", out=tmp_path / "lossy")
        dropped = sum(faults.dropped(PREFIX, role) for role in ("switch", "netdev"))
    finally:
        for role in ("switch", "netdev"):
            faults.clear_snmp_loss(PREFIX, role)
    got = _truth(report)
    wrong = {k: v for k, v in got.items() if v != truth[k] and v[0] != "error"}
    false = {k: v for k, v in wrong.items() if v[0] == "pass"}
    errors = [f for f in report["findings"] if f["status"] == "error"]
    survived = verifies(out) and not wrong and (percent < 100 or len(errors) == len(got))
    record("fault", f"SNMP packet loss {percent} %", survived=survived, false_passes=len(false),
           dropped=dropped, errors=len(errors), findings=len(got))
    assert dropped > 0
    assert wrong == {}, wrong  # every finding is the clean run's, or an error
    for f in errors:
        assert "SNMP" in f["message"] or "control request" in f["message"] or "snmp" in f["message"], f
    if percent == 100:
        assert len(errors) == len(got), [f["status"] for f in report["findings"]]
    assert res.returncode == 1 and verifies(out)


def test_a_changed_host_key_is_refused_and_named(lab: Any, tmp_path: Path) -> None:
    """Two audits of a switch; between them its host key changes (the agent's recorded key no
    longer matches what the device presents). The second audit refuses to log in and says why,
    even with ssh_first_contact: accept-new, and does not overwrite the recorded key."""
    import paramiko

    known = tmp_path / "known_hosts"
    shutil.copy(STATE / "known_hosts", known)

    def edit(data: Doc) -> None:
        only("devices")(data)
        data["devices"] = [d for d in data["devices"] if d["id"] == "core-sw"]
        data["agent"].update(known_hosts=str(known), ssh_first_contact="accept-new")

    inv = site(tmp_path, edit)
    prof = str(profile(tmp_path, "device.telnet_disabled", "device.ssh_v2_only"))
    _res, first_out, first = audit(tmp_path, inv, (prof,), out=tmp_path / "first")
    assert findings(first)[("device.telnet_disabled", "device/core-sw")]["status"] == "pass"
    other = paramiko.RSAKey.generate(2048)
    changed = f"10.200.30.11 {other.get_name()} {other.get_base64()}"
    lines = [changed if line.startswith("10.200.30.11 ") else line
             for line in known.read_text(encoding="ascii").splitlines()]
    known.write_text("\n".join(lines) + "\n", encoding="ascii")
    recorded = known.read_bytes()
    res, out, report = audit(tmp_path, inv, (prof,), out=tmp_path / "second")
    got = [x for x in report["findings"] if x["target"] == "device/core-sw"]
    false = [x for x in got if x["status"] == "pass"]
    survived = all(x["status"] == "error" for x in got) and verifies(out) and known.read_bytes() == recorded
    record("fault", "device host key changed between audits", survived=survived, false_passes=len(false))
    for x in got:
        assert x["status"] == "error", x
        assert "host key CHANGED" in x["message"] and "10.200.30.11" in x["message"], x
    assert known.read_bytes() == recorded  # refused, not re-learnt
    assert verifies(first_out) and verifies(out) and res.returncode == 1
