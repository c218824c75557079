"""report.xlsx, report.docx and findings.csv of the recorded demo report: opened again with openpyxl
and python-docx (sheets, 部分符合 verdicts, per-device commands, deadlines, one language), the same
bytes on every rendering, and LibreOffice headless converts both to PDF (a stand-in for WPS and
Microsoft Office, which schools use).

``tests/data/reports/demo-report.json`` is a real demo run whose failed device findings carry the
commands that fix them in the device's own syntax (``fix``, from the vendor modules).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest

from auditor.plugins import RenderOptions
from auditor.reports import exports
from auditor.reports.csvfile import CsvRenderer
from auditor.reports.office_labels import labels
from auditor.reports.word import DocxRenderer
from auditor.reports.xlsx import XlsxRenderer
from auditor.vendors import family
from tests.support.paths import DATA as TEST_DATA

DEMO = TEST_DATA / "reports" / "demo-report.json"
SHEETS_ZH = ["测评记录", "问题清单", "系统构成", "带宽"]
SHEETS_EN = ["Assessment record", "Issues", "System components", "Bandwidth"]
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DEMO.read_bytes())
    vendors = {f"device/{n['id']}": n["vendor"] for n in doc["topology"]["nodes"]}
    for f in doc["findings"]:  # the recorded commands are the vendor module's for that check
        vendor = vendors.get(f["target"])
        if f["status"] == "fail" and vendor in ("huawei", "h3c", "cisco", "ruijie"):
            assert f["fix"] == list(family(vendor).remediation.get(f["check"], ())), f["id"]
    return doc


@pytest.fixture(scope="module")
def telnet(report: dict[str, Any]) -> dict[str, Any]:
    """The H3C switch's telnet finding and the commands that fix it on Comware."""
    finding = next(f for f in report["findings"] if f["check"] == "device.telnet_disabled"
                   and f["target"] == "device/access-h3c")
    assert finding["status"] == "fail" and finding["fix"], finding
    return finding


@pytest.fixture(scope="module")
def xlsx_zh(report: dict[str, Any]) -> bytes:
    return XlsxRenderer().render(report, RenderOptions(lang="zh"))


@pytest.fixture(scope="module")
def docx_zh(report: dict[str, Any]) -> bytes:
    return DocxRenderer().render(report, RenderOptions(lang="zh"))


def _workbook(report: dict[str, Any], lang: str = "zh") -> Any:
    return openpyxl.load_workbook(io.BytesIO(XlsxRenderer().render(report, RenderOptions(lang=lang))))


def _rows(ws: Any) -> list[dict[str, Any]]:
    """A sheet's rows under its header row (row 2), by header."""
    values = list(ws.iter_rows(values_only=True))
    head = values[1]
    return [dict(zip(head, row, strict=True)) for row in values[2:]]


def test_workbook_sheets_verdicts_and_targets(report: dict[str, Any], xlsx_zh: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_zh))
    assert wb.sheetnames == SHEETS_ZH
    record = _rows(wb["测评记录"])
    expected = exports.items(report, "zh")
    assert len(record) == len(expected) > 90
    partly = [r for r in record if r["测评结论"] == "部分符合"]
    assert len(partly) == sum(1 for i in expected if i["verdict"] == "partly_met") > 0
    bandwidth_item = next(r for r in partly if r["条款"] == "8.1.2.1.b")
    assert "classroom/room103/downstream" in bandwidth_item["不通过的对象"]
    assert "classroom/room101/downstream" in bandwidth_item["通过的对象"]
    assert "evidence/iperf3/classroom-room103-downstream-run1.json" in bandwidth_item["证据文件"]
    assert {r["测评结论"] for r in record} <= {"符合", "部分符合", "不符合", "不适用", "未测", "待证明",
                                           "不符合（已豁免）"}
    assert wb["测评记录"]["A1"].value.startswith(report["site"]["school"]["name"])


def test_issues_have_risk_owner_deadline_and_the_devices_own_commands(
        report: dict[str, Any], xlsx_zh: bytes, telnet: dict[str, Any]) -> None:
    issues = _rows(openpyxl.load_workbook(io.BytesIO(xlsx_zh))["问题清单"])
    assert [r["序号"] for r in issues] == list(range(1, len(issues) + 1))
    audit = exports.audit_date(report)
    days = {"高": 30, "中": 90, "低": 180}  # the recorded report has no site.remediation: the defaults
    for row in issues:
        assert row["风险等级"] in days and row["责任方"] in {"网络管理员", "设备或服务供应商", "学校领导"}
        assert row["整改期限"].date() == audit + timedelta(days=days[row["风险等级"]])
    row = next(r for r in issues if "device/access-h3c" in r["涉及对象"] and r["编号"] and
               telnet["fix"][0] in (r["整改命令（按设备）"] or ""))
    assert row["风险等级"] == "高" and row["状态"] == "不通过"
    commands = row["整改命令（按设备）"]
    assert commands.startswith("device/access-h3c")
    assert "\n".join(telnet["fix"]) in commands, "the device's commands, in its own syntax, in order"
    # every device that failed a check with a known fix has its commands in the problem list
    listed = "\n".join(r["整改命令（按设备）"] or "" for r in issues)
    for f in report["findings"]:
        if f.get("fix"):
            assert f["target"] in listed and f["fix"][0] in listed, f["id"]


