"""The office exports' pure parts: the inventory's remediation deadlines (validated like the rest
of the inventory, carried into the report), the deadline arithmetic, and findings.csv (Excel-safe
text, one language, the "signer not trusted" line)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.inventory import Inventory
from auditor.plugins import RenderOptions
from auditor.reports import exports
from auditor.reports.csvfile import CsvRenderer
from auditor.yamlsrc import load_model

HEAD = "version: 1\nschool: {name: 测试学校}\nscope:\n  allow: [10.0.0.0/8]\n"


def _inventory(tmp_path: Path, text: str) -> Inventory:
    path = tmp_path / "site.yaml"
    path.write_text(HEAD + text, encoding="utf-8")
    return load_model(Inventory, path)


def test_deadlines_default_to_30_90_180_days_and_may_be_set_per_risk(tmp_path: Path) -> None:
    assert _inventory(tmp_path, "").report_site()["remediation"] == {
        "deadlines_days": {"high": 30, "medium": 90, "low": 180}}
    inv = _inventory(tmp_path, "remediation:\n  deadlines_days: {high: 7, low: 365}\n")
    assert inv.report_site()["remediation"]["deadlines_days"] == {"high": 7, "medium": 90, "low": 365}


DAYS = "remediation.deadlines_days"


@pytest.mark.parametrize(("text", "words"), [
    ("remediation:\n  deadlines_days: {high: 0}\n", (f"{DAYS}.high", "greater than or equal to 1")),
    ("remediation:\n  deadlines_days: {low: 1000}\n", (f"{DAYS}.low", "less than or equal to 730")),
    ("remediation:\n  deadlines_days: {high: \"30\"}\n", (f"{DAYS}.high", "integer")),
    ("remediation:\n  deadlines_days: {critical: 5}\n", (f"{DAYS}.critical", "unknown field")),
    ("remediation:\n  owner: 信息中心\n", ("remediation.owner", "unknown field")),
])
def test_bad_deadlines_are_refused_naming_line_and_field(tmp_path: Path, text: str,
                                                           words: tuple[str, ...]) -> None:
    with pytest.raises(InputError) as err:
        _inventory(tmp_path, text)
    message = str(err.value)
    assert "site.yaml:6" in message or "site.yaml:5" in message, message
    for word in words:
        assert word in message, message


def test_the_report_site_names_components_and_no_credential(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, """\
devices:
  - {id: core, address: 10.0.0.1, vendor: huawei, ssh: {username: {env: U}, password: {env: P}}}
servers:
  - {id: web, name: 网站, address: 10.0.0.5}
classrooms:
  - id: room1
    name: 教学楼 101
    building: 教学楼
    endpoint: {address: 10.0.1.2}
    access_port: {device: core, port: Gi0/1}
backups:
  - id: db
    host: 10.0.2.2
    ssh: {username: {env: U}, password: {env: P}}
    path: /srv/backup
