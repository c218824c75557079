"""The HTML report (``report.html``) and the assessor's evidence index (``evidence-index.html``).

Both are single self-contained files: CSS inline, charts as inline SVG, no scripts, no fonts
or images fetched from anywhere, so they open offline on a school PC. Labels follow
``RenderOptions.lang`` (Chinese by default, English with ``en``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter
from typing import Any, ClassVar

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports.view import anchor, context, finding_text


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 or value != int(value) else f"{value:g}"
    return str(value)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _wbr(path: Any) -> Markup:
    """A path that may break only after its separators (``/``, ``-``, ``_``, ``.``)."""
    parts = re.split(r"(?<=[/_.-])", str(path))
    return Markup("<wbr>").join(escape(p) for p in parts)


_GLOSS = re.compile(r"^(?P<zh>.*[\u3400-\u9fff].*?)\s*(?:\((?P<en>[^()\u3400-\u9fff]+)\)|"
                    r"\s/\s(?P<en2>[^\u3400-\u9fff]+))\s*$", re.S)


def _gloss(text: Any, lang: str) -> Markup:
    """An official Chinese text that a profile glosses in English (``中文 (gloss)`` or ``中文 / gloss``):
    in a zh page the Chinese alone; in an en page the gloss, with the Chinese quoted (``lang="zh"``)."""
    m = _GLOSS.match(str(text))
    if m is None:
        if lang != "zh" and _CJK.search(str(text)):
            return Markup('<span lang="zh">%s</span>') % str(text)
        return Markup("%s") % str(text)
    if lang == "zh":
        return Markup("%s") % m["zh"]
    return Markup('%s (<span lang="zh">%s</span>)') % (m["en"] or m["en2"], m["zh"])


_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]"
                      r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef0-9 ]*")


def _mark_zh(text: str, lang: str) -> Markup:
    """Text for a page in ``lang``: in a page that is not Chinese, the Chinese it quotes (a room's
    or a person's name) marked ``lang="zh"``, as HTML expects."""
    if lang == "zh" or not _CJK.search(text):
        return Markup("%s") % text
    out, last = [], 0
    for m in _CJK_RUN.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup('<span lang="zh">%s</span>') % m.group(0).rstrip())
        out.append(escape(m.group(0)[len(m.group(0).rstrip()):]))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _css_string(value: Any) -> Markup:
    """A CSS string literal (for @page content): JSON escaping with '<' hidden from HTML."""
    text = json.dumps(str(value), ensure_ascii=False).replace("<", "\\3c ")
    return Markup(text)  # noqa: S704 - JSON-escaped, '<' removed


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.reports", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pts"] = lambda v: f"{v:g}"
    env.filters["cls"] = lambda s: str(s).replace(" ", "_").replace("(", "").replace(")", "")
    env.filters["basename"] = posixpath.basename
    env.filters["css"] = _css_string
    env.filters["has_cjk"] = lambda s: bool(_CJK.search(str(s)))
    env.filters["wbr"] = _wbr
    env.filters["extract"] = lambda key, mapping: mapping[key]
    env.filters["counts"] = lambda values: sorted(Counter(values).items())
    env.globals["anchor"] = anchor
    env.globals["gloss"] = _gloss
    env.globals["field"] = lambda obj, name, default=None: getattr(obj, name, default)
    return env


def render_page(template: str, report: JsonDict, options: RenderOptions, printed: bool = False) -> bytes:
    """Render a page. ``printed``: for the PDF, where links to bundle files (relative to a
    temporary file) would be dead, so they are shown as text; in-page links stay."""
    ctx = context(report, options, drawn=template == "report.html.j2")
    ctx["text_of"] = lambda f: _mark_zh(finding_text(f, options.lang), options.lang)
    page = environment().get_template(template).render(**ctx, printed=printed)
    return page.encode("utf-8")


class HtmlRenderer:
    """``report.html``: cover, scores, GB/T view, findings, bandwidth, topology, devices, Wi-Fi."""

    name: ClassVar[str] = "html"
    filename: ClassVar[str] = "report.html"
    media_type: ClassVar[str] = "text/html"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        return render_page("report.html.j2", report, options)


class EvidenceIndexRenderer:
    """``evidence-index.html``: every control point → verdict → checks → files and lines."""

    name: ClassVar[str] = "evidence-index"
    filename: ClassVar[str] = "evidence-index.html"
    media_type: ClassVar[str] = "text/html"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        return render_page("evidence-index.html.j2", report, options)