def test_components_and_bandwidth(report: dict[str, Any], xlsx_zh: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_zh))
    parts = _rows(wb["系统构成"])
    by_kind: dict[str, set[str]] = {}
    for row in parts:
        by_kind.setdefault(row["类别"], set()).add(row["编号"])
    assert by_kind["网络设备"] == {n["id"] for n in report["topology"]["nodes"]}
    assert {"room101", "room102", "room103"} <= by_kind["教室"]
    assert "web" in by_kind["服务器"] and "district" in by_kind["出口链路"]
    assert len(by_kind["设备间链路（LLDP）"]) == len(report["topology"]["links"]) == 3
    rows = _rows(wb["带宽"])
    room103 = [r for r in rows if r["链路"].startswith("room103")]
    assert {r["方向"] for r in room103} == {"下行", "上行"}
    assert all(r["结论"] == "不通过" and r["中位数（Mbit/s）"] < r["阈值（Mbit/s）"] for r in room103)
    assert any(r["链路类型"] == "出口" and r["结论"] == "通过" for r in rows)


def test_components_of_a_new_report_come_from_the_inventory(report: dict[str, Any]) -> None:
    newer = {**report, "site": {**report["site"], "components": {
        "servers": [{"id": "web", "name": "学校网站", "address": "10.200.20.2", "zone": "dmz"}],
        "classrooms": [{"id": "room101", "name": "教学楼 101", "building": "教学楼", "rate_mbps": 100,
                        "endpoint": "10.200.11.2",
                        "access_port": {"device": "access-sw", "port": "Ethernet0/0/1"}}],
        "uplink": {"rate_mbps": 1000, "provider": "教育城域网", "medium": "fibre", "port": None,
                   "endpoints": [{"id": "district", "name": "区教委", "address": "10.200.0.2"}]},
        "firewalls": [], "backups": [], "wifi_areas": []}}}
    rows = _rows(_workbook(newer)["系统构成"])
    room = next(r for r in rows if r["编号"] == "room101")
    assert room["名称"] == "教学楼 101" and "access-sw Ethernet0/0/1" in room["位置或连接"]
    assert next(r for r in rows if r["编号"] == "web")["角色或区域"] == "区域 dmz"
    assert "教育城域网" in next(r for r in rows if r["编号"] == "district")["说明"]
    assert "room102" not in {r["编号"] for r in rows}, "the inventory, not the plan, when the report has it"


def test_english_workbook_is_english_throughout(report: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(XlsxRenderer().render(report, RenderOptions(lang="en"))))
    assert wb.sheetnames == SHEETS_EN
    for ws in wb.worksheets:
        headers = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
        assert not any(CJK.search(str(h)) for h in headers), (ws.title, headers)
    record = _rows(wb["Assessment record"])
    assert any(r["Assessor's verdict"] == "partly met" for r in record)
    issues = _rows(wb["Issues"])
    assert {r["Risk"] for r in issues} <= {"high", "medium", "low"}
    assert {r["Responsible"] for r in issues} <= {"network administrator", "vendor or provider",
                                                  "school leadership"}


def test_deadlines_follow_the_inventory(report: dict[str, Any]) -> None:
    tight = {**report, "site": {**report["site"],
                                "remediation": {"deadlines_days": {"high": 7, "medium": 14, "low": 28}}}}
    audit = exports.audit_date(report)
    for row in _rows(_workbook(tight)["问题清单"]):
        days = {"高": 7, "中": 14, "低": 28}[row["风险等级"]]
        assert row["整改期限"].date() == audit + timedelta(days=days)


def _docx_text(data: bytes) -> tuple[Any, str]:
    doc = docx.Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return doc, "\n".join(parts)


