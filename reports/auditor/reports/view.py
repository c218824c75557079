"""What the HTML pages show, computed from the report: grouping, ordering, charts, links.

The templates only lay this out; every decision about which finding goes where is here, in
plain functions that the tests can call.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditor.evidence_index import build_evidence_index, upgrade_report
from auditor.messages import msg
from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import charts
from auditor.reports.i18n import labels

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
NOT_PASSED = ("fail", "error", "waived", "skipped", "manual")
AREAS = ("bandwidth", "ports", "firewall", "services", "device", "snmp", "backup", "wifi",
         "discovery", "other")


def local_zone(report: JsonDict) -> str:
    """The school's time zone (the audit clock's), for showing every time as the school reads it."""
    auth = report.get("authorisation") or {}
    return str((auth.get("clock") or {}).get("timezone") or "Asia/Shanghai")


def local_time(value: Any, zone: str) -> str:
    """An ISO time (``...Z`` or with an offset) in ``zone``, with its offset: ``2026-12-07 07:44:24
    +08:00``. A value that is not a time with a zone is returned unchanged."""
    if not isinstance(value, str) or "T" not in value:
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


_SVG_TEXT = re.compile(r"<text(?P<attrs>[^>]*)>(?P<body>[^<]*[\u3400-\u9fff][^<]*)</text>")


def svg_lang(svg: str | None, lang: str) -> str | None:
    """A chart for a page in ``lang``: in a page that is not Chinese, each label in Chinese (a
    dimension's official title, a room's name) marked ``lang="zh"``."""
    if svg is None or lang == "zh":
        return svg
    return _SVG_TEXT.sub(lambda m: f'<text lang="zh"{m["attrs"]}>{m["body"]}</text>', svg)


def anchor(*parts: str) -> str:
    """An HTML id from free text (profile and item ids contain dots and colons)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) for p in parts)


def area_of(check: str) -> str:
    family = check.split(".", 1)[0]
    return family if family in AREAS[:-1] else "other"


