"""Device-configuration parsers and masking, on project fixtures (four vendors, hardened and weak)
and on recorded real outputs from shared/fixtures (read in place, skipped when absent)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from auditor.probes.parsers.netconfig import COMMANDS, MASK, mask_config, parse_device
from auditor.probes.parsers.netconfig.outputs import link_status, ntp_status, textfsm_rows, version
from tests.support.paths import DATA as TEST_DATA
from tests.support.paths import ROOT as REPO

DATA = TEST_DATA / "netconfig"
REAL = REPO.parent / "shared" / "fixtures" / "device-outputs"
VENDORS = ("huawei", "h3c", "cisco", "ruijie")
KEYS = ("config", "version", "ntp", "ssh", "interfaces")


def outputs(vendor: str, variant: str) -> dict[str, str]:
    return {key: (DATA / vendor / variant / f"{key}.txt").read_text() for key in KEYS}


def view(vendor: str, variant: str) -> dict[str, Any]:
    return parse_device(vendor, outputs(vendor, variant))


def test_command_contract() -> None:
    assert set(COMMANDS) == set(VENDORS)
    assert COMMANDS["huawei"] == COMMANDS["h3c"] == {
        "config": "display current-configuration", "version": "display version",
        "ntp": "display ntp-service status", "ssh": "display ssh server status",
        "interfaces": "display interface brief"}
    assert COMMANDS["cisco"] == COMMANDS["ruijie"] == {
        "config": "show running-config", "version": "show version", "ntp": "show ntp status",
        "ssh": "show ip ssh", "interfaces": "show interfaces status"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_hardened_view(vendor: str) -> None:
    v = view(vendor, "hardened")
    assert v["telnet"]["value"] is False and v["telnet"]["lines"]
    assert v["ssh"]["value"] is True and v["ssh"]["v1_allowed"] is False
    assert v["http"]["value"] is False
    assert [u["password_form"] for u in v["users"]["value"]] == ["hashed"]
    assert v["lockout"]["value"] is True and v["lockout"]["attempts"] in (3, 5)
    assert all(0 < t["idle_timeout_s"] <= 600 for t in v["terminals"]["value"])
    assert all(t["acl"] for t in v["terminals"]["value"] if t["kind"] == "vty")
    assert v["aaa"]["value"] is True and v["aaa"]["servers"]
    assert v["syslog"]["value"] == ["10.20.99.10"]
    assert "10.20.99.5" in v["ntp_servers"]["value"] and v["ntp_sync"]["value"] is True
    assert v["snmp"]["communities"] == [] and [g["level"] for g in v["snmp"]["v3"]] == ["authPriv"]
    assert v["version"]["model"] and v["version"]["version"]
    access = [i for i in v["interfaces"]["value"] if i["mode"] == "access"]
    assert {i["link"] for i in access if not i["shutdown"]} == {"up"}
    assert any(i["mode"] == "trunk" for i in v["interfaces"]["value"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_weak_view(vendor: str) -> None:
    v = view(vendor, "weak")
    assert v["telnet"]["value"] is True
    assert v["ssh"]["v1_allowed"] is True
    assert v["http"]["value"] is True
    forms = {u["password_form"] for u in v["users"]["value"]}
    forms |= {s["form"] for s in v["other_secrets"]["value"]}
    assert forms & {"plaintext", "reversible"} and "hashed" not in forms
    assert v["lockout"]["value"] is False
    assert any(t["idle_timeout_s"] == 0 or t["idle_timeout_s"] > 600 for t in v["terminals"]["value"])
    assert v["aaa"]["value"] is False and v["syslog"]["value"] == [] and v["ntp_servers"]["value"] == []
    assert v["ntp_sync"]["value"] is False
    communities = {(c["name"], c["access"], c["guessable"]) for c in v["snmp"]["communities"]}
    assert communities == {("public", "ro", True), ("private", "rw", True)}
    down = [i["name"] for i in v["interfaces"]["value"] if i["mode"] == "access" and i["link"] == "down"]
    assert len(down) == {"huawei": 2, "h3c": 1, "cisco": 2, "ruijie": 2}[vendor]


def test_specific_values() -> None:
    huawei = view("huawei", "weak")
    assert {u["name"]: (u["password_form"], u["privilege"]) for u in huawei["users"]["value"]} == {
        "admin": ("reversible", 15), "huawei": ("plaintext", 3)}
    assert huawei["users"]["value"][0]["service_types"] == ["telnet", "terminal", "http"]
    cisco = view("cisco", "hardened")
    assert cisco["lockout"]["lock_minutes"] == 5 and cisco["lockout"]["attempts"] == 5
    assert [(t["name"], t["idle_timeout_s"], t["acl"]) for t in cisco["terminals"]["value"]] == [
        ("line con 0", 300, None), ("line vty 0 4", 600, "MGMT"), ("line vty 5 15", 600, "MGMT")]
    weak_cisco = view("cisco", "weak")
    assert weak_cisco["telnet"]["source"] == "default" or "transport input telnet ssh" in " ".join(
        weak_cisco["telnet"]["lines"])
    assert {s["what"]: s["form"] for s in weak_cisco["other_secrets"]["value"]} == {
        "enable password": "plaintext", "line con 0": "reversible", "line vty 0 4": "reversible"}
    h3c = view("h3c", "hardened")
    assert h3c["lockout"]["lock_minutes"] == 15
    assert h3c["hostname"]["value"] == "BJ-SCH-ACC1"  # Comware's indented globals are top-level
    ruijie = view("ruijie", "hardened")
    assert ruijie["aaa"]["protocols"] == ["radius"] and ruijie["lockout"]["lock_minutes"] == 60
    assert view("huawei", "hardened")["snmp"]["v3_users"] == ["nms-user"]


def test_missing_outputs_are_unknown_not_guessed() -> None:
    v = parse_device("huawei", {"version": outputs("huawei", "hardened")["version"]})
    for key in ("telnet", "ssh", "http", "users", "lockout", "terminals", "aaa", "syslog", "ntp_servers"):
        assert v[key]["value"] is None, key
    assert v["snmp"]["enabled"] is None and v["ntp_sync"]["value"] is None
    assert v["interfaces"]["value"] is None and v["version"]["model"] == "S5735-S48T4X"
    only_config = parse_device("cisco", {"config": outputs("cisco", "hardened")["config"]})
    assert only_config["version"]["value"] is None and only_config["ntp_sync"]["value"] is None
    assert only_config["ssh"]["v1_allowed"] is False  # from "ip ssh version 2"
    with pytest.raises(ValueError, match="unsupported vendor 'juniper'"):
        parse_device("juniper", {})


def test_view_is_json_and_every_line_is_masked() -> None:
    for vendor in VENDORS:
        for variant in ("hardened", "weak"):
            text = json.dumps(view(vendor, variant))
            for secret in SECRETS[vendor][variant]:
                assert secret not in text, (vendor, variant, secret)


# Every secret written into the fixtures, per vendor and variant.
SECRETS: dict[str, dict[str, list[str]]] = {
    "huawei": {
        "hardened": ["%^%#Xq3!L`k<P=1Z@w6y$2nA9v+0cR\"o%^%#",
                     "$1a$t5%T8XN?9J$r&V_R2pk(-I>}zN@4w0W8UvUQo?@X=!9e%JH;$",
                     "%^%#4k2@uN7s!YbQ$e9LxR0p-wZ*dV\"m%^%#", "%^%#H8v=K2;qP0z!a7Rm@W4e$tY9c*Lu%^%#"],
        "weak": ["%^%#W3k!Q@r8Zp2LmN0#vX7cB1sD4fG6h%^%#", "Huawei@123", "community read public",
                 "community write private", "%^%#e7Q!p3Lz@K9vR2xY0wN5sT8uB4m%^%#"]},
    "h3c": {
        "hardened": ["$c$3$q2B8vN0aPz7Yk1Lr9mX4tW6eH3uJ5sC0dF==", "$c$3$Zk9Q2wE7rT4yU1iO8pA3sD6fG0hJ5kL2zX==",
                     "$c$3$Vb7nM2kL9pQ4wE1rT6yU3iO8aS5dF0gH==", "$h$6$Kq9ZLw2pX1bN4mC7$"],
        "weak": ["simple private", "simple public", "$c$3$P9oI8uY7tR6eW5qA4sD3fG2hJ1kL0zXcVbN=", "guest123"]},
    "cisco": {
        "hardened": ["$9$nhEmQVczB7dqsO$", "$9$Fz6XFQ0rx1Ns3E$", "08324F4D1D1C0A1604"],
        "weak": ["enable password cisco", "cisco123", "0822455D0A16", "02050D480809", "community public",
                 "community private"]},
    "ruijie": {
        "hardened": ["$1$Rj7q$x8KvN2mQ4pL9wZ1cT6yB0/", "$1$Ab3D$k9Jh2Lm5Np8Qr1St4Uv7W.", "0f2a1c3b4d5e",
                     "1b3c5d7e9f", "2a4c6e8f0b"],
        "weak": ["ruijie123", "password ruijie", "05211e0a", "community public", "community private"]},
}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("variant", ["hardened", "weak"])
def test_mask_config_removes_every_secret_and_keeps_structure(vendor: str, variant: str) -> None:
    text = outputs(vendor, variant)["config"]
    for secret in SECRETS[vendor][variant]:
        assert secret in text, f"fixture lost its secret {secret!r}"
    masked = mask_config(vendor, text)
    for secret in SECRETS[vendor][variant]:
        assert secret not in masked, secret
    assert masked.count(MASK) >= len(SECRETS[vendor][variant]) - 1
    original, after = text.splitlines(keepends=True), masked.splitlines(keepends=True)
    assert len(original) == len(after)
    changed = [(a, b) for a, b in zip(original, after, strict=True) if a != b]
    assert changed, "nothing was masked"
    for before, now in changed:  # only the secret token changes: the words before it stay
        assert now.split(MASK)[0] == before[:len(now.split(MASK)[0])]
    for keep in ("interface ", "idle-timeout", "exec-timeout", "ntp", "acl", "description"):
        assert [x for x in original if keep in x and MASK not in mask_config(vendor, x)] == \
            [x for x in after if keep in x and MASK not in x]


def test_mask_forms() -> None:
    cases = {
        "snmp-agent usm-user v3 u g simple authentication-mode sha AuthKey1 privacy-mode aes128 PrivKey1":
            ["AuthKey1", "PrivKey1"],
        "snmp-server user u g v3 auth sha AuthKey1 priv aes 128 PrivKey1": ["AuthKey1", "PrivKey1"],
        "snmp-server host 10.0.0.9 version 2c TrapComm": ["TrapComm"],
        "enable secret level 15 5 $1$abc$def": ["$1$abc$def"],
        "super password level 15 cipher %^%#a b c%^%#": ["a b c"],
        " ip ospf message-digest-key 1 md5 7 070C285F4D06": ["070C285F4D06"],
        " key-string 7 0822455D0A16": ["0822455D0A16"],
        "   Community name: S3cretComm ": ["S3cretComm"],
    }
    for line, secrets in cases.items():
        masked = mask_config("cisco", line)
        assert all(s not in masked for s in secrets), masked
    for line in ("crypto key generate rsa modulus 2048", "service password-encryption", "ip ssh version 2",
                 "password-control login-attempt 3 exceed lock-time 15", "sysname BJ-SCH-CORE"):
        assert mask_config("huawei", line) == line


# ---- recorded real outputs ------------------------------------------------------------------------

def real(platform: str, command: str) -> list[tuple[str, Any]]:
    folder = REAL / platform / command
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    pairs = []
    for raw in sorted(folder.glob("*.raw")):
        parsed = raw.with_suffix(".parsed.yml")
        expected = yaml.safe_load(parsed.read_text())["parsed_sample"] if parsed.exists() else None
        pairs.append((raw.read_text(), expected))
    return pairs


def test_real_huawei_version() -> None:
    for raw, expected in real("huawei_vrp", "display_version"):
        got = version("huawei", raw)
        assert expected[0]["model"].startswith(got["model"]) and got["model"]
        assert expected[0]["vrp_version"] in got["version"]


def test_real_huawei_ntp_and_interfaces() -> None:
    for raw, expected in real("huawei_vrp", "display_ntp_status"):
        state = ntp_status("huawei", raw)
        assert state["value"] is (expected[0]["clock_status"] == "synchronized")
        assert state["stratum"] == int(expected[0]["clock_stratum"])
    for raw, expected in real("huawei_vrp", "display_interface_brief"):
        links = link_status("huawei", raw)
        assert links is not None and len(links) == len({row["interface"] for row in expected})
        for row in expected:
            entry = next(x for x in links.values() if x["name"] == row["interface"])
            assert (entry["link"] == "up") is row["phy"].startswith("up")


def test_real_huawei_service_status_and_communities() -> None:
    for raw, expected in real("huawei_vrp", "display_telnet_server_status"):
        assert textfsm_rows("huawei_vrp_display_telnet_server_status", raw) == [
            {k.lower(): v for k, v in row.items()} for row in expected]
    for raw, expected in real("huawei_vrp", "display_http_server"):
        rows = textfsm_rows("huawei_vrp_display_http_server", raw)
        assert rows and rows[0] == {k.lower(): v for k, v in expected[0].items()}
    for raw, expected in real("huawei_vrp", "display_snmp-agent_community_read"):
        rows = textfsm_rows("huawei_vrp_display_snmp-agent_community_read", raw)
        assert len(rows) == len(expected)
        masked = mask_config("huawei", raw)
        for row in rows:
            assert row["name"] not in masked
        assert masked.count(MASK) >= len(rows)


def test_real_cisco_outputs() -> None:
    for raw, expected in real("cisco_ios", "show_version"):
        got = version("cisco", raw)
        assert got["version"] is not None and expected[0]["version"] in got["version"]
        assert got["model"] == (expected[0]["hardware"] or [None])[0]
    for raw, _ in real("cisco_ios", "show_snmp_community"):
        names = re.findall(r"^Community name: (\S+)", raw, re.MULTILINE)
        masked = mask_config("cisco", raw)
        assert names and not re.findall(r"^Community name: (?!<masked>)", masked, re.MULTILINE)
        assert "storage-type: nonvolatile" in masked  # non-secret lines stay
    for raw, expected in real("cisco_ios", "show_ip_http_server_status"):
        rows = textfsm_rows("cisco_ios_show_ip_http_server_status", raw)
        assert rows[0]["server_status"] == expected[0]["server_status"]
    for raw, expected in real("cisco_ios", "show_logging"):
        rows = textfsm_rows("cisco_ios_show_logging", raw)
        assert len(rows) == len(expected)


def test_real_comware_outputs() -> None:
    for raw, expected in real("hp_comware", "display_interface_brief"):
        links = link_status("h3c", raw)
        assert links is not None
        for row in expected:
            entry = next(x for x in links.values() if x["name"] == row["interface"])
            assert entry["link"] == {"UP": "up", "DOWN": "down", "ADM": "admin-down"}.get(row["link"], "down")
    for raw, expected in real("hp_comware", "display_clock"):
        assert textfsm_rows("hp_comware_display_clock", raw) == [
            {k.lower(): v for k, v in row.items()} for row in expected]
