"""Switch audit end to end in the demo school: netmiko over real SSH to emulated Huawei, H3C,
Cisco and Ruijie switches (fakenos), SNMP from snmpsim, host keys checked, configs archived.

Needs root; uses the session's lab (prefix ``cat``). The bandwidth tests are left out (profile
``tests/data/profiles/lab-no-bandwidth.yaml``) so each audit takes seconds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.lab import netdevices, school
from tests.support.cli import run_cli
from tests.support.lab import LAB_PREFIX
from tests.support.paths import DATA

pytestmark = pytest.mark.lab
AGENT = f"{LAB_PREFIX}-agent"
PROFILE = str(DATA / "profiles" / "lab-no-bandwidth.yaml")
HARDENED = ("core-sw", "access-ruijie")
# Where a hardened switch does not pass, and why: the core switch has no access port in use;
# VRP and RGOS have no password-recovery switch to judge.
HARDENED_EXCEPTIONS = {("device.unused_ports_down", "core-sw"): "not_applicable",
                       ("device.password_recovery_off", "core-sw"): "not_applicable",
                       ("device.password_recovery_off", "access-ruijie"): "not_applicable"}
# What the weak H3C plants (auditor/auditor/lab/data/netdevices/h3c-weak)
H3C_PLANTED = ("device.telnet_disabled", "device.ssh_v2_only", "device.http_mgmt_secure",
               "device.no_plaintext_passwords", "device.login_lockout", "device.idle_timeout",
               "device.no_default_accounts", "device.remote_auth", "device.remote_syslog", "device.ntp",
               "device.snmp_hardened", "device.mgmt_acl", "device.unused_ports_down",
               "snmp.default_community")
CISCO_FAILS = ("device.http_mgmt_secure", "device.no_plaintext_passwords", "device.idle_timeout",
               "device.ntp")
CISCO_PASSES = ("device.telnet_disabled", "device.ssh_v2_only", "device.remote_syslog",
                "snmp.default_community")


def _site(lab: Any, tmp: Path, edit: Any = None) -> Path:
    data = yaml.safe_load((lab.state_dir / "site.yaml").read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _audit(tmp: Path, site: Path, state: Path, name: str = "audit",
           profile: str = PROFILE) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, Any]]:
    keys = tmp / "keys"
    if not keys.exists():
        assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    out = tmp / name
    res = run_cli("run", "-q", "-i", str(site), "-p", profile, "-o", str(out), "--key-dir", str(keys),
                  "--allow-class-hours", "--attestations", str(tmp / "none"),
                  env={"AUDITOR_STATE_DIR": str(state)}, netns=AGENT)
    assert "Traceback" not in res.stderr, res.stderr
    report = json.loads((out / "report.json").read_bytes()) if (out / "report.json").exists() else {}
    return res, out, report


def _findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["check"], f["target"]): f for f in report["findings"]}


@pytest.fixture(scope="module")
def demo(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("devices")
    res, out, report = _audit(tmp, _site(lab, tmp), tmp / "state")
    assert res.returncode == 1, res.stdout + res.stderr  # planted weaknesses fail
    return tmp, out, report


def test_hardened_switches_pass_and_planted_weaknesses_fail(demo: Any) -> None:
    _tmp, _out, report = demo
    f = _findings(report)
    device_checks = {c for c, t in f if c.startswith("device.") or c == "snmp.default_community"}
    assert len(device_checks) == 21  # 20 checks on what SSH read, and the default-community test
    seen = {(check, dev): f[(check, f"device/{dev}")] for dev in HARDENED
            for check in device_checks - {"device.config_changed"}}
    not_passing = {k: (v["status"], v["message"]) for k, v in seen.items() if v["status"] != "pass"}
    assert {k: v[0] for k, v in not_passing.items()} == HARDENED_EXCEPTIONS, not_passing
    for check in H3C_PLANTED:
        assert f[(check, "device/access-h3c")]["status"] == "fail", f[(check, "device/access-h3c")]
    for check in CISCO_FAILS:
        assert f[(check, "device/access-cisco")]["status"] == "fail", f[(check, "device/access-cisco")]
    for check in CISCO_PASSES:
        assert f[(check, "device/access-cisco")]["status"] == "pass", f[(check, "device/access-cisco")]
    telnet = f[("device.telnet_disabled", "device/access-h3c")]
    assert "telnet server enable" in " ".join(telnet["lines"])  # the configuration line relied on
    community = f[("snmp.default_community", "device/access-h3c")]
    assert "public" in community["message"] and "private" in community["message"]
    assert f[("device.firmware_reported", "device/access-cisco")]["status"] == "pass"
    assert "15.2(7)E4" in f[("device.firmware_reported", "device/access-cisco")]["message"]
    first = f[("device.config_changed", "device/core-sw")]
    assert first["status"] == "pass" and "first audit" in first["message"]


def test_configs_are_evidence_with_secrets_masked(demo: Any, lab: Any) -> None:
    _tmp, out, report = demo
    configs = [a for a in report["artifacts"] if a["path"].startswith("evidence/devices/")]
    assert {a["path"].split("/")[2] for a in configs} == {"core-sw", "access-h3c", "access-cisco",
                                                          "access-ruijie"}
    text = "\n".join((out / a["path"]).read_text(encoding="utf-8") for a in configs)
    assert "sysname core-sw" in text and "hostname access-cisco" in text
    assert "<masked>" in text
    for secret in (netdevices.DEVICE_PASSWORD, netdevices.ENABLE_SECRET, netdevices.SNMP_COMMUNITY):
        assert secret not in (out / "report.json").read_text(encoding="utf-8")
        assert secret not in text
    raw = (Path(netdevices.__file__).parent / "data/netdevices/h3c-weak/display_current-configuration.txt")
    secret_lines = [line.strip() for line in raw.read_text().splitlines()
                    if line.strip().startswith(("password simple", "password hash"))]
    assert len(secret_lines) == 2  # the device's own plaintext password and a password hash
    for line in secret_lines:
        assert line not in text
        assert " ".join(line.split()[:2]) + " <masked>" in text


def test_each_device_with_a_fixable_failure_has_its_change_script(demo: Any) -> None:
    """evidence/remediation/<device>.txt: the failed checks' commands in the device's own syntax,
    then their rollback; listed and hashed in the signed report; no secret, only placeholders."""
    _tmp, out, report = demo
    scripts = report["remediation"]
    assert set(scripts) == {"access-h3c", "access-cisco"}  # the hardened switches need none
    listed = {a["path"]: a for a in report["artifacts"]}
    h3c = (out / scripts["access-h3c"]).read_text(encoding="utf-8")
    cisco = (out / scripts["access-cisco"]).read_text(encoding="utf-8")
    assert scripts["access-h3c"] in listed and listed[scripts["access-h3c"]]["size"] == len(h3c.encode())
    fix, back = h3c.split("rollback", 1)
    assert "\nundo telnet server enable\n" in fix and "\ntelnet server enable\n" in back  # Comware
    assert "\nno ip http server\n" in cisco.split("rollback", 1)[0]  # IOS
    assert "<password>" in h3c and "<password>" in cisco
    for secret in (netdevices.DEVICE_PASSWORD, netdevices.ENABLE_SECRET, netdevices.SNMP_COMMUNITY):
        assert secret not in h3c and secret not in cisco


def test_topology_from_lldp_and_host_keys_verified(demo: Any, lab: Any) -> None:
    _tmp, _out, report = demo
    links = {(link["a"], link["b"]) for link in report["topology"]["links"]}
    assert links == {("core-sw", "access-h3c"), ("core-sw", "access-cisco"), ("core-sw", "access-ruijie")}
    keys = report["ssh_host_keys"]
    assert keys["first_contact"] == "reject" and keys["learnt_on_first_contact"] == []
    expected = netdevices.host_key_fingerprints(lab.state_dir, netdevices.DEMO_DEVICES)
    for dev in netdevices.DEMO_DEVICES:
        assert keys["verified"][dev.address] == expected[dev.id]
    md = (_out / "report.md").read_text(encoding="utf-8")
    assert "## 网络拓扑（LLDP）" in md and "core-sw" in md  # report.md follows --lang (zh)


def test_changed_configuration_is_reported_with_a_diff(demo: Any, lab: Any) -> None:
    tmp, _out, _report = demo
    archive = tmp / "state" / "configs" / "access-h3c"
    previous = archive / "latest.txt"
    lines = previous.read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if "telnet server enable" not in line]  # as if it was added since
    previous.write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = json.loads((archive / "latest.json").read_text(encoding="utf-8"))
    meta["sha256"] = "0" * 64
    (archive / "latest.json").write_text(json.dumps(meta), encoding="utf-8")
    _res, out, report = _audit(tmp, _site(lab, tmp), tmp / "state", name="again")
    f = _findings(report)
    changed = f[("device.config_changed", "device/access-h3c")]
    assert changed["status"] == "fail" and "changed" in changed["message"]
    diff = next(a for a in changed["artifacts"] if a.endswith(".diff"))
    assert "+ telnet server enable" in (out / diff).read_text(encoding="utf-8").splitlines()
    assert f[("device.config_changed", "device/core-sw")]["status"] == "pass"  # unchanged


def test_unknown_host_key_is_refused_and_accept_new_records_it(lab: Any, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="ascii")

    def reject(data: dict[str, Any]) -> None:
        data["agent"]["known_hosts"] = str(empty)
        data["devices"] = [d for d in data["devices"] if d["id"] in ("core-sw", "access-sw")]
        data["firewalls"], data["backups"] = [], []  # only the switch logs in over SSH

    _res, _out, report = _audit(tmp_path, _site(lab, tmp_path, reject), tmp_path / "state", "reject")
    fact = next(x for x in report["facts"] if x["kind"] == "device.config")
    assert fact["status"] == "error" and "not in" in fact["error"] and str(empty) in fact["error"]
    assert empty.read_text() == ""

    def accept(data: dict[str, Any]) -> None:
        reject(data)
        data["agent"]["ssh_first_contact"] = "accept-new"

    _res, _out, report = _audit(tmp_path, _site(lab, tmp_path, accept), tmp_path / "state", "accept")
    learnt = report["ssh_host_keys"]["learnt_on_first_contact"]
    assert [k["host"] for k in learnt] == ["10.200.30.11"]
    assert learnt[0]["fingerprint"] == netdevices.host_key_fingerprints(
        lab.state_dir, netdevices.DEMO_DEVICES)["core-sw"]
    assert "10.200.30.11" in empty.read_text()
    assert "本次首次连接时记录的密钥" in (_out / "report.md").read_text(encoding="utf-8")


def test_down_wrong_password_and_tarpit_are_errors_and_the_rest_goes_on(lab: Any, tmp_path: Path) -> None:
    pid = school.start_tarpit(LAB_PREFIX, "netdev", "10.200.30.14", 2222)
    try:
        def faults(data: dict[str, Any]) -> None:
            devices = {d["id"]: d for d in data["devices"]}
            devices["access-cisco"]["address"] = "10.200.30.99"  # nothing there
            devices["access-h3c"]["ssh"]["password"] = {"env": "WRONG_PASSWORD"}
            devices["access-ruijie"]["ssh"]["port"] = 2222  # accepts TCP, never speaks SSH
            data["devices"] = list(devices.values())

        site = _site(lab, tmp_path, faults)
        keys = tmp_path / "keys"
        assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
        out = tmp_path / "faults"
        res = run_cli("run", "-q", "-i", str(site), "-p", PROFILE, "-o", str(out), "--key-dir", str(keys),
                      "--allow-class-hours", "--set", "ssh.device_config.connect_timeout_s=3",
                      env={"AUDITOR_STATE_DIR": str(tmp_path / "state"), "WRONG_PASSWORD": "not-it"},
                      netns=AGENT)
        assert "Traceback" not in res.stderr and res.returncode == 1, res.stderr
        report = json.loads((out / "report.json").read_bytes())
    finally:
        school.stop_pid(LAB_PREFIX, pid)
    facts = {x["subject"]: x for x in report["facts"] if x["kind"] == "device.config"}
    assert facts["device/access-h3c"]["status"] == "error"
    assert "login refused" in facts["device/access-h3c"]["error"]
    assert facts["device/access-cisco"]["status"] == "error"
    assert "10.200.30.99" in facts["device/access-cisco"]["error"]
    ruijie = facts["device/access-ruijie"]
    assert ruijie["status"] == "error" and "within 3 s" in ruijie["error"], ruijie
    assert facts["device/core-sw"]["status"] == "ok"  # the rest of the audit went on
    f = _findings(report)
    assert f[("device.telnet_disabled", "device/core-sw")]["status"] == "pass"
    for dev in ("access-h3c", "access-cisco", "access-ruijie"):
        assert f[("device.telnet_disabled", f"device/{dev}")]["status"] == "error"
    seconds = {p["target"]: p["seconds"] for p in report["plan"] if p["probe"] == "ssh.device_config"}
    assert seconds["device/access-ruijie"] is not None
