"""``findings.csv``: every finding as one row, for spreadsheets and scripts.

UTF-8 with a byte-order mark (so Excel and WPS open the Chinese correctly), CRLF line ends and
quoting as RFC 4180 has them; headers and status words in the report's language. Columns: id,
check, check title, target (with its name and address), status, severity, risk level, measured,
threshold, unit, message, the configuration or output lines relied on, remediation, the
commands that fix it on that device, responsible party and deadline (for findings that did not
pass), the clauses it counts against, its evidence files. A multi-valued cell holds one value
per line.

A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return; device and host names come from the network) is written with a
leading ``'``, as OWASP advises; numbers are written as numbers. When the verifier does not
trust the signer, the first line says so before the header.
"""

from __future__ import annotations

import csv
import io
from typing import ClassVar

from auditor.evidence_index import upgrade_report
from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import exports, view
from auditor.reports.exports import ExportError, clean
from auditor.reports.office_labels import labels

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_OPEN = ("fail", "error", "waived", "skipped", "manual")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    text = clean(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CsvRenderer:
    """``findings.csv``: one row per finding."""

    name: ClassVar[str] = "csv"
    filename: ClassVar[str] = "findings.csv"
    media_type: ClassVar[str] = "text/csv"

    def render(self, report: JsonDict, options: RenderOptions) -> bytes:
        try:
            return self._render(report, options)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise ExportError(f"findings.csv could not be rendered from this report: "
                              f"{type(exc).__name__}: {exc}") from None

    def _render(self, report: JsonDict, options: RenderOptions) -> bytes:
        report = upgrade_report(report)
        L = labels(options.lang)
        names = exports.Names(report)
        meta = {c["id"]: c for c in report.get("checks", [])}
        clauses = view.clauses_of_findings(report)
        issue_of = {f["id"]: i for i in view.issues(report, options.lang) for f in i["findings"]}
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\r\n")
        if options.untrusted_signer:
            out.writerow([exports.untrusted_text(options.untrusted_signer, L)])
        out.writerow([L["x.id"], L["x.check"], L["x.check_title"], L["x.target"], L["x.status"],
                      L["x.severity"], L["x.risk"], L["x.measured"], L["x.threshold"], L["x.unit"],
                      L["x.message"], L["x.lines"], L["x.remediation"], L["x.commands"], L["x.owner"],
                      L["x.deadline"], L["x.clauses"], L["x.evidence_files"]])
        for f in report.get("findings", []):
            m = meta.get(f["check"], {})
            status = str(f.get("status", ""))
            issue = issue_of.get(f["id"])
            risk = issue["risk"] if issue else view.RISK.get(str(f.get("severity")), "low")
            owner = issue["owner"] if issue else (m.get("owner") or "network_admin")
            open_ = status in _OPEN
            out.writerow([_cell(v) for v in (
                f["id"], f["check"], exports.by_lang(m.get("title"), options.lang),
                names.label(f["target"]), L.get(status, status),
                L.get(str(f.get("severity")), f.get("severity")),
                L[f"risk.{risk}"] if open_ else "", f.get("measured"), f.get("threshold"), f.get("unit"),
                view.finding_text(f, options.lang), "\n".join(str(x) for x in f.get("lines") or []),
                exports.by_lang(m.get("remediation"), options.lang) if open_ else "",
                "\n".join(str(x) for x in f.get("fix") or []),
                exports.owner_label(owner, L) if open_ else "",
                exports.deadline(report, risk).isoformat() if open_ else "",
                "\n".join(f"{exports.profile_short(c['profile'], L)} {c['clause']}"
                          for c in clauses.get(f["id"], [])),
                "\n".join(str(a) for a in f.get("artifacts") or []))])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
