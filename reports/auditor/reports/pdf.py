"""``report.pdf``: the HTML report printed to A4 by headless Chromium (Debian's ``chromium``).

Chromium's print-to-PDF rather than WeasyPrint: on the demo report (125 findings, 227 items,
69 evidence files, about 70 pages) WeasyPrint took 15-18 s and Chromium 4-6 s on the 2-core
test machine. Chromium (131 and later) lays out the stylesheet's ``@page`` margin boxes, so
every page footer carries the signing key's fingerprint and "page / pages"; the table of
contents is the PDF's document outline (bookmarks from the headings) plus the in-document
contents list, whose entries are links. It is the same engine the browser tests load the
HTML in. Chinese text needs a CJK font (``fonts-noto-cjk``, installed by scripts/setup.sh):
the renderer refuses to write a PDF whose Chinese would come out as empty boxes.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import chromium
from auditor.reports.html import render_page


def _has_cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=20,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


class PdfRenderer:
    """``report.pdf`` with page numbers, an outline and the key fingerprint on every page."""

    name: ClassVar[str] = "pdf"
    filename: ClassVar[str] = "report.pdf"
    media_type: ClassVar[str] = "application/pdf"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        if not _has_cjk_font():
            raise chromium.ChromiumError(
                "report.pdf: no Chinese font is installed (fc-list :lang=zh is empty); install "
                "fonts-noto-cjk (scripts/setup.sh does) or leave pdf out of --format")
        page = render_page("report.html.j2", report, options, printed=True)
        with tempfile.TemporaryDirectory(prefix="auditor-pdf-") as tmp:
            html, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
            html.write_bytes(page)
            chromium.run(html, ["--no-pdf-header-footer", "--generate-pdf-document-outline",
                                f"--print-to-pdf={pdf}"])
            if not pdf.exists() or pdf.read_bytes()[:5] != b"%PDF-":
                raise chromium.ChromiumError("report.pdf: chromium wrote no PDF")
            return pdf.read_bytes()
