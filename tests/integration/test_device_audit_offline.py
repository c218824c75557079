"""``auditor device audit``: the device checks on saved configurations, as an administrator runs
it on an export (one file, a folder, a CSV of file,vendor), in the shapes schools save them
(GBK, CRLF, pager leftovers), with the exit codes and messages of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.devices import NETCONFIG, outputs
from tests.support.paths import DATA

CORPUS = DATA / "device-configs"


def audit(*args: str) -> tuple[int, object, str]:
    res = run_cli("device", "audit", *args, "--json")
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else None, res.stderr


def test_one_weak_configuration_fails_with_lines_and_fixes() -> None:
    code, doc, _ = audit(str(NETCONFIG / "cisco" / "weak" / "config.txt"), "--vendor", "cisco")
    assert code == 1 and isinstance(doc, dict)
    assert doc["vendor"] == "cisco" and doc["complete"] is True
    found = {f["check"]: f for f in doc["findings"]}
    telnet = found["device.telnet_disabled"]
    assert telnet["status"] == "fail" and "TCP 23 not measured" in telnet["message"]
    assert telnet["evidence"]
    assert all(e["line"] > 0 and e["file"].endswith("config.txt") for e in telnet["evidence"])
    assert telnet["fix"] and any("transport input ssh" in c for c in telnet["fix"])
    plain = found["device.no_plaintext_passwords"]
    assert plain["status"] == "fail" and "cisco123" not in json.dumps(doc)  # secrets never leave masked
    assert found["device.config_changed"]["status"] == "not_applicable"  # nothing to compare offline


def test_outputs_beside_the_configuration_are_read() -> None:
    folder = NETCONFIG / "huawei" / "hardened"
    _code, without, _ = audit(str(folder / "config.txt"), "--vendor", "huawei")
    code, with_outputs, _ = audit(str(folder / "config.txt"), "--vendor", "huawei",
                                  "--output", f"version={folder / 'version.txt'}",
                                  "--output", f"ntp={folder / 'ntp.txt'}",
                                  "--output", f"interfaces={folder / 'interfaces.txt'}")
    assert isinstance(without, dict) and isinstance(with_outputs, dict)
    before = {f["check"]: f["status"] for f in without["findings"]}
    after = {f["check"]: f["status"] for f in with_outputs["findings"]}
    assert before["device.ntp"] == "error" and after["device.ntp"] == "pass"  # synchronisation needs `ntp`
    # the configuration's header names the release; the version output adds the model
    assert before["device.firmware_reported"] == "pass"
    firmware = {f["check"]: f for f in with_outputs["findings"]}["device.firmware_reported"]
    assert "S5735-S48T4X" in firmware["message"]
    assert after["device.firmware_reported"] == "pass" and after["device.unused_ports_down"] == "pass"
    assert with_outputs["outputs"]["ntp"]["status"] == "ok"
    assert code in (0, 1)


def test_gbk_crlf_and_pager_exports_read_as_the_clean_one(tmp_path: Path) -> None:
    text = outputs("huawei", "weak", ("config",))["config"]
    lines = text.splitlines()
    lines.insert(20, "  ---- More ----\x1b[42D                \x1b[42D")
    noisy = tmp_path / "导出-交换机.cfg"
    noisy.write_bytes(("\r\n".join(lines) + "\r\n").replace("sysname HUAWEI", "sysname 教学楼").encode("gbk"))
    clean = tmp_path / "clean.cfg"
    clean.write_text(text.replace("sysname HUAWEI", "sysname 教学楼"), encoding="utf-8")
    _c1, a, _ = audit(str(noisy), "--vendor", "huawei")
    _c2, b, _ = audit(str(clean), "--vendor", "huawei")
    assert isinstance(a, dict) and isinstance(b, dict)
    verdicts = [[(f["check"], f["status"]) for f in doc["findings"]] for doc in (a, b)]
    assert verdicts[0] == verdicts[1]
    assert a["complete"] is True


def test_a_folder_and_a_csv_of_mixed_vendors(tmp_path: Path) -> None:
    code, doc, _ = audit(str(CORPUS / "huawei"), "--vendor", "huawei")
    assert code == 1 and isinstance(doc, list) and len(doc) == len(list((CORPUS / "huawei").glob("*.cfg")))
    truncated = next(d for d in doc if "truncated" in d["device"])
    assert truncated["complete"] is False
    assert not [f for f in truncated["findings"] if f["status"] == "pass"]
    mapping = tmp_path / "devices.csv"
    mapping.write_text("file,vendor\n"
                       f"{CORPUS / 'h3c' / 'hpe5940-leaf01-banner.cfg'},h3c\n"
                       f"{CORPUS / 'ruijie' / 'fs-n8560-switch-mgmt.cfg'},ruijie\n", encoding="utf-8")
    code, doc, _ = audit(str(mapping))
    assert code == 1 and isinstance(doc, list) and [d["vendor"] for d in doc] == ["h3c", "ruijie"]
    table = run_cli("device", "audit", str(mapping), "--lang", "en")
    assert table.returncode == 1 and "summary" in table.stdout and "device.telnet_disabled" in table.stdout


def test_every_device_check_runs_and_none_passes_on_an_error_reply(tmp_path: Path) -> None:
    """A device that answered `display current-configuration` with an error: nothing passes."""
    reply = tmp_path / "reply.txt"
    reply.write_text("                ^\nError: Unrecognized command found at '^' position.\n",
                     encoding="utf-8")
    code, doc, _ = audit(str(reply), "--vendor", "huawei")
    assert code == 1 and isinstance(doc, dict)
    assert doc["outputs"]["config"]["status"] == "error_reply"
    assert {f["status"] for f in doc["findings"]} <= {"error", "not_applicable"}
    assert len(doc["findings"]) >= 19


@pytest.mark.parametrize(("args", "needle"), [
    (["missing.cfg", "--vendor", "cisco"], "missing.cfg: not a file"),
    (["{config}"], "--vendor"),
    (["{config}", "--vendor", "juniper"], "juniper"),
    (["{config}", "--vendor", "cisco", "--output", "version"], "KIND=FILE"),
    (["{config}", "--vendor", "cisco", "--output", "bogus={config}"], "no output named 'bogus'"),
    (["{csv}"], "unknown vendor 'juniper'"),
    (["{empty_dir}", "--vendor", "h3c"], "no configuration files"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], needle: str) -> None:
    config = NETCONFIG / "cisco" / "weak" / "config.txt"
    csv = tmp_path / "devices.csv"
    csv.write_text(f"{config},juniper\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    values = {"config": str(config), "csv": str(csv), "empty_dir": str(tmp_path / "empty")}
    argv = [a.format(**values) for a in args]
    res = run_cli("device", "audit", *[str(tmp_path / a) if a == "missing.cfg" else a for a in argv])
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert len([line for line in res.stderr.splitlines() if line.strip()]) <= 3


def test_an_unreadable_file_in_a_folder_is_its_own_error_and_the_rest_go_on(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a-good.cfg").write_text(outputs("cisco", "hardened", ("config",))["config"], encoding="utf-8")
    with (folder / "b-huge.cfg").open("wb") as handle:  # sparse: larger than any configuration
        handle.truncate(40 * 2**20)
    code, doc, _ = audit(str(folder), "--vendor", "cisco")
    assert code == 1 and isinstance(doc, list) and [d["device"] for d in doc] == ["a-good", "b-huge"]
    huge = doc[1]
    assert {f["status"] for f in huge["findings"]} <= {"error", "not_applicable"}
    assert "larger than" in huge["outputs"]["config"]["reason"]
    assert any(f["status"] == "pass" for f in doc[0]["findings"])
