"""The monitoring timeline as people read it: the recorded demo report with a ``monitoring`` section
summarised from a real monitor store, rendered to HTML (zh and en, looked at in headless
Chromium), PDF and Markdown; an older report (the recorded one, schema 1.1) renders as before."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from auditor.inventory import Inventory
from auditor.monitor.report_summary import summarise
from auditor.monitor.store import Store
from auditor.plugins import RenderOptions
from auditor.reports.html import HtmlRenderer
from auditor.reports.i18n import labels
from auditor.reports.markdown import MarkdownRenderer
from auditor.reports.pdf import PdfRenderer
from auditor.wire.monitoring import Sample
from tests.support.browser import browser, load
from tests.support.paths import DATA as TEST_DATA
from tests.support.textruns import wrong_language_runs

DEMO = TEST_DATA / "reports" / "demo-report.json"
MAX_PDF_PAGES = 30  # as tests/integration/test_reports_reading.py
SCHOOL_ZONE = ZoneInfo("Asia/Shanghai")  # the demo's audit clock


def _inventory(report: dict[str, Any]) -> Inventory:
    return Inventory.model_validate({
        "school": {"name": report["site"]["school"]["name"], "code": report["site"]["school"]["code"]},
        "scope": {"allow": ["10.0.0.0/8"]},
        "uplink": {"id": "wan1", "endpoints": [{"id": "metro", "address": "10.1.0.2"}],
                   "contract": {"provider": "中国电信", "down_mbps": 500, "up_mbps": 100}},
        "monitoring": {"interval_min": 30, "dns_names": ["www.bjedu.cn"]},
    })


def _fill(directory: Path, report: dict[str, Any], end: datetime) -> None:
    """Three days of rounds every 30 minutes, an outage of an hour and a half a day before the
    audit, a test a day of each direction (the last downstream one below the contract), one refused."""
    samples: list[Sample] = []
    for k in range(1, 3 * 48 + 1):
        at = end - timedelta(minutes=30 * k)
        lost = 48 <= k < 51  # three rounds unanswered
        samples += [Sample(kind="heartbeat", at=at),
                    Sample(kind="reach", at=at, target="wan1/metro", uplink="wan1", method="icmp", sent=5,
                           received=0 if lost else 5, rtt_ms=None if lost else 2.5),
                    Sample(kind="dns", at=at, target="www.bjedu.cn", ok=True, resolve_ms=4.0)]
        if k % 48 == 20:
            samples += [
                Sample(kind="throughput", at=at, target="10.1.0.2:5201", uplink="wan1", direction="down",
                       mbps=432.5 if k < 48 else 495.0 + k / 10, bytes=300_000_000, valid=True),
                Sample(kind="throughput", at=at, target="10.1.0.2:5201", uplink="wan1", direction="up",
                       mbps=None, bytes=0, valid=False,
                       reason="refused: the month's budget has 0 of 50000000000 bytes left")
                if k > 100 else
                Sample(kind="throughput", at=at, target="10.1.0.2:5201", uplink="wan1", direction="up",
                       mbps=101.0, bytes=60_000_000, valid=True)]
    store = Store(directory)
    try:
        store.add(samples)
        store.make_batch(end, report["site"]["school"]["code"], "demo-agent", (), None)
    finally:
        store.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    demo = dict(json.loads(DEMO.read_bytes()))
    end = datetime.fromisoformat(demo["run"]["started_at"].replace("Z", "+00:00"))
    directory = tmp_path_factory.mktemp("monitor")
    _fill(directory, demo, end)
    return {**demo, "schema_version": "1.2", "monitoring": summarise(directory, _inventory(demo), end)}


@pytest.fixture(scope="module")
def pages(report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    paths = {}
    for lang in ("zh", "en"):
        paths[lang] = out / f"report-{lang}.html"
        paths[lang].write_bytes(HtmlRenderer().render(report, RenderOptions(lang=lang)))
    return paths


def _section(page: str) -> str:
    start = page.index('<section id="monitoring"')
    return page[start:page.index("</section>", start) + len("</section>")]


def test_the_summary_behind_the_pages(report: dict[str, Any]) -> None:
    m = report["monitoring"]
    assert m["status"] == "data" and m["totals"]["outages"] == 1
    assert m["uplinks"][0]["outages"][0]["minutes"] == 90.0
    assert [t["mbps"] for t in m["throughput"] if t["below_contract"]] == [432.5]
    assert sum(1 for t in m["throughput"] if not t["valid"]) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_html_has_the_section_with_its_figures(report: dict[str, Any], pages: dict[str, Path],
                                                    lang: str) -> None:
    page = pages[lang].read_text(encoding="utf-8")
    section = _section(page)
    lab = labels(lang)
    assert f"<h2>{lab['monitoring_title']}</h2>" in section
    assert f'<a href="#monitoring">{lab["monitoring_title"]}</a>' in page  # in the contents
    m = report["monitoring"]
    outage = m["uplinks"][0]["outages"][0]
    start = datetime.fromisoformat(outage["start"].replace("Z", "+00:00")).astimezone(SCHOOL_ZONE)
    assert f"{start:%Y-%m-%d %H:%M}" in section and "90.0 " + lab["mon_minutes"] in section
    assert "432.5 Mbit/s" in section and "86.5%" in section  # 432.5 of the contracted 500
    assert "refused: the month&#39;s budget has 0 of 50000000000 bytes left" in section
    assert f"{m['totals']['uptime_pct']:.1f}%" in section
    assert section.count("<svg") == 3  # the days, and each direction's tests against the contract
    assert wrong_language_runs(section, lang) == []
    other = labels("en" if lang == "zh" else "zh")["monitoring_title"]
    assert other not in page


def test_the_section_in_a_browser(pages: dict[str, Path], tmp_path: Path) -> None:
    with browser() as b:
        for lang in ("zh", "en"):
            seen, page = load(b, pages[lang].as_uri())
            section = page.locator("#monitoring")
            assert section.is_visible()
            box = page.locator("#monitoring svg.mon-days").bounding_box()
            assert box is not None and box["width"] > 300
            section.screenshot(path=str(tmp_path / f"monitoring-{lang}.png"))
            assert seen.errors == [] and seen.outside_requests((pages[lang].as_uri(),)) == []
    assert (tmp_path / "monitoring-zh.png").stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_pdf_has_it_and_stays_short(report: dict[str, Any], lang: str, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PdfRenderer().render(report, RenderOptions(lang=lang)))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert 1 < pages <= MAX_PDF_PAGES
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert labels(lang)["monitoring_title"] in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_md_has_a_short_paragraph(report: dict[str, Any], lang: str) -> None:
    md = MarkdownRenderer().render(report, RenderOptions(lang=lang)).decode()
    part = md[md.index(f"## {labels(lang)['monitoring_title']}"):]
    part = part[:part.index("\n## ", 3)]
    assert ("断网次数：1" if lang == "zh" else "outages: 1.") in part
    assert "`wan1`" in part and "90.0" in part and "monitor.sqlite" in part
    assert len(part.splitlines()) < 12


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_data_says_why(report: dict[str, Any], lang: str, tmp_path: Path) -> None:
    end = datetime.fromisoformat(report["run"]["started_at"].replace("Z", "+00:00"))
    none = {**report, "monitoring": summarise(tmp_path / "absent", _inventory(report), end)}
    section = _section(HtmlRenderer().render(none, RenderOptions(lang=lang)).decode())
    assert none["monitoring"]["text"][lang] in section and labels(lang)["mon_no_data"] in section
    assert "<svg" not in section and labels(lang)["mon_no_outage"] not in section
    md = MarkdownRenderer().render(none, RenderOptions(lang=lang)).decode()
    assert none["monitoring"]["text"][lang] in md


def test_a_report_from_before_the_timeline_renders_without_it() -> None:
    old = dict(json.loads(DEMO.read_bytes()))
    assert old["schema_version"] == "1.1" and "monitoring" not in old
    for lang in ("zh", "en"):
        page = HtmlRenderer().render(old, RenderOptions(lang=lang)).decode()
        assert 'id="monitoring"' not in page and labels(lang)["monitoring_title"] not in page
        md = MarkdownRenderer().render(old, RenderOptions(lang=lang)).decode()
        assert labels(lang)["monitoring_title"] not in md