def _by_lang(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh") or value.get("en") or "")
    return str(value or "")


def passed_findings(report: JsonDict, lang: str) -> list[JsonDict]:
    meta = {c["id"]: c for c in report.get("checks", [])}
    rows = [{**f, "title": _by_lang(meta.get(f["check"], {}).get("title"), lang)}
            for f in report.get("findings", []) if f["status"] in {"pass", "not_applicable"}]
    return sorted(rows, key=lambda f: (area_of(f["check"]), f["check"], f["target"]))


def scores_view(report: JsonDict, labels_: dict[str, str], lang: str = "zh",
                drawn: bool = True) -> list[JsonDict]:
    """Each point-scored profile: its table, its chart, what full points still need (measured
    items with their findings) and what awaits an attestation (``pending``)."""
    out = []
    titles = {p["id"]: p["title"] for p in report.get("profiles", [])}
    inds = {(i["profile"], i["indicator"]): i for i in report.get("indicators", [])}
    for sc in report.get("scores", []):
        needed = []
        for top in sc["groups"]:
            for sub in top["groups"]:
                for x in sub["lost_by"]:
                    ind = inds.get((sc["profile"], x["item"]), {})
                    needed.append({**x, "group": sub["title"], "manual": ind.get("manual", []),
                                   "findings": [fid for fid in ind.get("findings", [])]})
        needed.sort(key=lambda x: NOT_PASSED.index(x["status"]) if x["status"] in NOT_PASSED else 0)
        out.append({**sc, "title": titles.get(sc["profile"], sc["profile"]),
                    "chart": svg_lang(charts.score_chart(sc["groups"], labels_), lang) if drawn else None,
                    "needed": needed,
                    "pending": [x for x in needed if x["status"] == "manual"]})
    return out


def gbt_view(report: JsonDict, lang: str = "zh", items: list[JsonDict] | None = None) -> list[JsonDict]:
    """GB/T 22239 profiles: counts per assessor verdict and one row per requirement."""
    out = []
    items = assessor_items(report, lang) if items is None else items
    for prof in report.get("profiles", []):
        if not str(prof["id"]).startswith("gbt22239"):
            continue
        rows = [i for i in items if i["profile"] == prof["id"]]
        counts = Counter(i["verdict"] for i in rows)
        level = prof["id"].rsplit("level", 1)[-1] if "level" in prof["id"] else ""
        out.append({"id": prof["id"], "title": prof["title"], "level": level, "rows": rows,
                    "counts": {v: counts.get(v, 0) for v in ASSESSOR_VERDICTS if counts.get(v)}})
    return out


def devices_view(report: JsonDict, issue_of: dict[str, str] | None = None) -> list[JsonDict]:
    """Each device: its findings, their counts by status and the issues it appears in."""
    by_target: dict[str, list[JsonDict]] = {}
    for f in report.get("findings", []):
        by_target.setdefault(f["target"], []).append(f)
    out = []
    for n in report.get("topology", {}).get("nodes", []):
        fs = sorted(by_target.get(f"device/{n['id']}", []), key=lambda f: f["check"])
        issues_ = sorted({(issue_of or {})[f["id"]] for f in fs if f["id"] in (issue_of or {})})
        out.append({**n, "findings": fs, "counts": dict(sorted(Counter(f["status"] for f in fs).items())),
                    "issues": issues_, "script": (report.get("remediation") or {}).get(n["id"])})
    return out


def wifi_view(report: JsonDict) -> list[JsonDict]:
    areas: dict[str, list[JsonDict]] = {}
    for f in report.get("findings", []):
        if f["check"].startswith("wifi.") and f["target"].startswith("area/"):
            areas.setdefault(f["target"].split("/", 1)[1], []).append(f)
    return [{"area": a, "findings": sorted(fs, key=lambda f: f["check"])}
            for a, fs in sorted(areas.items())]


def context(report: JsonDict, options: RenderOptions, drawn: bool = True) -> JsonDict:
    """Everything the report, evidence-index and Markdown templates need. ``drawn``: with the
    charts and the topology drawing (matplotlib, Graphviz's ``dot``), which only the report page
    (and its PDF) shows."""
    report = upgrade_report(report)
    lab = labels(options.lang)
    rows = charts.bandwidth_rows(report, lab)
    index = report.get("evidence_index") or build_evidence_index(report)
    signing = report.get("signing", {})
    all_issues = issues(report, options.lang)
    items = assessor_items(report, options.lang)
    issue_of = {f["id"]: i["id"] for i in all_issues for f in i["findings"]}
    return {
        "r": report, "L": lab, "lang": options.lang, "href": options.bundle_href,
        "untrusted": options.untrusted_signer,
        "findings_by_id": {f["id"]: f for f in report.get("findings", []) if f.get("id")},
        "artifacts": {a["path"]: a for a in report.get("artifacts", [])},
        "scores": scores_view(report, lab, options.lang, drawn),
        "gbt": gbt_view(report, options.lang, items),
        "issues": all_issues,
        "fix_first": all_issues[:FIX_FIRST],
        "issue_of": issue_of,
        "assessor_of": {(i["profile"], i["clause"]): i["verdict"] for i in items},
        "area_of": area_of,
        "tz_time": lambda v: local_time(v, local_zone(report)),
        "filter_script": FILTER_SCRIPT,
        "clauses_of": clauses_of_findings(report),
        "areas": sorted({area_of(i["check"]) for i in all_issues}, key=AREAS.index),
        "issue_devices": sorted({t.split("/", 1)[1] for i in all_issues for t in i["targets"]
                                 if t.startswith("device/")}),
        "text_of": lambda f: finding_text(f, options.lang),
        "tz": local_zone(report),
        "passed": passed_findings(report, options.lang),
        "manual_findings": [f for f in report.get("findings", []) if f["status"] == "manual"],
        "bandwidth": rows,
        "bandwidth_chart": svg_lang(charts.bandwidth_chart(rows, lab), options.lang)
                           if rows and drawn else None,
        "topology_svg": svg_lang(charts.topology_svg(report.get("topology", {}), lab), options.lang)
                        if drawn else None,
        "devices": devices_view(report, issue_of),
        "wifi": wifi_view(report),
        "monitoring": monitoring_view(report, options.lang, lab, drawn),
        "index": index,
        "index_profiles": [p for p in report.get("profiles", [])
                           if any(e["profile"] == p["id"] for e in index)],
        "fingerprint": signing.get("key_fingerprint", ""),
        "sm2_fingerprint": (signing.get("sm2") or {}).get("key_fingerprint"),
        "all_passed": report.get("summary", {}).get("exit_status") == 0,
    }


# --- The monitoring timeline: what the agent's monitor measured in the days before the audit ---

def _day_local(value: Any, zone: str) -> str:
    """A time in the school's zone to the minute, without its offset (the section states the zone)."""
    return local_time(value, zone)[:16]


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}%"


