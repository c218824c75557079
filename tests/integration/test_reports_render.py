"""The human renderings (HTML report, evidence index, PDF) of a recorded real demo report.

``tests/data/reports/demo-report.json`` is the report.json of a real demo audit (README
command 1), kept as recorded. The PDF is read back with poppler's ``pdftotext``/``pdftoppm``.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from auditor.evidence_index import build_evidence_index
from auditor.plugins import RenderOptions
from auditor.reports import charts
from auditor.reports.html import EvidenceIndexRenderer, HtmlRenderer
from auditor.reports.i18n import labels
from auditor.reports.pdf import PdfRenderer
from auditor.reports.view import anchor
from tests.support.paths import DATA as TEST_DATA

DEMO = TEST_DATA / "reports" / "demo-report.json"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_bytes()))


class _Page(HTMLParser):
    """Collects ids, hrefs, srcs and the tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name == "href" and value:
                self.hrefs.append(value)
            elif name in {"src", "data", "xlink:href"} and value:
                self.srcs.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(data: bytes) -> _Page:
    page = _Page()
    page.feed(data.decode("utf-8"))
    return page


def test_recorded_report_is_current_schema(report: dict[str, Any]) -> None:
    assert report["schema_version"] == "1.1"
    assert all(f["id"] for f in report["findings"])
    assert report["evidence_index"] == build_evidence_index(report)


def test_html_is_self_contained_and_complete(report: dict[str, Any]) -> None:
    data = HtmlRenderer().render(report, RenderOptions())
    page = _parse(data)
    assert "link" not in page.tags and "img" not in page.tags
    # one inline script (the findings filter), nothing loaded: the page reads without it
    assert page.tags.count("script") == 1 and b"<script>" in data and b"<script src" not in data
    assert all(src.startswith("#") for src in page.srcs), "only in-page references (SVG <use>)"
    assert not [h for h in page.hrefs if re.match(r"^[a-z]+:", h)], "no absolute URL may appear"
    assert b"@import" not in data and not re.search(rb"url\((?!#)", data), "only in-page url(#...)"
    text = "".join(page.text)
    assert report["site"]["school"]["name"] in text
    assert report["signing"]["key_fingerprint"] in text
    # every section, in reading order
    order = [text.index(labels("zh")[k]) for k in
             ("score_title", "gbt_title", "findings_title", "bandwidth_title", "topology_title",
              "devices_title", "wifi_title", "appendix_title")]
    assert order == sorted(order)
    # every finding has an anchor; every artifact is listed with its SHA-256
    assert {f["id"] for f in report["findings"]} <= page.ids
    for art in report["artifacts"]:
        assert art["path"] in page.hrefs and art["sha256"] in text
    # three inline SVGs: the score chart, the bandwidth chart, the topology
    assert data.count(b"<svg") >= 3
    # each local link resolves: '#x' to an id of this page, evidence-index links to its ids
    index_ids = _parse(EvidenceIndexRenderer().render(report, RenderOptions())).ids
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, href
        elif href.startswith("evidence-index.html#"):
            assert href.split("#", 1)[1] in index_ids, href


def test_english_labels(report: dict[str, Any]) -> None:
    zh = HtmlRenderer().render(report, RenderOptions(lang="zh")).decode()
    en = HtmlRenderer().render(report, RenderOptions(lang="en")).decode()
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for key in ("findings_title", "appendix_title", "gbt_title", "still_needed"):
        assert labels("en")[key] in en and labels("en")[key] not in zh
        assert labels("zh")[key] in zh
    meta = report["checks"][0]
    assert meta["remediation"]["en"] in en or meta["id"] not in {
        f["check"] for f in report["findings"] if f["status"] != "pass"}


def test_rendering_is_deterministic(report: dict[str, Any]) -> None:
    assert HtmlRenderer().render(report, RenderOptions()) == HtmlRenderer().render(report, RenderOptions())


def test_evidence_index_follows_every_verdict_to_files(report: dict[str, Any]) -> None:
    data = EvidenceIndexRenderer().render(report, RenderOptions(bundle_href="../b/"))
    page = _parse(data)
    text = "".join(page.text)
    artifacts = {a["path"]: a for a in report["artifacts"]}
    for entry in report["evidence_index"]:
        assert anchor(entry["profile"], entry["item"]) in page.ids
        for path in entry["artifacts"]:
            assert "../b/" + path in page.hrefs
            assert artifacts[path]["sha256"] in text
    failed = [e for e in report["evidence_index"] if e["status"] == "fail"]
    assert failed and all(e["findings"] for e in failed), "a failed item must name its findings"
    for e in failed:
        for fid in e["findings"]:
            assert f"../b/report.html#{fid}" in page.hrefs


