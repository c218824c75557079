"""Loads pages in a real browser: Debian's chromium, driven headless by Playwright.

Playwright drives the system's ``/usr/bin/chromium`` (no browser is downloaded). A page is
loaded from disk; every request the browser makes and every console message or page error is
recorded, so tests can assert that a page made no outside request and logged no error.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@dataclass
class PageLoad:
    """What happened while a page loaded."""

    url: str
    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in {"error", "pageerror"}]

    def outside_requests(self, allowed_prefixes: tuple[str, ...]) -> list[str]:
        return [r for r in self.requests if not r.startswith(allowed_prefixes)]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed: run scripts/setup.sh")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed: run scripts/setup.sh")


@contextmanager
def browser() -> Iterator[Any]:
    """A headless chromium (Playwright ``Browser``)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        b = pw.chromium.launch(executable_path=exe, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def load(b: Any, url: str, screenshot: Path | None = None) -> tuple[PageLoad, Any]:
    """Open ``url`` in a new page of browser ``b``; return what happened and the page."""
    page = b.new_page(viewport={"width": 1280, "height": 1000})
    seen = PageLoad(url)
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: seen.console.append(("pageerror", str(e))))
    page.goto(url, wait_until="load")
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    return seen, page
