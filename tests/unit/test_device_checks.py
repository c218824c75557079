"""Device checks on facts built from the project's vendor fixtures: pass on every vendor's hardened
configuration, fail on its weak one (or error where the vendor documents no default), error when the
fact is missing or failed, and never a pass without evidence."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks import device_access, device_hardening
from auditor.checks.device_base import DeviceCheck, NoParams
from auditor.checks.device_hardening import (
    ConfigChanged,
    DefaultAccountsParams,
    HttpMgmtSecure,
    IdleTimeout,
    IdleTimeoutParams,
    NoDefaultAccounts,
    SnmpDefaultCommunity,
    SnmpHardened,
    TelnetDisabled,
    UnusedPortsDown,
    UnusedPortsParams,
)
from auditor.facts import LoginUsed
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import Check, CheckContext, FactIndex
from auditor.vendors.mask import MASK
from tests.support.devices import NETCONFIG as TEST_NETCONFIG
from tests.support.devices import VENDORS, config_fact, read

CHECKS: list[type[Any]] = sorted(
    {obj for mod in (device_hardening, device_access) for obj in vars(mod).values()
     if isinstance(obj, type) and issubclass(obj, DeviceCheck) and obj is not DeviceCheck
     and hasattr(obj, "meta")}, key=lambda c: c.meta.id)
CONFIG_CHECKS = [c for c in CHECKS if c not in (ConfigChanged, SnmpDefaultCommunity)]
# Checks that fail because something is absent have no configuration line to show for it.
ABSENCE_CHECKS = {"device.login_lockout", "device.remote_auth", "device.remote_syslog", "device.ntp",
                  "device.password_recovery_off"}
# (check, vendor) that does not fail on the weak fixture, and what it gives instead, with why.
WEAK_EXCEPTIONS = {
    ("device.login_lockout", "huawei"): Status.PASS,  # VRP locks after 3 failures by default (documented)
    ("device.line_login_required", "huawei"): Status.PASS,  # its VTY lines authenticate by password
    ("device.line_login_required", "cisco"): Status.PASS,
    ("device.line_passwords_without_users", "h3c"): Status.PASS,  # VTY scheme login
    ("device.line_login_required", "ruijie"): Status.ERROR,  # RGOS documents no console login default
    ("device.line_passwords_without_users", "ruijie"): Status.ERROR,
    ("device.login_lockout", "ruijie"): Status.ERROR,  # RGOS documents no lockout default
    ("device.server_keys_protected", "huawei"): Status.NOT_APPLICABLE,  # no AAA server at all
    ("device.server_keys_protected", "h3c"): Status.NOT_APPLICABLE,
    ("device.server_keys_protected", "cisco"): Status.NOT_APPLICABLE,
    ("device.server_keys_protected", "ruijie"): Status.NOT_APPLICABLE,
    ("device.password_recovery_off", "huawei"): Status.NOT_APPLICABLE,  # no such switch in VRP
    ("device.password_recovery_off", "ruijie"): Status.NOT_APPLICABLE,
    ("device.firmware_reported", "huawei"): Status.PASS,  # informational: passes whenever known
    ("device.firmware_reported", "h3c"): Status.PASS,
    ("device.firmware_reported", "cisco"): Status.PASS,
    ("device.firmware_reported", "ruijie"): Status.PASS,
    ("device.clock_synced", "huawei"): Status.ERROR,  # the fixtures hold no clock output
    ("device.clock_synced", "h3c"): Status.ERROR,
    ("device.clock_synced", "cisco"): Status.ERROR,
    ("device.clock_synced", "ruijie"): Status.ERROR,
}
HARDENED_EXCEPTIONS = {
    ("device.password_recovery_off", "huawei"): Status.NOT_APPLICABLE,
    ("device.password_recovery_off", "ruijie"): Status.NOT_APPLICABLE,
    ("device.clock_synced", "huawei"): Status.ERROR,
    ("device.clock_synced", "h3c"): Status.ERROR,
    ("device.clock_synced", "cisco"): Status.ERROR,
    ("device.clock_synced", "ruijie"): Status.ERROR,
}

INV = Inventory.model_validate({
    "school": {"name": "t"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "uplink": {"endpoints": [{"id": "d", "address": "10.200.0.2"}]},
    "devices": [{"id": f"sw-{v}", "address": f"10.200.9.{i + 2}", "vendor": v} for i, v in enumerate(VENDORS)]
    + [{"id": "srv", "address": "10.200.9.50", "vendor": "linux"}],
})


def index(*facts: Fact) -> FactIndex:
    out = FactIndex()
    for fact in facts:
        out.add(fact)
    return out


def run(check: Check, facts: FactIndex, params: Any = None) -> dict[str, Finding]:
    found = check.evaluate(CheckContext(INV, facts, params or check.params_model()))
    return {f.target: f for f in found}


@pytest.mark.parametrize("check_cls", CONFIG_CHECKS, ids=lambda c: c.meta.id)
def test_pass_on_hardened_fail_on_weak(check_cls: type[Any]) -> None:
    check = check_cls()
    assert isinstance(check, Check)
    hardened = run(check, index(*(config_fact(v, "hardened") for v in VENDORS)))
    weak = run(check, index(*(config_fact(v, "weak") for v in VENDORS)))
    assert set(hardened) == set(weak) == {f"device/sw-{v}" for v in VENDORS}  # the linux host is skipped
    cid = check_cls.meta.id
    for vendor in VENDORS:
        good, bad = hardened[f"device/sw-{vendor}"], weak[f"device/sw-{vendor}"]
        assert good.status is HARDENED_EXCEPTIONS.get((cid, vendor), Status.PASS), (vendor, good.message)
        assert bad.status is WEAK_EXCEPTIONS.get((cid, vendor), Status.FAIL), (vendor, bad.message)
        assert good.facts[0] == f"device.config:device/sw-{vendor}"
        assert f"evidence/device/sw-{vendor}/config.txt" in good.artifacts
        if bad.status is Status.FAIL and cid not in ABSENCE_CHECKS:
            assert bad.lines and bad.evidence, (vendor, "a failure names the lines it relied on")
            assert all(e["line"] > 0 and e["file"] for e in bad.evidence)
            assert bad.fix, (vendor, "a failure shows the commands that fix it")
        if good.status is Status.PASS:
            assert good.lines, (vendor, "a pass names the lines it relied on")
        shown = "\n".join(bad.lines + good.lines)
        assert not any(s in shown for s in ("Huawei@123", "cisco123", "ruijie123"))


@pytest.mark.parametrize("check_cls", [*CONFIG_CHECKS, ConfigChanged], ids=lambda c: c.meta.id)
def test_missing_or_failed_fact_is_error(check_cls: type[Any]) -> None:
    check = check_cls()
    failed = Fact("device.config", "device/sw-huawei", "ssh.device_config", FactStatus.ERROR,
                  error="sw-huawei (10.200.9.2): SSH authentication failed")
    found = run(check, index(failed))
    assert found["device/sw-huawei"].status is Status.ERROR
    assert "authentication failed" in found["device/sw-huawei"].message
    assert found["device/sw-cisco"].status is Status.ERROR
    # the test inventory gives its switches no ssh: a configuration check says so
    assert "not audited" in found["device/sw-cisco"].message


NOT_FROM_CONFIG = {"device.firmware_reported"}  # reads the version output only


@pytest.mark.parametrize("check_cls", [c for c in CONFIG_CHECKS if c.meta.id not in NOT_FROM_CONFIG],
                         ids=lambda c: c.meta.id)
@pytest.mark.parametrize("answer", [
    None,  # not collected
    "",  # an empty answer
    "                ^\nError: Unrecognized command found at '^' position.",  # VRP's error reply
    "% Invalid input detected at '^' marker.",  # IOS's
    "% Unknown command.",  # RGOS's
], ids=["missing", "empty", "vrp-error", "ios-error", "rgos-error"])
def test_no_configuration_evidence_is_never_a_pass(check_cls: type[Any], answer: str | None) -> None:
    """The evidence rule: a configuration that is missing, empty or an error reply decides nothing."""
    for vendor in VENDORS:
        texts = {"version": (TEST_NETCONFIG / vendor / "hardened" / "version.txt").read_text()}
        if answer is not None:
            texts["config"] = answer
        fact = config_fact(vendor, "hardened", keys=(), the_view=read(vendor, texts), tcp={})
        finding = run(check_cls(), index(fact))[f"device/sw-{vendor}"]
        assert finding.status in (Status.ERROR, Status.NOT_APPLICABLE), (vendor, finding.message)
        assert finding.status is not Status.PASS


@pytest.mark.parametrize("check_cls", [c for c in CONFIG_CHECKS if c.meta.id not in NOT_FROM_CONFIG],
                         ids=lambda c: c.meta.id)
def test_a_truncated_configuration_is_never_a_pass(check_cls: type[Any]) -> None:
    for vendor in VENDORS:
        full = (TEST_NETCONFIG / vendor / "hardened" / "config.txt").read_text()
        cut = "\n".join(full.splitlines()[: len(full.splitlines()) * 2 // 3]) + "\n"
        fact = config_fact(vendor, "hardened", keys=(), the_view=read(vendor, {"config": cut}), tcp={})
        finding = run(check_cls(), index(fact))[f"device/sw-{vendor}"]
        assert finding.status in (Status.ERROR, Status.NOT_APPLICABLE), (vendor, finding.message)


def test_an_unprivileged_login_is_named_with_its_fix() -> None:
    texts = {"config": "% Invalid input detected at '^' marker."}
    view = read("cisco", texts, prompt="access-sw>")
    assert view.outputs["config"].status == "unprivileged"
    assert "`ssh.enable` secret" in view.outputs["config"].reason
    finding = run(TelnetDisabled(), index(config_fact("cisco", "hardened", keys=(), the_view=view, tcp={})))
    assert finding["device/sw-cisco"].status is Status.ERROR
    assert "user mode" in finding["device/sw-cisco"].message


def test_a_well_known_default_login_fails_default_accounts() -> None:
    login = LoginUsed(username="admin", well_known_default=True, reason="admin with its published default")
    fact = config_fact("huawei", "hardened", login=login.model_dump(mode="json"))
    found = run(NoDefaultAccounts(), index(fact))["device/sw-huawei"]
    assert found.status is Status.FAIL and "default password" in found.message
    assert "admin@huawei" not in found.message.lower()


def test_telnet_config_and_tcp_disagree() -> None:
    facts = index(config_fact("huawei", "hardened", tcp={"23": "open", "80": "closed"}))
    finding = run(TelnetDisabled(), facts)["device/sw-huawei"]
    assert finding.status is Status.FAIL and "disagree" in finding.message
    assert "telnet off" in finding.message and "TCP 23 is open" in finding.message
    # offline (a saved configuration) there is no measurement: the configuration line decides
    no_tcp = run(TelnetDisabled(), index(config_fact("huawei", "hardened", tcp={})))["device/sw-huawei"]
    assert no_tcp.status is Status.PASS and "TCP 23 not measured" in no_tcp.message
    assert no_tcp.evidence[0]["text"] == "undo telnet server enable"


def test_http_port_open_fails_even_if_config_says_off() -> None:
    facts = index(config_fact("cisco", "hardened", tcp={"23": "closed", "80": "open"}))
    assert run(HttpMgmtSecure(), facts)["device/sw-cisco"].status is Status.FAIL


def test_idle_timeout_threshold_param() -> None:
    facts = index(config_fact("huawei", "hardened"))
    assert run(IdleTimeout(), facts)["device/sw-huawei"].status is Status.PASS
    strict = run(IdleTimeout(), facts, IdleTimeoutParams(max_minutes=5))["device/sw-huawei"]
    assert strict.status is Status.FAIL and "user-interface vty 0 4: 10 min" in strict.message
    weak = run(IdleTimeout(), index(config_fact("ruijie", "weak")))["device/sw-ruijie"]
    assert "never (0 0)" in weak.message
    with pytest.raises(ValueError, match="extra"):
        IdleTimeoutParams.model_validate({"max_minute": 5})


def test_default_accounts_param() -> None:
    facts = index(config_fact("huawei", "hardened"))
    found = run(NoDefaultAccounts(), facts, DefaultAccountsParams(names=["netops"]))["device/sw-huawei"]
    assert found.status is Status.FAIL and "netops" in found.message


def test_snmp_v2c_only_is_a_lower_weight_failure() -> None:
    config = "hostname s\nsnmp-server community Zq7-long-rand0m RO 10\nend\n"
    view = read("cisco", {"config": config})
    fact = config_fact("cisco", "hardened", keys=("config",), the_view=view, tcp={})
    finding = run(SnmpHardened(), index(fact))["device/sw-cisco"]
    assert finding.status is Status.FAIL and finding.severity is Severity.LOW
    assert "lower weight" in finding.message and "Zq7-long-rand0m" not in finding.message
    assert all("Zq7" not in line for line in finding.lines) and MASK in finding.lines[0]


def test_unused_ports_from_snmp_when_available() -> None:
    rows = [{"index": n, "name": f"Fa0/{n}", "descr": f"FastEthernet0/{n}", "alias": None, "admin": "up",
             "oper": oper, "speed_mbps": 100.0} for n, oper in ((1, "up"), (2, "up"), (3, "down"))]
    snmp = Fact("device.snmp", "device/sw-cisco", "snmp.device_info", FactStatus.OK, {
        "address": "192.0.2.10", "sys_descr": "Cisco IOS Software, C2960 Software, Version 15.0(2)SE11",
        "sys_object_id": "1.3.6.1.4.1.9.1.1208", "sys_name": "sw-cisco", "uptime_s": 86400.0,
        "vendor": "cisco", "enterprise": 9, "platform": "C2960", "version": "15.0(2)SE11",
        "inventory_vendor": "cisco", "snmp_version": "2c", "security": "community", "interfaces": rows,
        "lldp": []})
    finding = run(UnusedPortsDown(), index(config_fact("cisco", "weak"), snmp))["device/sw-cisco"]
    assert finding.status is Status.FAIL and "SNMP ifTable" in finding.message
    assert "FastEthernet0/3" in finding.message and "FastEthernet0/2" not in finding.message
    assert "device.snmp:device/sw-cisco" in finding.facts
    ignored = run(UnusedPortsDown(), index(config_fact("cisco", "weak"), snmp),
                  UnusedPortsParams(ignore=["FastEthernet0/3"]))["device/sw-cisco"]
    assert ignored.status is Status.PASS


def test_config_changed() -> None:
    first = run(ConfigChanged(), index(config_fact("h3c", "hardened")))["device/sw-h3c"]
    assert first.status is Status.PASS and "first audit: baseline stored" in first.message
    same = run(ConfigChanged(), index(config_fact("h3c", "hardened", changed=False,
                                                  previous_sha256="ab" * 32)))["device/sw-h3c"]
    assert same.status is Status.PASS and "unchanged" in same.message
    diff = "evidence/device/sw-h3c/config.diff"
    fact = config_fact("h3c", "hardened", changed=True, previous_sha256="cd" * 32, diff_artifact=diff)
    changed = run(ConfigChanged(), index(fact))["device/sw-h3c"]
    assert changed.status is Status.FAIL and "configuration changed since the last audit" in changed.message
    assert diff in changed.artifacts


def test_default_community_check() -> None:
    def fact(answered: dict[str, str]) -> Fact:
        silent = [c for c in ("public", "private") if c not in answered]
        return Fact("device.default_community", "device/sw-ruijie", "snmp.default_community", FactStatus.OK,
                    {"address": "192.0.2.10", "port": 161, "tried": ["public", "private"],
                     "answered": answered, "silent": silent, "control_requests_answered": 2 * len(silent),
                     "note": "a silent community was asked 4 times"})
    bad = run(SnmpDefaultCommunity(), index(fact({"public": "Ruijie S2910 RGOS 11.0"})))["device/sw-ruijie"]
    assert bad.status is Status.FAIL and "public" in bad.message
    silent_and_down = run(SnmpDefaultCommunity(), index(fact({})))["device/sw-ruijie"]
    assert silent_and_down.status is Status.ERROR and "silence proves nothing" in silent_and_down.message
    good = run(SnmpDefaultCommunity(), index(fact({}), config_fact("ruijie", "hardened")))["device/sw-ruijie"]
    assert good.status is Status.PASS and "ssh.device_config" in good.message
    assert run(SnmpDefaultCommunity(), index())["device/sw-huawei"].status is Status.ERROR


def test_meta_is_complete_and_ids_unique() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 21
    for cls in CHECKS:
        meta = cls.meta
        assert meta.title_zh and meta.title_en and meta.rationale_zh and meta.remediation_en and meta.requires
        assert cls.params_model is NoParams or cls.params_model.model_config.get("extra") == "forbid"
    assert "documented local" in device_hardening.RemoteAuth.meta.remediation_en


MINIMAL = {"huawei": "#\nsysname sw\n#\nreturn\n", "h3c": "#\n sysname sw\n#\nreturn\n",
           "cisco": "hostname sw\n!\nend\n", "ruijie": "hostname sw\n!\nend\n"}
# checks that count objects (lines, users, stored passwords, ports, keys): none examined is no pass
COUNTING = {"device.line_login_required", "device.line_passwords_without_users", "device.idle_timeout",
            "device.no_plaintext_passwords", "device.no_default_accounts", "device.unused_ports_down",
            "device.server_keys_protected", "device.mgmt_acl"}


@pytest.mark.parametrize("check_cls", [c for c in CONFIG_CHECKS if c.meta.id not in NOT_FROM_CONFIG],
                         ids=lambda c: c.meta.id)
def test_missing_sections_and_zero_objects_are_never_a_pass(check_cls: type[Any]) -> None:
    """A complete configuration with no section the check reads: a check that counts objects
    examined none (error or not_applicable); any other passes only on the vendor's documented
    default for the release the version output names, and says so."""
    for vendor in VENDORS:
        texts = {"version": (TEST_NETCONFIG / vendor / "hardened" / "version.txt").read_text(),
                 "config": MINIMAL[vendor]}
        fact = config_fact(vendor, "hardened", keys=(), the_view=read(vendor, texts), tcp={})
        finding = run(check_cls(), index(fact))[f"device/sw-{vendor}"]
        if check_cls.meta.id in COUNTING:
            assert finding.status in (Status.ERROR, Status.NOT_APPLICABLE), (vendor, finding.message)
        elif finding.status is Status.PASS:
            assert "vendor default" in finding.message or "no SNMP configuration" in finding.message, \
                (vendor, finding.message)
