"""Markdown rendering of a report, from a Jinja2 template."""

from __future__ import annotations

from typing import Any, ClassVar

from jinja2 import Environment, PackageLoader, StrictUndefined

from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports.html import _gloss
from auditor.reports.view import context


def _num(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


class MarkdownRenderer:
    """``report.md``: the same reading as the HTML page (what to fix first, the score split,
    GB/T verdicts, rolled-up findings with the device's own commands) in ``options.lang``."""

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
        env.filters["mid"] = lambda s: "n_" + "".join(c if c.isalnum() else "_" for c in str(s))
        env.globals["field"] = lambda obj, name, default=None: getattr(obj, name, default)
        env.globals["gloss_text"] = lambda text: str(_gloss(text, options.lang).striptags())
        ctx = context(report, options, drawn=False)
        return env.get_template("report.md.j2").render(**ctx).encode("utf-8")