MONITORING_ROWS = 10  # tests listed per table on the page (report.json lists every one)


def monitoring_view(report: JsonDict, lang: str, lab: dict[str, str], drawn: bool = True) -> JsonDict | None:
    """``report["monitoring"]`` as the pages show it; None for a report from before it existed
    (schema 1.1 and earlier). A section without data shows only why (``text``); times are in the
    school's zone; ``drawn``: with the SVG timeline and throughput strips."""
    section = report.get("monitoring")
    if not isinstance(section, dict):
        return None
    zone = local_zone(report)
    window = section.get("window") or {}
    span = (f"{_day_local(window.get('start'), zone)} — {_day_local(window.get('end'), zone)}"
            if window.get("start") else "")
    if section.get("status") != "data":
        return {"data": False, "text": _by_lang(section.get("text"), lang) or lab["mon_no_data"],
                "window": span, "tz": window.get("timezone") or zone}
    totals = section.get("totals") or {}
    source = section.get("source") or {}
    tests = [{**t, "when": _day_local(t.get("at"), zone)} for t in section.get("throughput", [])]
    uplinks = section.get("uplinks", [])
    summary = msg("monitoring.summary", days=str(window.get("days", "")),
                  start=_day_local(window.get("start"), zone), end=_day_local(window.get("end"), zone),
                  uptime=_share(totals.get("uptime_pct")), loss=_share(totals.get("loss_pct")),
                  dns_failures=str(totals.get("dns_failures", 0)), tests=str(totals.get("tests", 0)),
                  below=str(totals.get("below_contract", 0)), invalid=str(totals.get("invalid_tests", 0)),
                  outages=msg("monitoring.not_measured") if totals.get("outages") is None
                  else str(totals["outages"])).render(lang)
    counts = source.get("samples") or {}
    agents = source.get("agents") or []
    provenance = msg("monitoring.source", path=str(source.get("path", "")),
                     samples=str(sum(int(v) for v in counts.values())),
                     first=_day_local(source.get("first_at"), zone) or "—",
                     last=_day_local(source.get("last_at"), zone) or "—",
                     agents=", ".join(agents) or "—").render(lang)
    strips = []
    for u in uplinks:
        for direction in ("down", "up"):
            mine = [t for t in tests if t.get("uplink") == u["id"] and t.get("direction") == direction]
            if not mine:
                continue
            contract = u.get(f"{direction}_mbps")
            name = f"{u['id']} {lab['mon_dir.' + direction]}"
            svg = charts.throughput_strip(mine, contract, window, name, lab, zone) if drawn else None
            strips.append({"uplink": u["id"], "direction": direction, "contract": contract,
                           "svg": svg_lang(svg, lang)})
    days = section.get("days", [])
    return {
        "data": True, "window": span, "tz": window.get("timezone") or zone, "summary": summary,
        "provenance": provenance, "totals": totals, "budget": section.get("budget") or {},
        "days": [{**d, "by_target": {r["target"]: r for r in d.get("reach", [])}} for d in days],
        "targets": [r["target"] for r in section.get("reach", [])],
        "timeline_svg": svg_lang(charts.monitoring_days(days, lab), lang) if drawn else None,
        "strips": strips, "uplinks": uplinks,
        "outages": [{**o, "uplink": u["id"], "from": _day_local(o.get("start"), zone),
                     "to": _day_local(o.get("end"), zone)} for u in uplinks for o in u.get("outages", [])],
        "not_probed": [u["id"] for u in uplinks if not u.get("reach_samples")],
        "below": [t for t in tests if t.get("below_contract")],
        "invalid": [t for t in tests if not t.get("valid")],
        "shown": MONITORING_ROWS,
        "uncontracted": sorted({t["uplink"] for t in tests
                                if t.get("valid") and t.get("contracted_mbps") is None}),
    }


# --- What a reader acts on: the assessor's verdicts, rolled-up issues, what to fix first ---

ASSESSOR_VERDICTS = ("met", "partly_met", "not_met", "not_applicable", "not_measured",
                     "awaiting_attestation", "waived")