def test_document_cover_summary_issues_and_dimensions(report: dict[str, Any], docx_zh: bytes,
                                                       telnet: dict[str, Any]) -> None:
    doc, text = _docx_text(docx_zh)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings == ["请先整改", "摘要", "问题清单", "整改措施", "分项结果"]  # what to fix first, first
    assert report["site"]["school"]["name"] in text and report["signing"]["key_fingerprint"] in text
    issues = next(t for t in doc.tables if len(t.columns) == 6)
    assert [c.text for c in issues.rows[0].cells] == ["序号", "问题", "风险等级", "涉及对象", "责任方",
                                                       "整改期限"]
    assert len(issues.rows) - 1 == len(exports.issues(report, "zh", labels("zh")))
    assert "部分符合" in text and "GB/T 22239" in text
    # the H3C switch's commands, in its own syntax, one paragraph per line
    code = [p.text for p in doc.paragraphs if p.style.name == "Auditor Code"]
    start = code.index(telnet["fix"][0])
    assert code[start:start + len(telnet["fix"])] == telnet["fix"]
    assert doc.core_properties.created == exports.run_time(report).replace(microsecond=0)


def test_english_document_is_english(report: dict[str, Any]) -> None:
    doc, text = _docx_text(DocxRenderer().render(report, RenderOptions(lang="en")))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 1")]
    assert headings == ["Fix these first", "Summary", "Issues", "How to fix each issue",
                        "Results by dimension"]
    assert "partly met" in text and "部分符合" not in text and "风险等级" not in text


def test_untrusted_signer_is_said_first(report: dict[str, Any]) -> None:
    options = RenderOptions(untrusted_signer="sha256:0123abcd")
    wb = openpyxl.load_workbook(io.BytesIO(XlsxRenderer().render(report, options)))
    for ws in wb.worksheets:
        assert "签名者不受信任" in ws["A1"].value and "sha256:0123abcd" in ws["A1"].value
    doc = docx.Document(io.BytesIO(DocxRenderer().render(report, options)))
    first = next(p.text for p in doc.paragraphs if p.text)
    assert first.startswith("签名者不受信任") and "sha256:0123abcd" in first


def test_same_report_same_bytes_dated_by_the_run(report: dict[str, Any], xlsx_zh: bytes,
                                                 docx_zh: bytes) -> None:
    assert XlsxRenderer().render(report, RenderOptions(lang="zh")) == xlsx_zh
    assert DocxRenderer().render(report, RenderOptions(lang="zh")) == docx_zh
    csv_zh = CsvRenderer().render(report, RenderOptions(lang="zh"))
    assert CsvRenderer().render(report, RenderOptions(lang="zh")) == csv_zh
    t = exports.run_time(report).timetuple()
    when = (*t[:5], t[5] - t[5] % 2)  # a zip entry's time has two-second steps
    for data in (xlsx_zh, docx_zh):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            assert {i.date_time for i in z.infolist()} == {when}
            core = z.read("docProps/core.xml").decode()
            assert report["run"]["finished_at"] in core, core


def test_findings_csv_lists_every_finding(report: dict[str, Any], telnet: dict[str, Any]) -> None:
    data = CsvRenderer().render(report, RenderOptions(lang="zh"))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r["编号"] for r in rows] == [f["id"] for f in report["findings"]]
    row = next(r for r in rows if r["编号"] == telnet["id"])
    assert row["整改命令"] == "\n".join(telnet["fix"]) and row["风险等级"] == "高"
    assert row["整改期限"] == (exports.audit_date(report) + timedelta(days=30)).isoformat()


def _soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        pytest.skip("LibreOffice (soffice) is not installed: run scripts/setup.sh")
    return found


def test_libreoffice_converts_both_to_pdf(xlsx_zh: bytes, docx_zh: bytes, report: dict[str, Any],
                                          tmp_path: Path) -> None:
    """One headless conversion of both files, with a private profile and a time limit."""
    soffice = _soffice()
    files = {"workbook.xlsx": xlsx_zh, "document.docx": docx_zh}  # two names: one PDF each
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "pdf"
    proc = subprocess.Popen(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(out), *(str(tmp_path / n) for n in files)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "HOME": str(tmp_path)})
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("LibreOffice did not convert the files within 180 s")
    assert proc.returncode == 0, stdout + stderr
    school = report["site"]["school"]["name"]
    for stem, headings in (("workbook", ("测评记录", "问题清单", "系统构成", "带宽", "部分符合")),
                           ("document", ("校园网络安全审计报告", "摘要", "问题清单", "整改措施",
                                         "部分符合"))):
        pdf = out / f"{stem}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-", f"{stem}: no PDF ({stdout} {stderr})"
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                              text=True, check=True, timeout=60).stdout
        for heading in (school, *headings):
            assert heading in text, (stem, heading)
        assert "undo telnet server enable" in text, stem
