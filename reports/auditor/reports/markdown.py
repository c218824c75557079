"""Markdown rendering of a report, from a Jinja2 template."""

from __future__ import annotations

from typing import Any, ClassVar

from jinja2 import Environment, PackageLoader, StrictUndefined

from auditor.model import JsonDict
from auditor.plugins import RenderOptions

STATUS_MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIPPED",
               "not_applicable": "N/A", "manual": "MANUAL", "waived": "WAIVED"}


def _num(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer:
    """``report.md``: summary, indicators, findings, evidence list."""

    name: ClassVar[str] = "markdown"
    filename: ClassVar[str] = "report.md"
    media_type: ClassVar[str] = "text/markdown"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        env = Environment(
            loader=PackageLoader("auditor.reports", "templates"),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 - Markdown output, not HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["num"] = _num
        env.filters["pts"] = lambda v: f"{v:g}"
        env.filters["cell"] = _cell
        env.filters["mark"] = lambda s: STATUS_MARK.get(s, s)
        env.filters["mid"] = lambda s: "n_" + "".join(c if c.isalnum() else "_" for c in str(s))
        return env.get_template("report.md.j2").render(
            r=report, untrusted=getattr(options, "untrusted_signer", "")).encode("utf-8")
