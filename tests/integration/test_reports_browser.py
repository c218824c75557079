"""The HTML report and the evidence index in a real browser (headless Debian chromium).

The pages are rendered from the recorded demo report next to copies of the evidence files they
link to, loaded from disk, and must make no request outside their own directory and log no
console error. An assessor's path is followed by clicks: from a GB/T requirement in the report
to its entry in the evidence index (one click), and from there to the raw evidence file (two).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.plugins import RenderOptions
from auditor.reports.html import EvidenceIndexRenderer, HtmlRenderer
from auditor.reports.view import anchor
from tests.support.browser import browser, load
from tests.support.paths import DATA as TEST_DATA

DEMO = TEST_DATA / "reports" / "demo-report.json"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    report = json.loads(DEMO.read_bytes())
    out = tmp_path_factory.mktemp("site")
    (out / "report.html").write_bytes(HtmlRenderer().render(report, RenderOptions()))
    (out / "evidence-index.html").write_bytes(EvidenceIndexRenderer().render(report, RenderOptions()))
    for art in report["artifacts"]:  # stand-ins at the linked paths (contents do not matter here)
        path = out / art["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"evidence {art['path']}\n", encoding="utf-8")
    return out, report


@pytest.mark.parametrize("name", ["report.html", "evidence-index.html"])
def test_page_loads_offline_without_errors(site: tuple[Path, dict[str, Any]], name: str,
                                           tmp_path: Path) -> None:
    out, report = site
    with browser() as b:
        seen, page = load(b, (out / name).as_uri(), screenshot=tmp_path / "first-screen.png")
        title = page.title()
        height = page.evaluate("document.body.scrollHeight")
    assert seen.errors == []
    assert seen.outside_requests((out.as_uri(),)) == []
    assert seen.requests == [(out / name).as_uri()], "a self-contained page loads nothing else"
    assert report["site"]["school"]["name"] in title
    assert height > 3000
    assert (tmp_path / "first-screen.png").stat().st_size > 10000


def test_two_clicks_from_a_verdict_to_its_raw_evidence(site: tuple[Path, dict[str, Any]]) -> None:
    out, report = site
    entry = next(e for e in report["evidence_index"]
                 if e["profile"].startswith("gbt22239") and e["status"] == "fail" and e["artifacts"])
    target = anchor(entry["profile"], entry["item"])
    with browser() as b:
        _seen, page = load(b, (out / "report.html").as_uri())
        page.locator(f'a[href="evidence-index.html#{target}"]').first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"evidence-index.html#{target}")
        box = page.locator(f"#{target}")
        assert entry["item"] in box.inner_text()
        evidence = entry["artifacts"][0]
        box.locator(f'a[href="{evidence}"]').first.click()
        page.wait_for_load_state("load")
        assert page.url == (out / evidence).as_uri()
        assert f"evidence {evidence}" in page.inner_text("body")
