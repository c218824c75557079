"""The vendor families (auditor.vendors) on the project's fixtures (four vendors, hardened and
weak) and on recorded real outputs from shared/fixtures (read in place, skipped when absent): what
each reads, the evidence rule at the output boundary, documented defaults, masking."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from auditor.facts import DeviceView
from auditor.vendors import families, family, names
from auditor.vendors.contract import OUTPUTS, Outputs, textfsm_rows
from auditor.vendors.mask import MASK, mask_config
from tests.support.devices import VENDORS, outputs, read, view
from tests.support.paths import ROOT as REPO

REAL = REPO.parent / "shared" / "fixtures" / "device-outputs"


def test_every_family_keeps_the_contract() -> None:
    """What a new vendor module must provide (CONTRIBUTING: adding a vendor)."""
    from auditor.checks import device_access, device_hardening

    check_ids = {obj.meta.id for mod in (device_hardening, device_access) for obj in vars(mod).values()
                 if isinstance(obj, type) and hasattr(obj, "meta") and hasattr(obj.meta, "id")}
    assert set(names()) == set(VENDORS)
    for name, fam in families().items():
        assert fam.name == name and fam.title and fam.netmiko_driver and fam.enterprises
        assert set(fam.commands) == set(OUTPUTS), name
        assert fam.terminator in ("return", "end")
        assert fam.default_logins and fam.default_account_names
        for setting, rules in fam.defaults.items():
            assert rules, (name, setting)
            for rule in rules:
                assert rule.default is None or rule.default.source, (
                    name, setting, "a default names its document")
                assert rule.default is not None or rule.why, (name, setting, "an unknown default says why")
        assert set(fam.remediation) <= check_ids, (name, set(fam.remediation) - check_ids)
        assert all(fam.remediation.values())
        nothing = fam.read(Outputs(texts={}))
        assert not nothing.complete
        for key, value in nothing:
            if hasattr(value, "source") and key != "vendor":
                assert value.value is None and value.source == "unknown", (name, key)
        assert {s.status for s in nothing.outputs.values()} == {"missing"}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(("answer", "status"), [
    ("", "empty"),
    ("   \n\n", "empty"),
    ("                ^\nError: Unrecognized command found at '^' position.", "error_reply"),
    ("% Invalid input detected at '^' marker.", "error_reply"),
    ("% Unknown command.", "error_reply"),
    ("% Incomplete command.", "error_reply"),
    ("Error: Wrong parameter found at '^' position.", "error_reply"),
    ("sysname X\n#\ninterface GigabitEthernet0/0/1\n  ---- More ----", "incomplete"),
])
def test_outputs_that_are_not_evidence(vendor: str, answer: str, status: str) -> None:
    for kind in OUTPUTS:
        state = family(vendor).classify(kind, Outputs(texts={kind: answer}))
        assert state.status == status, (kind, state)
        assert state.reason and state.command == family(vendor).commands[kind]


def test_a_long_output_quoting_an_error_is_still_evidence() -> None:
    text = outputs("cisco", "hardened")["config"].replace("end\n", "banner motd ^% Invalid input^\nend\n")
    assert family("cisco").classify("config", Outputs(texts={"config": text})).status == "ok"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_configuration_without_its_last_line_is_incomplete(vendor: str) -> None:
    full = outputs(vendor, "hardened")["config"]
    assert family(vendor).classify("config", Outputs(texts={"config": full})).status == "ok"
    cut = full[: full.rstrip().rfind("\n")]
    state = family(vendor).classify("config", Outputs(texts={"config": cut}))
    assert state.status == "incomplete" and f"`{family(vendor).terminator}`" in state.reason
    seen = read(vendor, {"config": cut})
    assert not seen.complete and seen.telnet.value is None and seen.users.value is None


@pytest.mark.parametrize("vendor", VENDORS)
def test_pager_and_crlf_and_ansi_do_not_change_the_view(vendor: str) -> None:
    plain = view(vendor, "hardened")
    texts = outputs(vendor, "hardened")
    noisy = {k: "\x1b[42D" + v.replace("\n", "\r\n") for k, v in texts.items()}
    assert read(vendor, noisy).model_dump(exclude={"outputs"}) == plain.model_dump(exclude={"outputs"})


@pytest.mark.parametrize("vendor", VENDORS)
def test_hardened_view(vendor: str) -> None:
    v = view(vendor, "hardened")
    assert v.complete and v.telnet.value is False and v.telnet.lines
    assert v.ssh.value is not None and v.ssh.value.enabled and v.ssh.value.v1_allowed is False
    assert v.http.value is False
    assert [u.password_form for u in v.users.value or ()] == ["hashed"]
    assert v.lockout.value is not None and v.lockout.value.attempts in (3, 5)
    assert all(t.idle_timeout_s is not None and 0 < t.idle_timeout_s <= 600 for t in v.terminals.value or ())
    assert all(t.acl for t in v.terminals.value or () if t.kind == "vty")
    assert all(t.login == "aaa" for t in v.terminals.value or ())
    assert v.aaa.value is not None and v.aaa.value.servers and v.aaa.value.used_for_login
    assert v.syslog.value == ("10.20.99.10",)
    assert "10.20.99.5" in (v.ntp_servers.value or ()) and v.ntp_sync.value and v.ntp_sync.value.synchronised
    assert v.snmp.value is not None and v.snmp.value.communities == ()
    assert [g.level for g in v.snmp.value.v3] == ["authPriv"]
    assert all(k.form == "reversible" for k in v.server_keys.value or ())
    assert v.version.value is not None and v.version.value.model and v.version.value.software
    access = [i for i in v.interfaces.value or () if i.mode == "access"]
    assert {i.link for i in access if not i.shutdown} == {"up"}
    assert any(i.mode == "trunk" for i in v.interfaces.value or ())


@pytest.mark.parametrize("vendor", VENDORS)
def test_weak_view(vendor: str) -> None:
    v = view(vendor, "weak")
    assert v.telnet.value is True and v.http.value is True
    assert v.ssh.value is not None and v.ssh.value.v1_allowed is True
    forms = {u.password_form for u in v.users.value or ()} | {s.form for s in v.secrets.value or ()}
    assert forms & {"plaintext", "reversible"} and "hashed" not in forms
    assert v.aaa.value is not None and v.aaa.value.used_for_login is False
    assert v.syslog.value == () and v.ntp_servers.value == ()
    assert v.ntp_sync.value is not None and v.ntp_sync.value.synchronised is False
    assert any(t.idle_timeout_s == 0 or (t.idle_timeout_s or 0) > 600 for t in v.terminals.value or ())
    assert v.snmp.value is not None
    assert {(c.name, c.access, c.guessable) for c in v.snmp.value.communities} == {
        ("public", "ro", True), ("private", "rw", True)}
    down = [i.name for i in v.interfaces.value or () if i.mode == "access" and i.link == "down"]
    assert len(down) == {"huawei": 2, "h3c": 1, "cisco": 2, "ruijie": 2}[vendor]


def test_specific_values() -> None:
    huawei = view("huawei", "weak")
    assert {u.name: (u.password_form, u.privilege) for u in huawei.users.value or ()} == {
        "admin": ("reversible", 15), "huawei": ("plaintext", 3)}
    assert (huawei.users.value or ())[0].service_types == ("telnet", "terminal", "http")
    # VRP locks an account after 3 failures for 5 minutes unless told otherwise (documented default)
    assert huawei.lockout.source == "default" and "Huawei" in huawei.lockout.note
    cisco = view("cisco", "hardened")
    assert cisco.lockout.value is not None and cisco.lockout.value.lock_minutes == 5
    assert [(t.name, t.idle_timeout_s, t.acl) for t in cisco.terminals.value or ()] == [
        ("line con 0", 300, None), ("line vty 0 4", 600, "MGMT"), ("line vty 5 15", 600, "MGMT")]
    weak_cisco = view("cisco", "weak")
    assert {s.what: s.form for s in weak_cisco.secrets.value or ()} == {
        "enable password": "plaintext", "line con 0 password": "reversible",
        "line vty 0 4 password": "reversible"}
    assert [t.login for t in weak_cisco.terminals.value or ()] == ["password", "local", "local"]
    h3c = view("h3c", "hardened")
    assert h3c.lockout.value is not None and h3c.lockout.value.lock_minutes == 15
    assert h3c.hostname.value == "BJ-SCH-ACC1"  # Comware's indented globals are top-level
    # authentication, authorization, accounting
    assert len({k.what for k in h3c.server_keys.value or ()}) == 3
    assert h3c.password_recovery.value is False and view("h3c", "weak").password_recovery.source == "default"
    ruijie = view("ruijie", "hardened")
    assert ruijie.aaa.value is not None and ruijie.aaa.value.protocols == ("radius",)
    assert ruijie.lockout.value is not None and ruijie.lockout.value.lock_minutes == 60  # RGOS: hours
    assert ruijie.password_recovery.source == "n/a"
    assert view("ruijie", "weak").lockout.source == "unknown"  # no RGOS document states a default
    assert view("huawei", "hardened").snmp.value.v3_users == ("nms-user",)  # type: ignore[union-attr]


def test_missing_outputs_are_unknown_not_guessed() -> None:
    v = read("huawei", {"version": outputs("huawei", "hardened")["version"]})
    for key in ("telnet", "ssh", "http", "users", "lockout", "terminals", "aaa", "syslog", "ntp_servers",
                "snmp", "ntp_sync", "interfaces", "clock", "logging", "lldp"):
        known = getattr(v, key)
        assert known.value is None and known.source == "unknown" and known.note, key
    assert v.version.value is not None and v.version.value.model == "S5735-S48T4X"
    only_config = read("cisco", {"config": outputs("cisco", "hardened")["config"]})
    assert only_config.ntp_sync.value is None
    # a saved configuration names its release: read from the `version` line, said so
    assert only_config.version.source == "config" and only_config.version.value is not None
    assert only_config.version.value.software == "IOS 15.2"
    assert only_config.version.lines[0].text == "version 15.2"
    assert only_config.ssh.value is not None and only_config.ssh.value.v1_allowed is False  # ip ssh version 2
    with pytest.raises(KeyError, match="juniper"):
        family("juniper")


def test_defaults_follow_the_software_version() -> None:
    """A setting absent from a complete configuration takes the default of that release, with
    the document named, or is unknown."""
    for vendor in VENDORS:
        fam = family(vendor)
        for setting in fam.defaults:
            known = fam.known_default(setting, None)
            assert known.source in ("default", "unknown", "n/a") and known.note, (vendor, setting)
            if known.source == "default":
                assert "vendor default" in known.note
    huawei = family("huawei")
    old, new = (huawei.known_default("telnet_server", s) for s in ("V200R011C10SPC500", "V200R021C10SPC600"))
    assert (old.value, new.value) != (None, None) and old.note != new.note


def test_defaults_by_release_and_the_family_default() -> None:
    """Huawei documents the lockout default for V200R010 and later: an older release is unknown, and
    so is a release not read (the defaults differ); a default every release shares is used."""
    huawei = family("huawei")
    assert huawei.known_default("lockout", "V200R019C10SPC500").source == "default"
    assert huawei.known_default("lockout", "V200R005C32SPC200").source == "unknown"
    unread = huawei.known_default("lockout", None)  # releases differ: an unread release decides nothing
    assert unread.source == "unknown" and "differs between software releases" in unread.note
    same = huawei.known_default("idle_timeout_s", None)  # one default in every release documented
    assert same.value == 600 and "every release documented has this default" in same.note
    named = outputs("huawei", "weak")["config"]
    assert named.startswith("!Software Version V200R011C10SPC500\n")  # the header names the release
    assert "V200R011" in read("huawei", {"config": named}).lockout.note
    old = "!Software Version V200R005C32SPC200\n" + named.split("\n", 1)[1]
    assert read("huawei", {"config": old}).lockout.source == "unknown"


def test_conflicting_keyword_and_stored_form_is_unknown() -> None:
    text = outputs("huawei", "hardened")["config"].replace(
        "aaa\n", "aaa\n local-user old password irreversible-cipher %#%#Xq3!L`k<P=1Z@w6y$2nA9v+0cR%#%#\n", 1)
    users = {u.name: u for u in read("huawei", {"config": text}).users.value or ()}
    assert users["old"].password_form == "unknown" and "disagree" not in users["old"].form_reason
    assert "irreversible-cipher" in users["old"].form_reason and "decrypt" in users["old"].form_reason


def test_view_is_json_and_every_line_is_masked() -> None:
    for vendor in VENDORS:
        for variant in ("hardened", "weak"):
            shown = view(vendor, variant)
            text = json.dumps(shown.model_dump(mode="json"))
            assert DeviceView.model_validate_json(text) == shown
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
        got = family("huawei").parse_version(raw).value
        assert got is not None and got.model and expected[0]["model"].startswith(got.model)
        # the product version (V200R019C10...) is what the documented defaults are keyed on
        assert got.software and expected[0]["product_version"].endswith(got.software)


def test_real_huawei_ntp_and_interfaces() -> None:
    for raw, expected in real("huawei_vrp", "display_ntp_status"):
        state = family("huawei").parse_ntp(raw)
        assert state.value is not None and state.lines
        assert state.value.synchronised is (expected[0]["clock_status"] == "synchronized")
        assert state.value.stratum == int(expected[0]["clock_stratum"])
    for raw, expected in real("huawei_vrp", "display_interface_brief"):
        links = family("huawei").parse_links(raw)
        assert len(links) == len({row["interface"] for row in expected})
        for row in expected:
            _name, link, ref = next(x for x in links.values() if x[0] == row["interface"])
            assert (link == "up") is row["phy"].startswith("up") and ref.line > 0


def test_real_lldp_neighbours() -> None:
    for platform, vendor, command, local in (
            ("huawei_vrp", "huawei", "display_lldp_neighbor", "local_interface"),
            ("hp_comware", "h3c", "display_lldp_neighbor-information_verbose", "local_interface"),
            ("cisco_ios", "cisco", "show_lldp_neighbors_detail", "local_interface")):
        for raw, expected in real(platform, command):
            found = family(vendor).parse_lldp(raw)
            assert found.value is not None, (vendor, found.note)
            # some IOS releases print no local port in the detail view: the template gives '' too
            assert [n.local_port for n in found.value] == [row[local] for row in expected], vendor


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
        got = family("cisco").parse_version(raw).value
        assert got is not None and got.software is not None and expected[0]["version"] in got.software
        assert got.model == (expected[0]["hardware"] or [None])[0]
    for raw, _ in real("cisco_ios", "show_snmp_community"):
        found = re.findall(r"^Community name: (\S+)", raw, re.MULTILINE)
        masked = mask_config("cisco", raw)
        assert found and not re.findall(r"^Community name: (?!<masked>)", masked, re.MULTILINE)
        assert "storage-type: nonvolatile" in masked  # non-secret lines stay
    for raw, expected in real("cisco_ios", "show_ip_http_server_status"):
        rows = textfsm_rows("cisco_ios_show_ip_http_server_status", raw)
        assert rows[0]["server_status"] == expected[0]["server_status"]
    for raw, expected in real("cisco_ios", "show_logging"):
        state = family("cisco").parse_logging(raw)
        assert state.value is not None and state.lines
        hosts = {h for row in expected for h in row.get("log_host") or ()} if expected else set()
        assert set(state.value.hosts) >= hosts or not hosts
    for raw, _expected in real("cisco_ios", "show_clock"):
        clock = family("cisco").parse_clock(raw, None, None)
        assert clock.value is not None and clock.value.skew_s is None and clock.lines


def test_real_comware_outputs() -> None:
    for raw, expected in real("hp_comware", "display_interface_brief"):
        links = family("h3c").parse_links(raw)
        for row in expected:
            _name, link, _ref = next(x for x in links.values() if x[0] == row["interface"])
            assert link == {"UP": "up", "DOWN": "down", "ADM": "admin-down"}.get(row["link"], "down")
    for raw, _expected in real("hp_comware", "display_clock"):
        clock = family("h3c").parse_clock(raw, None, None)
        assert clock.value is not None and clock.value.device_time[:4].isdigit()