""")
    site = inv.report_site()
    comp = site["components"]
    assert comp["servers"] == [{"id": "web", "name": "网站", "address": "10.0.0.5", "zone": None}]
    assert comp["classrooms"][0]["access_port"] == {"device": "core", "port": "Gi0/1"}
    assert comp["backups"] == [{"id": "db", "name": None, "system": None, "host": "10.0.2.2",
                                "offsite_host": None}]
    assert comp["uplink"] is None
    text = repr(site)
    assert "ssh" not in text and "password" not in text and "/srv/backup" not in text


def _report(**site: Any) -> dict[str, Any]:
    return {
        "schema": "campus-auditor/report", "schema_version": "1.1",
        "run": {"id": "r1", "started_at": "2026-12-02T15:50:00Z", "finished_at": "2026-12-02T16:10:00Z"},
        "site": {"school": {"name": "测试学校", "code": "T-1"}, **site},
        "checks": [{"id": "device.telnet_disabled", "severity": "high",
                    "title": {"zh": "网络设备已关闭 Telnet 管理", "en": "Telnet management is off"},
                    "remediation": {"zh": "关闭 Telnet。", "en": "Turn telnet off."}}],
        "findings": [
            {"id": "F0001", "check": "device.telnet_disabled", "target": "device/sw1", "status": "fail",
             "severity": "high", "message": "=HYPERLINK(\"http://x\") sw1: telnet on",
             "fix": ["undo telnet server enable"], "artifacts": ["evidence/devices/sw1/config.txt"],
             "measured": None, "threshold": None, "unit": None},
            {"id": "F0002", "check": "device.telnet_disabled", "target": "device/sw2", "status": "pass",
             "severity": "high", "message": "sw2: telnet off", "measured": -3.5, "threshold": 1,
             "unit": "x"},
        ],
        "indicators": [{"profile": "gbt22239-2019-level3", "indicator": "8.1.4.1.c", "status": "fail",
                        "findings": ["F0001", "F0002"], "path": ["安全计算环境", "身份鉴别"],
                        "title": "远程管理时防止鉴别信息被窃听"}],
        "profiles": [{"id": "gbt22239-2019-level3", "title": "GB/T 22239-2019 第三级"}],
        "topology": {"nodes": [{"id": "sw1", "name": "一号交换机", "address": "10.0.0.1"}], "links": []},
    }


def test_deadline_is_the_audit_date_plus_the_days_of_the_risk_level() -> None:
    old = _report()  # a bundle from before site.remediation: 30 / 90 / 180 days
    assert exports.audit_date(old) == date(2026, 12, 3), "16:10 UTC is past midnight in Beijing"
    assert exports.deadline(old, "high") == date(2027, 1, 2)
    assert exports.deadline(old, "low") == date(2027, 6, 1)
    # the audit clock's date in the school's zone wins over the UTC date of the run
    zoned = {**_report(remediation={"deadlines_days": {"high": 7, "medium": 60, "low": 120}}),
             "authorisation": {"clock": {"date": "2026-12-03"}}}
    assert exports.deadline(zoned, "high") == date(2026, 12, 10)
    assert exports.deadline(zoned, "medium") == date(2027, 2, 1)
    # nonsense in a report (a hand-made one) falls back to the defaults, never crashes
    odd = _report(remediation={"deadlines_days": {"high": -1, "medium": True, "low": "x"}})
    assert exports.deadlines_days(odd) == exports.DEFAULT_DEADLINES


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel and WPS read UTF-8"
    assert b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_findings_csv_one_language_with_fix_deadline_and_no_formula() -> None:
    report = _report()
    rows = _rows(CsvRenderer().render(report, RenderOptions(lang="zh")))
    head, failed, passed = rows
    assert head[:5] == ["编号", "检查项", "检查名称", "对象", "状态"]
    row = dict(zip(head, failed, strict=True))
    assert row["状态"] == "不通过" and row["风险等级"] == "高" and row["责任方"] == "网络管理员"
    assert row["整改期限"] == "2027-01-02" and row["整改命令"] == "undo telnet server enable"
    assert row["对象"] == "device/sw1 · 一号交换机 · 10.0.0.1"
    assert row["说明"].startswith("'="), "a formula is written as text"
    assert row["对应条款"] == "GB/T 22239 第三级 8.1.4.1.c"
    ok = dict(zip(head, passed, strict=True))
    assert ok["测量值"] == "-3.5" and ok["整改期限"] == "" and ok["风险等级"] == ""
    en = _rows(CsvRenderer().render(report, RenderOptions(lang="en")))
    assert en[0][:5] == ["ID", "Check", "Check title", "Target", "Status"]
    assert en[1][4] == "fail" and en[1][2] == "Telnet management is off"


def test_findings_csv_says_first_when_the_signer_is_not_trusted() -> None:
    data = CsvRenderer().render(_report(), RenderOptions(untrusted_signer="sha256:abcd"))
    first = _rows(data)[0]
    assert len(first) == 1 and "签名者不受信任" in first[0] and "sha256:abcd" in first[0]


def test_clean_text_drops_what_xml_cannot_hold() -> None:
    assert exports.clean("a\x00b\x1bc\td\ne") == "a\ufffdb\ufffdc\td\ne"
    assert len(exports.clean("x" * 40_000)) == exports.MAX_CELL