RISK = {"critical": "high", "high": "high", "medium": "medium", "low": "low", "info": "low"}
EFFORT_ORDER = ("config", "policy", "purchase")
OWNERS = ("network_admin", "vendor", "leadership")
_TARGET_PREFIX = re.compile(r"^\S+ \([^)]*\): ")


def finding_text(f: JsonDict, lang: str) -> str:
    """A finding's message in ``lang`` (reports before bilingual messages have English only)."""
    text = f.get("text")
    if isinstance(text, dict) and text.get(lang):
        return str(text[lang])
    return str(f.get("message") or "")


def assessor_verdict(indicator: JsonDict, findings_by_id: dict[str, JsonDict]) -> str:
    """How an assessor records a GB/T 22239 item: 符合 / 部分符合 / 不符合 / 不适用, or, when the
    audit could not decide, 未测 (not measured) / 待证明 (awaiting attestation); never 符合
    without the evidence for it.

    部分符合: the item failed, but some of its targets or sub-requirements were measured and met.
    """
    status = indicator.get("status")
    found = [findings_by_id[i] for i in indicator.get("findings", []) if i in findings_by_id]
    if status == "pass":
        return "met"
    if status == "not_applicable":
        return "not_applicable"
    if status == "waived":
        return "waived"
    if status == "manual":
        return "awaiting_attestation"
    if status == "fail":
        return "partly_met" if any(f["status"] == "pass" for f in found) else "not_met"
    return "not_measured"  # error, skipped, or anything this version does not know


def assessor_items(report: JsonDict, lang: str) -> list[JsonDict]:
    """Every GB/T 22239 item with its assessor verdict, the targets behind it and its findings."""
    by_id = {f["id"]: f for f in report.get("findings", []) if f.get("id")}
    gbt = {p["id"] for p in report.get("profiles", []) if str(p["id"]).startswith("gbt22239")}
    out = []
    for ind in report.get("indicators", []):
        if ind["profile"] not in gbt:
            continue
        found = [by_id[i] for i in ind.get("findings", []) if i in by_id]
        targets: dict[str, list[str]] = {}
        for f in found:
            targets.setdefault(f["status"], [])
            if f["target"] not in targets[f["status"]]:
                targets[f["status"]].append(f["target"])
        evidence = sorted({a for f in found for a in f.get("artifacts", [])})
        out.append({
            "profile": ind["profile"], "clause": ind["indicator"], "path": list(ind.get("path", [])),
            "title": ind.get("title", ""), "status": ind["status"],
            "verdict": assessor_verdict(ind, by_id), "targets": targets,
            "findings": [f["id"] for f in found], "evidence": evidence,
            "manual": list(ind.get("manual", [])), "attested_by": list(ind.get("attested_by", [])),
        })
    return out


def clauses_of_findings(report: JsonDict) -> dict[str, list[JsonDict]]:
    """Finding id → the items (profile, clause, title) it counts towards."""
    out: dict[str, list[JsonDict]] = {}
    for ind in report.get("indicators", []):
        for fid in ind.get("findings", []):
            out.setdefault(fid, []).append({"profile": ind["profile"], "clause": ind["indicator"],
                                            "number": ind.get("number"), "title": ind.get("title", "")})
    return out


def _issue_key(f: JsonDict) -> tuple[str, str]:
    """A measured failure is one issue per check (whatever its targets); an item that could not
    be measured is one issue per cause, across checks (one unaudited device is one issue, not
    one per device check)."""
    if f["status"] in ("fail", "waived"):
        return (f["status"], f["check"])
    key = f.get("message_key")
    if not key:  # older reports: the message without the leading "target (address): "
        key = _TARGET_PREFIX.sub("", str(f.get("message") or ""))
    return (f["status"], str(key))


def _points_at_stake(report: JsonDict) -> dict[str, float]:
    """Finding id → points of scored profiles that its items lose today (an item's share of what
    its group lost)."""
    lost_of_item: dict[tuple[str, str], float] = {}

    def walk(profile: str, group: JsonDict) -> None:
        lost_by = group.get("lost_by", [])
        for x in lost_by:
            lost_of_item[(profile, x["item"])] = float(group.get("lost", 0)) / len(lost_by)
        for g in group.get("groups", []):
            walk(profile, g)

    for sc in report.get("scores", []):
        for g in sc.get("groups", []):
            walk(sc["profile"], g)
    out: dict[str, float] = {}
    for ind in report.get("indicators", []):
        stake = lost_of_item.get((ind["profile"], ind["indicator"]), 0.0)
        for fid in ind.get("findings", []):
            out[fid] = out.get(fid, 0.0) + stake
    return out


