"""The report as its readers act on it: what to fix first on the first screen, one language per
page, a findings filter that works in a real browser (and a page that reads without it), and a
PDF short enough to print. Rendered from the recorded demo report."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auditor.plugins import RenderOptions
from auditor.reports.html import HtmlRenderer
from auditor.reports.pdf import PdfRenderer
from tests.support.browser import browser, load
from tests.support.paths import DATA as TEST_DATA
from tests.support.textruns import wrong_language_runs

DEMO = TEST_DATA / "reports" / "demo-report.json"
MAX_RUNS = 10  # text runs in the other language a page may have (the bound)
MAX_PDF_PAGES = 30


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_bytes()))


@pytest.fixture(scope="module")
def pages(report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reading")
    paths = {}
    for lang in ("zh", "en"):
        paths[lang] = out / f"report-{lang}.html"
        paths[lang].write_bytes(HtmlRenderer().render(report, RenderOptions(lang=lang)))
    return paths


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_first_screen_says_what_to_fix_first(pages: dict[str, Path], lang: str,
                                                  tmp_path: Path) -> None:
    with browser() as b:
        seen, page = load(b, pages[lang].as_uri(), screenshot=tmp_path / f"first-{lang}.png")
        viewport = page.viewport_size
        box = page.locator("#fix-first").bounding_box()
        links = page.locator('#fix-first a[href^="#issue-"]')
        first = links.first.bounding_box()
        target = links.first.get_attribute("href")
        assert target and page.locator(target).count() == 1
        count = links.count()
        links.first.click()
        assert page.evaluate("location.hash") == target
    assert seen.errors == []
    assert box is not None and first is not None and viewport is not None
    assert box["y"] < viewport["height"] and first["y"] + first["height"] < viewport["height"], \
        "the first thing to fix is on the first screen"
    assert count >= 1


def test_the_filter_narrows_the_findings_and_the_page_reads_without_it(pages: dict[str, Path]) -> None:
    with browser() as b:
        _seen, page = load(b, pages["en"].as_uri())
        cards = page.locator("article.finding")
        total = cards.count()
        assert page.locator("#filters").is_visible()
        page.select_option('select[data-filter="status"]', "error")
        visible = [c for c in cards.all() if c.is_visible()]
        assert 0 < len(visible) < total
        assert all(c.get_attribute("data-status") == "error" for c in visible)
        page.select_option('select[data-filter="status"]', "")
        page.fill("#finding-search", "telnet")
        hits = [c for c in cards.all() if c.is_visible()]
        assert 0 < len(hits) < total and all("telnet" in c.inner_text().lower() for c in hits)
        assert page.inner_text("#filter-count") == f"{len(hits)} / {total}"
        # without scripts: no filter bar, every finding shown
        ctx = b.new_context(java_script_enabled=False)
        bare = ctx.new_page()
        bare.goto(pages["en"].as_uri())
        assert not bare.locator("#filters").is_visible()
        assert sum(c.is_visible() for c in bare.locator("article.finding").all()) == total
        ctx.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_language_per_page(pages: dict[str, Path], lang: str) -> None:
    runs = wrong_language_runs(pages[lang].read_text(encoding="utf-8"), lang)
    assert len(runs) <= MAX_RUNS, runs


def test_the_pdf_is_short_enough_to_print(report: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils (pdfinfo) is not installed: run scripts/setup.sh")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PdfRenderer().render(report, RenderOptions()))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 1 < pages <= MAX_PDF_PAGES
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "请先整改" in text, "the first page says what to fix first"
