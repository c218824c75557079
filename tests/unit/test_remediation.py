"""Change scripts per device: the fix in the device's own syntax, its rollback, no secret."""

from __future__ import annotations

from typing import Any

from auditor.remediation import Syntax, change_script, change_scripts, reverse, syntax_of

VRP = Syntax("undo ", "#", "display current-configuration")
IOS = Syntax("no ", "!", "show running-config")


def test_rollback_negates_each_command_and_keeps_the_modes() -> None:
    fix = ["undo telnet server enable", "user-interface vty 0 4", " protocol inbound ssh"]
    assert reverse(fix, VRP) == ["user-interface vty 0 4", " undo protocol inbound ssh",
                                 "telnet server enable"]
    assert reverse(["no ip http server", "line vty 0 15", " exec-timeout 10 0"], IOS) == [
        "line vty 0 15", " no exec-timeout 10 0", "ip http server"]


def test_a_command_that_sets_a_secret_has_no_reverse_and_says_so() -> None:
    back = reverse(["aaa", " local-user <user> password irreversible-cipher <password>"], VRP)
    assert back[0] == "aaa" and back[1].lstrip().startswith("# local-user <user> password")
    assert "cannot be put back" in back[1] and "display current-configuration" in back[1]


def _finding(check: str, status: str, fix: list[str], fid: str) -> dict[str, Any]:
    return {"id": fid, "check": check, "status": status, "fix": fix, "target": "device/sw1"}


def test_one_script_per_device_with_placeholders_and_rollback() -> None:
    device = {"id": "sw1", "address": "10.0.0.2", "vendor": "huawei"}
    findings = [
        _finding("device.telnet_disabled", "fail", ["undo telnet server enable"], "F0001"),
        _finding("device.no_plaintext_passwords", "fail",
                 ["aaa", " local-user <user> password irreversible-cipher <password>"], "F0002"),
        _finding("device.ntp", "pass", ["ntp-service unicast-server <server>"], "F0003"),
        _finding("device.remote_syslog", "error", ["info-center loghost <server>"], "F0004"),
    ]
    script = change_script(device, findings, {"id": "run-1", "started_at": "2026-12-07T00:00:00Z"})
    assert script is not None
    lines = script.splitlines()
    fix_part, back_part = script.split("rollback", 1)
    assert "undo telnet server enable" in fix_part and "<password>" in fix_part
    assert "ntp-service" not in script and "info-center" not in script  # only failures are fixed
    assert back_part.index("device.no_plaintext_passwords") < back_part.index("device.telnet_disabled")
    assert "\ntelnet server enable\n" in back_part
    # the secret is a placeholder wherever it appears; its rollback is a comment, not a command
    assert all(line.endswith("irreversible-cipher <password>") for line in lines
               if "irreversible-cipher" in line and not line.lstrip().startswith("#"))
    assert any(line.lstrip().startswith("# local-user") and "cannot be put back" in line
               for line in back_part.splitlines())
    assert syntax_of("huawei").negation == "undo " and syntax_of("cisco").negation == "no "


def test_no_script_without_a_fixable_failure_or_for_an_unknown_vendor() -> None:
    report = {"run": {}, "topology": {"nodes": [
        {"id": "sw1", "address": "10.0.0.2", "vendor": "huawei"},
        {"id": "fw", "address": "10.0.0.3", "vendor": "juniper"}]},
        "findings": [_finding("device.ntp", "pass", ["ntp-service unicast-server <server>"], "F1"),
                     {**_finding("device.ntp", "fail", ["set system ntp server <server>"], "F2"),
                      "target": "device/fw"}]}
    assert change_scripts(report) == {}
