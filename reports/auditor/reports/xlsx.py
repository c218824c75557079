"""``report.xlsx``: the assessor's record, the problem list, the system components and the
bandwidth measurements as a workbook (openpyxl), for the spreadsheets schools already keep.

Sheets, in the report's language (:mod:`auditor.reports.office_labels`):

* **测评记录 / Assessment record**: one row per profile item (GB/T 22239 first): framework,
  layer, control point, clause, requirement, the assessor's verdict (符合 / 部分符合 / 不符合 /
  不适用 / 未测 / 待证明), the targets that passed, failed, could not be measured or do not
  apply, the finding ids, the evidence files, what still needs an attestation and who attested.
* **问题清单 / Issues**: one row per rolled-up issue in the order to fix them: risk level
  (高 / 中 / 低), status, targets, description, remediation, the commands that fix it on each
  device (in the device's own syntax), responsible party, kind of fix, deadline (a date cell:
  audit date + the inventory's days for the risk level), clauses, points at stake.
* **系统构成 / System components**: every device, server, firewall, backup target, classroom,
  Wi-Fi area, uplink and LLDP link.
* **带宽 / Bandwidth**: each link and direction: median, min, max, threshold, link rate, share,
  retransmits, RTT (when the report has them), result.

Each sheet has a title row (school, audit date; the "signer not trusted" warning when the
verifier does not trust the signer), a frozen header row with filters, wrapped text, and prints
landscape on A4, one page wide. Every text is written as text (a value starting with ``=`` is
never a formula). The bytes depend only on the report: the workbook's created/modified dates are
the run's end and so is every zip entry's date (:func:`auditor.reports.exports.stable_zip`).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping, Sequence
from copy import copy
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import exports
from auditor.reports.exports import ExportError, clean
from auditor.reports.office_labels import labels

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.styles import Border
    from openpyxl.worksheet.worksheet import Worksheet

Cell = str | int | float | date | None

_HEADER_FILL = "DDE4EE"
# on every Windows since Vista (WPS uses the system's fonts); elsewhere the reader substitutes
_FONTS = {"zh": "微软雅黑", "en": "Arial"}
_LINE_POINTS = 14.5  # one line of 10-point text, CJK included
_MAX_ROW_POINTS = 409  # Excel's limit
_CJK, _LATIN = 1.75, 1.0  # width of a character of 10-point text, in column-width units
_TITLE_FONT_SIZE = 13
_RISK_FILLS = {"high": "F8D7DA", "medium": "FFF3CD", "low": "E2EFDA"}
_VERDICT_FILLS = {"met": "E2EFDA", "partly_met": "FFF3CD", "not_met": "F8D7DA", "waived": "F8D7DA"}


class XlsxRenderer:
    """``report.xlsx``: 测评记录, 问题清单, 系统构成 and 带宽 sheets."""

    name: ClassVar[str] = "xlsx"
    filename: ClassVar[str] = "report.xlsx"
    media_type: ClassVar[str] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        try:
            from openpyxl import Workbook
            from openpyxl.writer.excel import ExcelWriter
        except ImportError as exc:
            raise ExportError(f"report.xlsx: openpyxl is not installed ({exc}); reinstall campus-auditor "
                              "or leave xlsx out of --format") from None
        try:
            L = labels(options.lang)
            wb = Workbook()
            _Book(wb, report, options.lang, options.untrusted_signer).build()
            when = exports.run_time(report).replace(tzinfo=None)
            wb.properties.creator = "campus-auditor"
            wb.properties.lastModifiedBy = "campus-auditor"
            wb.properties.title = clean(f"{exports.school(report).get('name', '')} {L['title']}", 250)
            wb.properties.language = "zh-CN" if options.lang == "zh" else "en"
            wb.properties.created = when
            wb.properties.modified = when
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
                ExcelWriter(wb, archive).save()  # not save_workbook: it dates the file "now"
            return exports.stable_zip(buf.getvalue(), exports.run_time(report))
        except ExportError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise ExportError(f"report.xlsx could not be rendered from this report: "
                              f"{type(exc).__name__}: {exc}") from None


def _lines(text: str, width: float) -> int:
    """How many lines ``text`` takes in a wrapped cell ``width`` characters wide (a CJK
    character is about 1.8 of Excel's width units at 10 points, a Latin one about one)."""
    room = max(1.0, width - 0.5)
    return sum(max(1, math.ceil(sum(_CJK if ord(ch) >= 0x2E80 else _LATIN for ch in line) / room))
               for line in clean(text).split("\n"))


def _column(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _border() -> Border:
    from openpyxl.styles import Border, Side

    thin = Side(style="thin", color="A0A0A0")
    return Border(left=thin, right=thin, top=thin, bottom=thin)


class _Book:
    def __init__(self, wb: Workbook, report: JsonDict, lang: str, untrusted: str) -> None:
        self.wb = wb
        self.report = report
        self.lang = lang
        self.L = labels(lang)
        self.untrusted = untrusted
        self.font = _FONTS.get(lang, _FONTS["en"])

    def build(self) -> None:
        first = self.wb.active
        if first is not None:
            self.wb.remove(first)
        self._items()
        self._issues()
        self._components()
        self._bandwidth()

    # -- one sheet ----------------------------------------------------------------------------

    def _sheet(self, title_key: str, headers: Sequence[tuple[str, float]],
               rows: Sequence[Sequence[Cell]], fills: Sequence[str | None] = (),
               fill_column: int | None = None, formats: Mapping[int, str] | None = None) -> None:
        ws = self.wb.create_sheet(self.L[title_key])
        self._head(ws, title_key, headers)
        self._body(ws, [w for _, w in headers], rows, fills, fill_column, formats or {})
        last = _column(len(headers))
        ws.freeze_panes = "A3"
        ws.auto_filter.ref = f"A2:{last}{max(2, len(rows) + 2)}"
        ws.print_title_rows = "2:2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.oddFooter.center.text = "&P / &N"

    def _head(self, ws: Worksheet, title_key: str, headers: Sequence[tuple[str, float]]) -> None:
        """Row 1: school, sheet and audit date (after the untrusted-signer warning); row 2: headers."""
        from openpyxl.styles import Alignment, Font, PatternFill

        L = self.L
        school = exports.school(self.report)
        title = (f"{school.get('name', '')} · {L[title_key]} · {L['x.audit_date']} "
                 f"{exports.audit_date(self.report).isoformat()}")
        if self.untrusted:
            title = f"{exports.untrusted_text(self.untrusted, L)}  {title}"
        ws.merge_cells(f"A1:{_column(len(headers))}1")
        head = ws.cell(row=1, column=1, value=clean(title, 1000))
        head.data_type = "s"
        head.font = Font(name=self.font, bold=True, size=_TITLE_FONT_SIZE,
                         color="C00000" if self.untrusted else None)
        head.alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[1].height = 36 if self.untrusted else 24
        ws.row_dimensions[2].height = max(_lines(label, width + 0.5) for label, width in headers) * \
            _LINE_POINTS + 4  # bold: a little wider
        for col, (label, width) in enumerate(headers, start=1):
            c = ws.cell(row=2, column=col, value=label)
            c.data_type = "s"
            c.font = Font(name=self.font, bold=True, size=10)
            c.fill = PatternFill("solid", fgColor=_HEADER_FILL)
            c.alignment = Alignment(wrap_text=True, vertical="center")
            c.border = _border()
            ws.column_dimensions[_column(col)].width = width

    def _body(self, ws: Worksheet, widths: Sequence[float], rows: Sequence[Sequence[Cell]],
              fills: Sequence[str | None], fill_column: int | None, formats: Mapping[int, str]) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        wrap = Alignment(wrap_text=True, vertical="top")
        body = Font(name=self.font, size=10)
        border = _border()
        styles: dict[tuple[str | None, str | None], Any] = {}  # (fill, number format) -> cell style
        for r, row in enumerate(rows, start=3):
            fill = fills[r - 3] if r - 3 < len(fills) else None
            # Row heights are set, not left to the reader: LibreOffice does not grow rows of
            # wrapped text when it opens a workbook, and a fixed height prints the same everywhere.
            lines = max((_lines(v, widths[k]) for k, v in enumerate(row) if isinstance(v, str)), default=1)
            ws.row_dimensions[r].height = min(_MAX_ROW_POINTS, lines * _LINE_POINTS + 3)
            for col, value in enumerate(row, start=1):
                c = ws.cell(row=r, column=col)
                number_format = None
                if isinstance(value, str):
                    c.value = clean(value)
                    c.data_type = "s"  # text stays text: "=..." is never a formula
                elif isinstance(value, date):
                    c.value = value
                    number_format = "yyyy-mm-dd"
                else:
                    c.value = value
                    if isinstance(value, float):
                        number_format = formats.get(col, "0.0")
                key = (fill if fill_column == col else None, number_format)
                raw: Any = c  # its style array, which openpyxl's stubs do not show
                if key in styles:  # assigning styles one by one is most of the time taken: copy them
                    raw._style = copy(styles[key])
                    continue
                c.alignment = wrap
                c.font = body
                c.border = border
                if key[0]:
                    c.fill = PatternFill("solid", fgColor=key[0])
                if number_format:
                    c.number_format = number_format
                styles[key] = copy(raw._style)

    # -- the four sheets ----------------------------------------------------------------------

    def _items(self) -> None:
        L = self.L
        rows: list[list[Cell]] = []
        fills: list[str | None] = []
        for n, item in enumerate(exports.items(self.report, self.lang), start=1):
            path = item["path"]
            by = exports.targets_by_outcome(item)
            rows.append([
                n, exports.profile_short(item["profile"], L),
                path[0] if path else "", " / ".join(path[1:]), item["clause"], item["title"],
                L["av." + item["verdict"]],
                "\n".join(by["pass"]), "\n".join(by["fail"]), "\n".join(by["unmeasured"]),
                "\n".join(by["not_applicable"]), ", ".join(item["findings"]), "\n".join(item["evidence"]),
                "\n".join(item["manual"]), ", ".join(str(a) for a in item["attested_by"]),
            ])
            fills.append(_VERDICT_FILLS.get(item["verdict"]))
        headers = [(L["x.no"], 5), (L["x.framework"], 15), (L["x.layer"], 11), (L["x.control_point"], 11),
                   (L["clause"], 11), (L["x.item"], 34), (L["x.av"], 9), (L["x.targets.pass"], 22),
                   (L["x.targets.fail"], 22), (L["x.targets.unmeasured"], 18),
                   (L["x.targets.not_applicable"], 14), (L["x.finding_ids"], 10),
                   (L["x.evidence_files"], 34), (L["x.manual_parts"], 30), (L["x.attested_by"], 9)]
        self._sheet("x.sheet.items", headers, rows, fills, fill_column=7)

    def _issues(self) -> None:
        L = self.L
        rows: list[list[Cell]] = []
        fills: list[str | None] = []
        for i in exports.issues(self.report, self.lang, L):
            rows.append([
                i.no, i.id, i.title, L[f"risk.{i.risk}"], L.get(i.status, i.status), "\n".join(i.targets),
                "\n".join(i.texts), i.remediation, exports.fixes_text(i.fixes),
                exports.owner_label(i.owner, L), exports.effort_label(i.effort, L), i.deadline,
                "\n".join(i.clauses), i.points,
            ])
            fills.append(_RISK_FILLS.get(i.risk))
        headers = [(L["x.no"], 5), (L["x.id"], 7), (L["x.issue"], 26), (L["x.risk"], 7), (L["status"], 9),
                   (L["x.targets"], 28), (L["x.issue_text"], 40), (L["x.remediation"], 32),
                   (L["x.fix_commands"], 32), (L["x.owner"], 11), (L["x.effort"], 10),
                   (L["x.deadline"], 11), (L["x.clauses"], 28), (L["x.stake"], 7)]
        self._sheet("x.sheet.issues", headers, rows, fills, fill_column=4, formats={14: "0.##"})

    def _components(self) -> None:
        L = self.L
        rows: list[list[Cell]] = [
            [n, c.kind, c.id, c.name, c.address, c.vendor, c.model, c.role, c.location, c.notes]
            for n, c in enumerate(exports.components(self.report, L), start=1)]
        headers = [(L["x.no"], 5), (L["x.kind"], 16), (L["x.id"], 20), (L["x.name"], 30),
                   (L["x.address"], 14), (L["x.vendor"], 10), (L["x.model"], 18), (L["x.role_zone"], 14),
                   (L["x.location"], 34), (L["x.notes"], 40)]
        self._sheet("x.sheet.components", headers, rows)

    def _bandwidth(self) -> None:
        L = self.L
        rows: list[list[Cell]] = []
        for b in exports.bandwidth(self.report, L):
            rows.append([b.link, b.kind, b.direction, b.median, b.low, b.high, b.threshold, b.rate, b.share,
                         b.retransmits, b.rtt_ms, b.status])
        headers = [(L["x.link"], 24), (L["x.link_kind"], 11), (L["x.direction"], 11), (L["x.bw_median"], 14),
                   (L["x.minimum"], 12), (L["x.maximum"], 12), (L["x.bw_threshold"], 12),
                   (L["x.bw_rate"], 14), (L["x.share"], 14), (L["x.retransmits"], 10), (L["x.rtt"], 12),
                   (L["x.result"], 12)]
        self._sheet("x.sheet.bandwidth", headers, rows)
