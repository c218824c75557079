"""Screenshot of a rendered page's first screen with headless Chromium (Debian's ``chromium``).

``python -m auditor.reports.screenshot PAGE.html OUT.png``: used by the demo so that a person
can look at the report without opening it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from auditor.reports import chromium


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1000) -> None:
    """Write a PNG of the first ``width`` x ``height`` pixels of ``page``."""
    chromium.run(page, [f"--window-size={width},{height}", f"--screenshot={out.resolve()}"], timeout=120)
    if not out.exists():
        raise chromium.ChromiumError(f"chromium wrote no screenshot for {page}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m auditor.reports.screenshot PAGE.html OUT.png", file=sys.stderr)
        return 2
    try:
        screenshot(Path(argv[0]), Path(argv[1]))
    except chromium.ChromiumError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 1
    print(f"screenshot of {argv[0]}: {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
