"""``report.docx``: the report as a Word document (python-docx), for the forms schools hand on.

(The module is ``word``, not ``docx``, so it never stands in for the ``docx`` package.)

In reading order, in the report's language (:mod:`auditor.reports.office_labels`):

* **Cover**: the "signer not trusted" warning when the verifier does not trust the signer; the
  title, the school, and a table of code, district, audit time, agent, run id, frameworks,
  signing key fingerprints and the authorisation to audit.
* **Summary**: the overall result, the check results, the assessor's verdicts per GB/T 22239
  profile (符合 / 部分符合 / 不符合 / 未测 / 待证明), the Beijing score with where the missing
  points went, the issues by risk level and the deadline rule.
* **问题清单 / Issues**: one row per rolled-up issue, in the order to fix them: issue, risk
  level (高 / 中 / 低), targets, responsible party, deadline.
* **整改措施 / How to fix each issue**: per issue the findings, the remediation, the commands
  that fix it on each device in that device's own syntax, and the clauses it counts against.
* **分项结果 / Results by dimension**: per Beijing dimension its points (earned, lost and why);
  per GB/T 22239 layer its requirements with the assessor's verdict and the targets that failed
  or could not be measured.

A4 portrait, Chinese text in 宋体 (headings 黑体; readers without them substitute a CJK font),
page numbers in the footer. The bytes depend only on the report: the core properties are dated
the run's end, and so is every zip entry (:func:`auditor.reports.exports.stable_zip`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.evidence_index import upgrade_report
from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import exports, view
from auditor.reports.exports import ExportError, clean
from auditor.reports.office_labels import labels

if TYPE_CHECKING:
    from docx.document import Document as DocumentObject
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

_FONTS = {"zh": ("宋体", "黑体"), "en": ("Calibri", "Calibri")}  # (body, headings), East Asian script
_LATIN = "Calibri"
_MONO = "Consolas"
_RISK_FILLS = {"high": "F8D7DA", "medium": "FFF3CD", "low": "E2EFDA"}
_VERDICT_FILLS = {"met": "E2EFDA", "partly_met": "FFF3CD", "not_met": "F8D7DA", "waived": "F8D7DA"}
_HEADER_FILL = "DDE4EE"
# style ids (a paragraph takes the id directly: looking a style up by name scans every style)
_CODE, _SMALL, _BULLET = "AuditorCode", "AuditorTable", "ListBullet"


class DocxRenderer:
    """``report.docx``: cover, summary, 问题清单, 整改措施 and results by dimension."""

    name: ClassVar[str] = "docx"
    filename: ClassVar[str] = "report.docx"
    media_type: ClassVar[str] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        try:
            import docx
        except ImportError as exc:
            raise ExportError(f"report.docx: python-docx is not installed ({exc}); reinstall "
                              "campus-auditor or leave docx out of --format") from None
        try:
            doc = docx.Document()
            _Writer(doc, report, options).build()
            buf = io.BytesIO()
            doc.save(buf)
            return exports.stable_zip(buf.getvalue(), exports.run_time(report))
        except ExportError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise ExportError(f"report.docx could not be rendered from this report: "
                              f"{type(exc).__name__}: {exc}") from None


class _Writer:
    def __init__(self, doc: DocumentObject, report: JsonDict, options: RenderOptions) -> None:
        self.doc = doc
        self.report = upgrade_report(report)
        self.lang = options.lang
        self.L = labels(options.lang)
        self.untrusted = options.untrusted_signer

    def build(self) -> None:
        self._setup()
        self._cover()
        issues = exports.issues(self.report, self.lang, self.L)
        self._summary(issues)
        self._issues(issues)
        self._fixes(issues)
        self._dimensions()

    # -- page, styles, properties -------------------------------------------------------------

    def _setup(self) -> None:
        from docx.enum.style import WD_STYLE_TYPE
        from docx.shared import Mm, Pt, RGBColor

        body, heading = _FONTS.get(self.lang, _FONTS["en"])
        for section in self.doc.sections:
            section.page_width, section.page_height = Mm(210), Mm(297)
            section.left_margin = section.right_margin = Mm(20)
            section.top_margin = section.bottom_margin = Mm(20)
        styles = self.doc.styles
        normal = styles["Normal"]
        _set_font(normal.element, _LATIN, body)
        normal.font.size = Pt(10.5)  # 五号
        for name, size in (("Title", 24), ("Heading 1", 16), ("Heading 2", 13), ("Heading 3", 11.5)):
            style = styles[name]
            _set_font(style.element, _LATIN, heading)
            style.font.size = Pt(size)
            style.font.color.rgb = RGBColor(0x1F, 0x3A, 0x5F)
        code = styles.add_style("Auditor Code", WD_STYLE_TYPE.PARAGRAPH)
        code.base_style = normal
        _set_font(code.element, _MONO, body)
        code.font.size = Pt(9)
        code.paragraph_format.space_after = Pt(0)
        code.paragraph_format.left_indent = Mm(5)
        small = styles.add_style("Auditor Table", WD_STYLE_TYPE.PARAGRAPH)
        small.base_style = normal
        small.font.size = Pt(9)
        small.paragraph_format.space_after = Pt(0)
        props = self.doc.core_properties
        when = exports.run_time(self.report)
        school = exports.school(self.report)
        props.author = props.last_modified_by = "campus-auditor"
        props.title = clean(f"{school.get('name', '')} {self.L['title']}", 250)
        props.subject = clean(self.L["x.subtitle"], 250)
        props.keywords = props.comments = props.category = ""
        props.language = "zh-CN" if self.lang == "zh" else "en"
        props.created = props.modified = props.last_printed = when
        props.revision = 1
        self._footer(f"{school.get('name', '')} · {self.L['title']}")

    def _footer(self, text: str) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        para = self.doc.sections[0].footer.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = para.add_run(clean(text, 200) + "    ")
        run.font.size = Pt(8)
        _field(para, "PAGE")
        para.add_run(" / ").font.size = Pt(8)
        _field(para, "NUMPAGES")

    # -- building blocks -----------------------------------------------------------------------

    def _para(self, text: str = "", style: str | None = None, bold: bool = False) -> Paragraph:
        para = self.doc.add_paragraph()
        if style:
            para._p.style = style
        if text:
            para.add_run(clean(text)).bold = bold
        return para

    def _heading(self, text: str, level: int) -> None:
        self.doc.add_heading(clean(text, 500), level)

    def _table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths_mm: Sequence[float],
               fills: Sequence[str | None] = (), fill_column: int | None = None) -> None:
        from docx.shared import Mm

        table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        for column, width in zip(table.columns, widths_mm, strict=True):
            column.width = Mm(width)  # the grid: LibreOffice lays tables out by it
        head = table.rows[0]
        _repeat_header(head)
        for cell, text, width in zip(head.cells, headers, widths_mm, strict=True):
            cell.width = Mm(width)
            _cell_text(cell, text, bold=True)
            _shade(cell, _HEADER_FILL)
        for n, row in enumerate(rows):
            cells = table.add_row().cells
            fill = fills[n] if n < len(fills) else None
            for k, (cell, text, width) in enumerate(zip(cells, row, widths_mm, strict=True)):
                cell.width = Mm(width)
                _cell_text(cell, text)
                if fill and k == fill_column:
                    _shade(cell, fill)
        self.doc.add_paragraph()

    def _facts(self, rows: Sequence[tuple[str, str]]) -> None:
        from docx.shared import Mm

        table = self.doc.add_table(rows=0, cols=2)
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        table.columns[0].width, table.columns[1].width = Mm(45), Mm(125)
        for key, value in rows:
            cells = table.add_row().cells
            cells[0].width, cells[1].width = Mm(45), Mm(125)
            _cell_text(cells[0], key, bold=True)
            _shade(cells[0], _HEADER_FILL)
            _cell_text(cells[1], value)
        self.doc.add_paragraph()

    # -- the parts -----------------------------------------------------------------------------

    def _cover(self) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
        from docx.shared import Pt, RGBColor

        L, r = self.L, self.report
        if self.untrusted:
            para = self._para()
            run = para.add_run(clean(exports.untrusted_text(self.untrusted, L)))
            run.bold = True
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
        for _ in range(3):
            self.doc.add_paragraph()
        title = self.doc.add_heading(L["title"], 0)
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        sub = self._para(L["x.subtitle"])
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
        school = exports.school(r)
        name = self._para()
        name.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = name.add_run(clean(str(school.get("name", ""))))
        run.bold = True
        run.font.size = Pt(18)
        self.doc.add_paragraph()
        run_info = r.get("run") or {}
        agent = run_info.get("agent") or {}
        signing = r.get("signing") or {}
        rows = [(L["school"], str(school.get("name") or "")), (L["code"], str(school.get("code") or "")),
                (L["district"], str(school.get("district") or "")), (L["x.period"], exports.period(r)),
                (L["x.audit_date"], exports.audit_date(r).isoformat()),
                (L["agent"], f"{agent.get('hostname', '')} · campus-auditor {agent.get('version', '')}"),
                (L["run_id"], str(run_info.get("id") or "")),
                (L["profiles"], "\n".join(f"{p.get('title', p.get('id'))}" for p in r.get("profiles", []))),
                (L["signing_key"], str(signing.get("key_fingerprint") or ""))]
        sm2 = (signing.get("sm2") or {}).get("key_fingerprint")
        if sm2:
            rows.append((L["sm2_key"], str(sm2)))
        auth = r.get("authorisation")
        if isinstance(auth, dict) and auth.get("authorised_by"):
            rows.append((L["authorisation"], L["x.sep"].join([
                f"{auth.get('authorised_by')} {L['x.paren'].format(auth.get('role', ''))}",
                str(auth.get("reference", "")),
                f"{L['auth.valid']} {auth.get('valid_from', '')} – {auth.get('valid_until', '')}"])))
        self._facts(rows)
        self._para(f"{L['x.unsigned_note']} {L['verify_hint']}", style=_SMALL)
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def _summary(self, issues: Sequence[exports.Issue]) -> None:
        L, r = self.L, self.report
        self._fix_first(issues)
        self._heading(L["x.summary"], 1)
        overall = L["verdict_all_pass"] if (r.get("summary") or {}).get("exit_status") == 0 \
            else L["verdict_some_fail"]
        rows = [(L["x.summary_verdict"], overall), (L["x.finding_counts"], exports.finding_counts(r, L))]
        items = exports.items(r, self.lang)
        titles = {p["id"]: p.get("title", p["id"]) for p in r.get("profiles", [])}
        for profile in dict.fromkeys(i["profile"] for i in items if str(i["profile"]).startswith("gbt22239")):
            rows.append((f"{L['x.av_counts']} · {exports.profile_short(profile, L)}",
                         exports.item_counts([i for i in items if i["profile"] == profile], L)))
        for sc in r.get("scores", []):
            text = f"{L['score_total']} {sc.get('total', 0):g} / {sc.get('possible', 0):g}"
            split = [f"{L['x.' + k]} {sc[k]:g}" for k in ("lost_measured", "pending_attestation",
                                                           "not_measured", "attainable")
                     if isinstance(sc.get(k), int | float)]
            if split:
                text += L["x.paren"].format(L["x.sep"].join(split))
            rows.append((f"{L['x.score']} · {titles.get(sc.get('profile'), sc.get('profile'))}"
                         if len(r.get("scores", [])) > 1 else L["x.score"], text))
        risks = {k: sum(1 for i in issues if i.risk == k) for k in exports.RISKS}
        rows.append((L["x.issue_counts"], L["x.sep"].join(f"{L['risk.' + k]} {n}" for k, n in risks.items())))
        rows.append((L["x.deadline_rule"], L["x.deadline_rule_text"].format(**exports.deadlines_days(r))))
        self._facts(rows)

    def _fix_first(self, issues: Sequence[exports.Issue]) -> None:
        """The first section, as the HTML's first screen: the handful of issues to fix first, each
        with who fixes it, the kind of fix and what is at stake."""
        L = self.L
        self._heading(L["fix_first_title"], 1)
        if not issues:
            self._para(L["nothing_to_fix"])
            return
        for i in issues[:view.FIX_FIRST]:
            parts = [L[f"risk.{i.risk}"], L["on_targets"] % len(i.targets), L[f"effort.{i.effort}"],
                     f"{L['who_fixes']}{L['colon']}{exports.owner_label(i.owner, L)}",
                     f"{L['x.deadline']} {i.deadline.isoformat()}"]
            if i.points:
                parts.insert(2, f"{L['points_at_stake']} {i.points:g}")
            para = self._para(style="List Number")
            para.add_run(clean(i.title)).bold = True
            para.add_run(clean(L["colon"] + L["list_sep"].join(parts)))

    def _issues(self, issues: Sequence[exports.Issue]) -> None:
        L = self.L
        self._heading(L["x.issues_title"], 1)
        if not issues:
            self._para(L["x.issues_none"])
            return
        self._para(L["x.issues_intro"])
        rows = [[str(i.no), i.title, L[f"risk.{i.risk}"], "\n".join(i.targets),
                 exports.owner_label(i.owner, L), i.deadline.isoformat()] for i in issues]
        self._table([L["x.no"], L["x.issue"], L["x.risk"], L["x.targets"], L["x.owner"], L["x.deadline"]],
                    rows, (12, 44, 18, 46, 22, 24), [_RISK_FILLS.get(i.risk) for i in issues], fill_column=2)

    def _fixes(self, issues: Sequence[exports.Issue]) -> None:
        L = self.L
        if not issues:
            return
        self._heading(L["x.fixes_title"], 1)
        for i in issues:
            self._heading(f"{i.no}. {i.title}", 2)
            c = L["x.colon"]
            self._para(L["x.gap"].join([
                f"{L['x.risk']}{c}{L['risk.' + i.risk]}",
                f"{L['x.owner']}{c}{exports.owner_label(i.owner, L)}",
                f"{L['x.deadline']}{c}{i.deadline.isoformat()}",
                f"{L['x.effort']}{c}{exports.effort_label(i.effort, L)}",
                f"{L['status']}{c}{L.get(i.status, i.status)}"]))
            self._para(L["x.issue_text"], bold=True)
            for text in i.texts:
                self._para(text, style=_BULLET)
            if i.remediation:
                self._para(L["x.remediation"], bold=True)
                self._para(i.remediation)
            if i.fixes:
                self._para(L["x.per_device"], bold=True)
                for fx in i.fixes:
                    self._para(fx.label, style=_SMALL, bold=True)
                    for command in fx.commands:
                        self._para(command, style=_CODE)
                    self._para(style=_SMALL)
            if i.clauses:
                self._para(L["x.clauses"], bold=True)
                for clause in i.clauses:
                    self._para(clause, style=_BULLET)

    def _dimensions(self) -> None:
        L, r = self.L, self.report
        self._heading(L["x.dimensions_title"], 1)
        titles = {p["id"]: p.get("title", p["id"]) for p in r.get("profiles", [])}
        for sc in r.get("scores", []):
            self._heading(f"{titles.get(sc.get('profile'), sc.get('profile'))} · {L['score_total']} "
                          f"{sc.get('total', 0):g} / {sc.get('possible', 0):g}", 2)
            for group in sc.get("groups", []):
                self._heading(f"{group.get('number') or ''}{group.get('title', '')} · " +
                              L["x.dim_score"].format(earned=f"{group.get('earned', 0):g}",
                                                      points=f"{group.get('points', 0):g}"), 3)
                split = [f"{L['x.' + k]} {group[k]:g}" for k in ("lost_measured", "pending_attestation",
                                                                  "not_measured", "attainable")
                         if isinstance(group.get(k), int | float)]
                if split:
                    self._para(L["x.sep"].join(split))
                rows = []
                for sub in group.get("groups", []) or [group]:
                    reasons = "\n".join(
                        f"{x.get('number') or x.get('item')} {L.get(x.get('status'), x.get('status'))}"
                        f"{L['x.colon']}{x.get('reason', '')}" for x in sub.get("lost_by", []))
                    rows.append([str(sub.get("title", "")), f"{sub.get('points', 0):g}",
                                 f"{sub.get('earned', 0):g}", f"{sub.get('lost', 0):g}",
                                 reasons or L["x.none_failed"]])
                self._table([L["x.indicator"], L["points"], L["earned"], L["lost"], L["lost_by"]], rows,
                            (34, 14, 14, 14, 94))
        items = exports.items(r, self.lang)
        for profile in dict.fromkeys(i["profile"] for i in items if str(i["profile"]).startswith("gbt22239")):
            mine = [i for i in items if i["profile"] == profile]
            self._heading(str(titles.get(profile, profile)), 2)
            for layer in dict.fromkeys(i["path"][0] if i["path"] else "" for i in mine):
                rows_of = [i for i in mine if (i["path"][0] if i["path"] else "") == layer]
                self._heading(layer or profile, 3)
                self._para(L["x.item_counts"].format(n=len(rows_of), counts=exports.item_counts(rows_of, L)))
                rows = []
                for i in rows_of:
                    by = exports.targets_by_outcome(i)
                    parts = [f"{L['x.targets.' + k]}{L['x.colon']}" + L["x.list_sep"].join(by[k])
                             for k in ("fail", "unmeasured") if by[k]]
                    if i["verdict"] == "awaiting_attestation" and i["manual"]:
                        parts.append("\n".join(i["manual"]))
                    rows.append([i["clause"], " / ".join(i["path"][1:]), i["title"], L["av." + i["verdict"]],
                                 "\n".join(parts)])
                self._table([L["clause"], L["x.control_point"], L["x.item"], L["x.av"], L["x.notes"]], rows,
                            (20, 22, 60, 18, 50), [_VERDICT_FILLS.get(i["verdict"]) for i in rows_of],
                            fill_column=3)


# ------------------------------------------------------------------ low-level helpers


def _set_font(element: Any, latin: str, east_asia: str) -> None:
    """Set a style's (or run's) fonts for Latin and East Asian script, dropping theme fonts that
    would override them."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _cell_text(cell: _Cell, text: str, bold: bool = False) -> None:
    """Put ``text`` in a cell, one paragraph per line, in the small table style."""
    lines = clean(text).split("\n")
    para = cell.paragraphs[0]
    for n, line in enumerate(lines):
        if n:
            para = cell.add_paragraph()
        para._p.style = _SMALL
        para.add_run(line).bold = bold


def _shade(cell: _Cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row: Any) -> None:
    """Repeat this row at the top of every page the table runs onto."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(header)


def _field(para: Paragraph, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) at the end of ``para``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    def part(kind: str) -> None:
        run = para.add_run()
        run.font.size = Pt(8)
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)

    part("begin")
    run = para.add_run()
    run.font.size = Pt(8)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    run._r.append(instr)
    part("separate")
    para.add_run("1").font.size = Pt(8)
    part("end")