def test_bandwidth_rows_come_from_the_measurements(report: dict[str, Any]) -> None:
    rows = charts.bandwidth_rows(report, labels("zh"))
    facts = [f for f in report["facts"] if f["kind"] == "bandwidth.goodput" and f["status"] == "ok"]
    assert len(rows) == len(facts) > 0
    assert rows[0].label.startswith("uplink")
    for row in rows:
        assert row.low <= row.median <= row.high
        assert row.minimum == row.low  # the lowest run, the table's column
        # every run reported its retransmits; the sender's RTT only when the agent sent (no -R)
        assert isinstance(row.retransmits, int) and row.retransmits >= 0
        reverse = row.subject == "uplink/district/downstream" or (
            row.subject.startswith("classroom/") and row.subject.endswith("/upstream"))
        assert (row.rtt_ms is None) == reverse, row
        # the trend of the earlier runs the history held when this report was signed
        earlier = report["bandwidth_history"].get(row.subject, [])
        assert [m for _t, m in row.trend] == [e["median"] for e in earlier]
        assert (row.trend_svg is None) == (not earlier)
    assert {r.status for r in rows} >= {"pass", "fail"}
    later = {**report, "bandwidth_history": {rows[0].subject: [
        {"at": "2026-11-25T17:02:12Z", "median": rows[0].median * 0.9, "run_id": "earlier"}]}}
    first = charts.bandwidth_rows(later, labels("zh"))[0]
    assert first.trend == (("2026-11-25T17:02:12Z", rows[0].median * 0.9),)
    assert first.trend_svg is not None and first.trend_svg.startswith("<svg")


def test_charts_keep_text_and_survive_greyscale(report: dict[str, Any]) -> None:
    svg = charts.score_chart(report["scores"][0]["groups"], labels("zh"))
    assert "<text" in svg and "智能环境" in svg  # labels stay text (CJK from the page's font)
    assert "<pattern" in svg  # lost points are hatched, not only lighter
    # fills are greys only: no hue carries meaning
    for colour in re.findall(r"fill:\s*(#[0-9a-fA-F]{6})", svg):
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert r == g == b, colour


def test_topology_is_drawn(report: dict[str, Any]) -> None:
    svg = charts.topology_svg(report["topology"], labels("zh"))
    if shutil.which("dot") is None:
        pytest.skip("graphviz (dot) is not installed: run scripts/setup.sh")
    assert svg is not None and svg.startswith("<svg")
    text = html.unescape(svg)  # dot writes '-' as &#45;
    for node in report["topology"]["nodes"]:
        assert node["id"] in text and node["address"] in text
    for link in report["topology"]["links"]:
        assert link["a_port"] in text


@pytest.fixture(scope="module")
def pdf(report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed: run scripts/setup.sh")
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    out.write_bytes(PdfRenderer().render(report, RenderOptions()))
    return out


def test_pdf_text_has_the_chinese_school_name_score_and_failed_checks(
    pdf: Path, report: dict[str, Any]
) -> None:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert report["site"]["school"]["name"] in text
    total = report["scores"][0]
    assert f"{total['total']:g} / {total['possible']:g}" in text
    for check in {f["check"] for f in report["findings"] if f["status"] == "fail"}:
        assert check in text.replace("\n", ""), check
    fpr = report["signing"]["key_fingerprint"]
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout).group(1))  # type: ignore[union-attr]
    assert pages > 5
    assert text.count(fpr) >= pages, "the fingerprint is in every page's footer"
    assert f"1 / {pages}" in text and f"{pages} / {pages}" in text


def test_pdf_first_page_renders(pdf: Path, tmp_path: Path) -> None:
    done = subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "50", "-png", str(pdf),
                           str(tmp_path / "page")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    png = next(tmp_path.glob("page*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_a_schema_1_0_report_still_renders(report: dict[str, Any]) -> None:
    """Bundles signed before finding ids existed can be rendered again (``auditor report``)."""
    old = {**report, "schema_version": "1.0",
           "findings": [{k: v for k, v in f.items() if k != "id"} for f in report["findings"]],
           "indicators": [{k: v for k, v in i.items() if k != "findings"} for i in report["indicators"]]}
    del old["evidence_index"]
    page = _parse(HtmlRenderer().render(old, RenderOptions()))
    assert {f"F{n:04d}" for n in range(1, len(report["findings"]) + 1)} <= page.ids
    index = _parse(EvidenceIndexRenderer().render(old, RenderOptions()))
    failed = [e for e in report["evidence_index"] if e["status"] == "fail"]
    for e in failed:
        assert anchor(e["profile"], e["item"]) in index.ids
