"""Device hardening checks on facts built from the parsed fixtures: pass on every vendor's
hardened configuration, fail on its weak one, error when the fact is missing or failed."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.device_hardening import (
    CHECKS,
    ConfigChanged,
    DefaultAccountsParams,
    HttpMgmtSecure,
    IdleTimeout,
    IdleTimeoutParams,
    NoParams,
    SnmpDefaultCommunity,
    SnmpHardened,
    TelnetDisabled,
    UnusedPortsDown,
    UnusedPortsParams,
)
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import Check, CheckContext, FactIndex
from auditor.probes.parsers.netconfig import MASK, parse_device
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "netconfig"
VENDORS = ("huawei", "h3c", "cisco", "ruijie")
KEYS = ("config", "version", "ntp", "ssh", "interfaces")
# Checks that fail because something is absent have no configuration line to show for it.
ABSENCE_CHECKS = {"device.login_lockout", "device.remote_auth", "device.remote_syslog"}
CONFIG_CHECKS = [c for c in CHECKS if c not in (ConfigChanged, SnmpDefaultCommunity)]

INV = Inventory.model_validate({
    "school": {"name": "t"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "uplink": {"endpoints": [{"id": "d", "address": "10.200.0.2"}]},
    "devices": [{"id": f"sw-{v}", "address": f"10.200.9.{i + 2}", "vendor": v} for i, v in enumerate(VENDORS)]
    + [{"id": "srv", "address": "10.200.9.50", "vendor": "linux"}],
})


def config_fact(vendor: str, variant: str, tcp: dict[str, str] | None = None,
                keys: tuple[str, ...] = KEYS, **extra: Any) -> Fact:
    outputs = {k: (DATA / vendor / variant / f"{k}.txt").read_text() for k in keys}
    hardened = variant == "hardened"
    data = {"vendor": vendor, "address": "x", "parsed": parse_device(vendor, outputs),
            "outputs": {k: f"evidence/device/sw-{vendor}/{k}.txt" for k in keys},
            "tcp": tcp if tcp is not None else {"23": "closed" if hardened else "open",
                                                 "80": "closed" if hardened else "open", "443": "open"},
            "changed": None, "diff_artifact": None, "previous_sha256": None, "config_sha256": "ab" * 32,
            **extra}
    return Fact("device.config", f"device/sw-{vendor}", "ssh.device_config", FactStatus.OK, data,
                artifacts=(f"evidence/device/sw-{vendor}/config.txt",))


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
    informational = check_cls.meta.id == "device.firmware_reported"  # reports, passes whenever known
    for vendor in VENDORS:
        good, bad = hardened[f"device/sw-{vendor}"], weak[f"device/sw-{vendor}"]
        assert good.status is Status.PASS, (vendor, good.message)
        assert bad.status is (Status.PASS if informational else Status.FAIL), (vendor, bad.message)
        assert good.facts[0] == f"device.config:device/sw-{vendor}"
        assert f"evidence/device/sw-{vendor}/config.txt" in good.artifacts
        if check_cls.meta.id not in ABSENCE_CHECKS:
            assert bad.lines, (vendor, "a failure names the lines it relied on")
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
    expected = "not audited" if check.kind == "device.config" else "no measurement"
    assert expected in found["device/sw-cisco"].message


@pytest.mark.parametrize("check_cls", [c for c in CONFIG_CHECKS if c.meta.id != "device.firmware_reported"],
                         ids=lambda c: c.meta.id)
def test_missing_configuration_output_is_error(check_cls: type[Any]) -> None:
    facts = index(*(config_fact(v, "hardened", keys=("version",)) for v in VENDORS))
    for finding in run(check_cls(), facts).values():
        assert finding.status is Status.ERROR, finding.message


def test_firmware_error_without_version_output() -> None:
    facts = index(*(config_fact(v, "hardened", keys=("config",)) for v in VENDORS))
    assert {f.status for f in run(CONFIG_CHECKS[-1](), facts).values()} == {Status.ERROR}


def test_telnet_config_and_tcp_disagree() -> None:
    facts = index(config_fact("huawei", "hardened", tcp={"23": "open", "80": "closed"}))
    finding = run(TelnetDisabled(), facts)["device/sw-huawei"]
    assert finding.status is Status.FAIL and "disagree" in finding.message
    assert "telnet off" in finding.message and "TCP 23 is open" in finding.message
    no_tcp = run(TelnetDisabled(), index(config_fact("huawei", "hardened", tcp={})))
    assert no_tcp["device/sw-huawei"].status is Status.ERROR


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
    found = run(CONFIG_CHECKS[6](), facts, DefaultAccountsParams(names=["netops"]))["device/sw-huawei"]
    assert found.status is Status.FAIL and "netops" in found.message


def test_snmp_v2c_only_is_a_lower_weight_failure() -> None:
    parsed = parse_device("cisco", {"config": "hostname s\nsnmp-server community Zq7-long-rand0m RO 10\n"})
    fact = Fact("device.config", "device/sw-cisco", "ssh.device_config", FactStatus.OK,
                {"vendor": "cisco", "parsed": parsed, "tcp": {}})
    finding = run(SnmpHardened(), index(fact))["device/sw-cisco"]
    assert finding.status is Status.FAIL and finding.severity is Severity.LOW
    assert "lower weight" in finding.message and "Zq7-long-rand0m" not in finding.message
    assert all("Zq7" not in line for line in finding.lines) and MASK in finding.lines[0]


def test_unused_ports_from_snmp_when_available() -> None:
    snmp = Fact("device.snmp", "device/sw-cisco", "snmp.device_info", FactStatus.OK, {"interfaces": [
        {"index": 1, "name": "Fa0/1", "descr": "FastEthernet0/1", "admin": "up", "oper": "up"},
        {"index": 2, "name": "Fa0/2", "descr": "FastEthernet0/2", "admin": "up", "oper": "up"},
        {"index": 3, "name": "Fa0/3", "descr": "FastEthernet0/3", "admin": "up", "oper": "down"},
    ]})
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
        return Fact("device.default_community", "device/sw-ruijie", "snmp.default_community", FactStatus.OK,
                    {"tried": ["public", "private"], "answered": answered})
    bad = run(SnmpDefaultCommunity(), index(fact({"public": "Ruijie S2910 RGOS 11.0"})))["device/sw-ruijie"]
    assert bad.status is Status.FAIL and "public" in bad.message
    silent_and_down = run(SnmpDefaultCommunity(), index(fact({})))["device/sw-ruijie"]
    assert silent_and_down.status is Status.ERROR and "silence proves nothing" in silent_and_down.message
    good = run(SnmpDefaultCommunity(), index(fact({}), config_fact("ruijie", "hardened")))["device/sw-ruijie"]
    assert good.status is Status.PASS and "ssh.device_config" in good.message
    assert run(SnmpDefaultCommunity(), index())["device/sw-huawei"].status is Status.ERROR


def test_meta_is_complete_and_ids_unique() -> None:
    ids = [c.meta.id for c in CHECKS]
    assert len(ids) == len(set(ids)) == 16
    for cls in CHECKS:
        meta = cls.meta
        assert meta.title_zh and meta.title_en and meta.rationale_zh and meta.remediation_en and meta.requires
        assert cls.params_model is NoParams or cls.params_model.model_config.get("extra") == "forbid"
    assert "documented local" in CHECKS[7].meta.remediation_en