def issues(report: JsonDict, lang: str) -> list[JsonDict]:
    """Findings that did not pass, rolled up: one issue per check, status and message, listing
    every target it was found on (fifteen unaudited devices are one issue, not fifteen cards).
    Ordered by what to fix first: severity, then points at stake, then effort (a configuration
    change before a policy before a purchase), measured failures before unmeasured items."""
    meta = {c["id"]: c for c in report.get("checks", [])}
    clauses = clauses_of_findings(report)
    stake = _points_at_stake(report)
    groups: dict[tuple[str, str], list[JsonDict]] = {}
    for f in report.get("findings", []):
        if f["status"] in ("fail", "error", "waived", "skipped"):  # older reports lack the last two
            groups.setdefault(_issue_key(f), []).append({"evidence": [], "fix": [], "lines": [], **f})
    out = []
    for (status, _key), fs in groups.items():
        checks = sorted({f["check"] for f in fs})
        check = fs[0]["check"]
        m = meta.get(check, {}) if len(checks) == 1 else {}
        severity = max((f["severity"] for f in fs),
                       key=lambda s: -SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else 0)
        cl: dict[tuple[str, str], JsonDict] = {}
        for f in fs:
            for c in clauses.get(f["id"], []):
                cl[(c["profile"], c["clause"])] = c
        effort = m.get("effort") or "config"
        out.append({
            "id": fs[0]["id"], "check": check, "checks": checks, "status": status,
            "severity": severity,
            "risk": RISK.get(severity, "low"), "title": _by_lang(m.get("title"), lang),
            "rationale": _by_lang(m.get("rationale"), lang),
            "remediation": _by_lang(m.get("remediation"), lang),
            "effort": effort, "owner": m.get("owner") or "network_admin",
            "points": round(sum(stake.get(f["id"], 0.0) for f in fs), 2),
            "targets": sorted({f["target"] for f in fs}), "findings": fs,
            "text": finding_text(fs[0], lang),
            "texts": [finding_text(f, lang) for f in fs],
            # one cause across several checks, told the same way each time: shown once
            "same_text": len(fs) > 1 and len({finding_text(f, lang) for f in fs}) == 1
                         and not any(f.get("evidence") or f.get("fix") for f in fs),
            "clauses": sorted(cl.values(), key=lambda c: (c["profile"], c["clause"])),
        })
    out.sort(key=lambda i: (
        SEVERITY_ORDER.index(i["severity"]) if i["severity"] in SEVERITY_ORDER else 0,
        -i["points"],
        EFFORT_ORDER.index(i["effort"]) if i["effort"] in EFFORT_ORDER else len(EFFORT_ORDER),
        0 if i["status"] == "fail" else 1, i["check"]))
    return out


FIX_FIRST = 6

# The findings filter: the one script of the page (inline, nothing loaded). Without it the page
# reads the same, with every finding shown and the filter bar hidden.
FILTER_SCRIPT = """
(function () {
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var selects = Array.prototype.slice.call(bar.querySelectorAll("select"));
  var search = document.getElementById("finding-search");
  var count = document.getElementById("filter-count");
  function apply() {
    var want = {};
    selects.forEach(function (s) { want[s.getAttribute("data-filter")] = s.value; });
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    cards.forEach(function (c) {
      var ok = (!want.status || c.getAttribute("data-status") === want.status) &&
               (!want.area || c.getAttribute("data-area") === want.area) &&
               (!want.device ||
                (" " + c.getAttribute("data-devices")).indexOf(" " + want.device + " ") >= 0) &&
               (!q || c.textContent.toLowerCase().indexOf(q) >= 0);
      c.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " / " + cards.length;
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  bar.hidden = false;
  apply();
})();
"""


# For a Content-Security-Policy that lets this script, and only it, run (the district serves
# bundles' pages sandboxed).
FILTER_SCRIPT_HASH = f"'sha256-{base64.b64encode(hashlib.sha256(FILTER_SCRIPT.encode()).digest()).decode()}'"


def fix_first(report: JsonDict, lang: str) -> list[JsonDict]:
    """The handful of issues to fix first (the top of :func:`issues`)."""
    return issues(report, lang)[:FIX_FIRST]
