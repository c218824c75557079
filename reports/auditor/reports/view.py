"""What the HTML pages show, computed from the report: grouping, ordering, charts, links.

The templates only lay this out; every decision about which finding goes where is here, in
plain functions that the tests can call.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from auditor.evidence_index import build_evidence_index, upgrade_report
from auditor.model import JsonDict
from auditor.plugins import RenderOptions
from auditor.reports import charts
from auditor.reports.i18n import labels

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
NOT_PASSED = ("fail", "error", "waived", "skipped", "manual")
VERDICTS = ("satisfied", "not satisfied", "not determined", "needs attestation", "not applicable",
            "not satisfied (waived)")
AREAS = ("bandwidth", "ports", "firewall", "services", "device", "snmp", "backup", "wifi",
         "discovery", "other")


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


def findings_grouped(report: JsonDict, lang: str) -> list[JsonDict]:
    """Findings that did not pass, by severity (worst first), then area, then check and target."""
    meta = {c["id"]: c for c in report.get("checks", [])}
    groups: dict[tuple[int, int], list[JsonDict]] = {}
    for f in report.get("findings", []):
        if f["status"] not in NOT_PASSED:
            continue
        sev = SEVERITY_ORDER.index(f["severity"]) if f["severity"] in SEVERITY_ORDER else 0
        area = area_of(f["check"])
        key = (sev, AREAS.index(area))
        m = meta.get(f["check"], {})
        groups.setdefault(key, []).append({
            **f, "title": _by_lang(m.get("title"), lang),
            "remediation": _by_lang(m.get("remediation"), lang)})
    out = []
    for (sev, area_i), items in sorted(groups.items()):
        items.sort(key=lambda f: (f["check"], f["target"]))
        out.append({"severity": SEVERITY_ORDER[sev], "area": AREAS[area_i],
                    "findings": items})
    return out


def passed_findings(report: JsonDict, lang: str) -> list[JsonDict]:
    meta = {c["id"]: c for c in report.get("checks", [])}
    rows = [{**f, "title": _by_lang(meta.get(f["check"], {}).get("title"), lang)}
            for f in report.get("findings", []) if f["status"] in {"pass", "not_applicable"}]
    return sorted(rows, key=lambda f: (area_of(f["check"]), f["check"], f["target"]))


def scores_view(report: JsonDict, labels_: dict[str, str]) -> list[JsonDict]:
    """Each point-scored profile: its table, its chart, and what full points still need."""
    out = []
    titles = {p["id"]: p["title"] for p in report.get("profiles", [])}
    for sc in report.get("scores", []):
        needed = [{**x, "group": sub["title"]} for top in sc["groups"] for sub in top["groups"]
                  for x in sub["lost_by"]]
        needed.sort(key=lambda x: NOT_PASSED.index(x["status"]) if x["status"] in NOT_PASSED else 0)
        out.append({**sc, "title": titles.get(sc["profile"], sc["profile"]),
                    "chart": charts.score_chart(sc["groups"], labels_), "needed": needed})
    return out


def gbt_view(report: JsonDict) -> list[JsonDict]:
    """GB/T 22239 profiles: counts per verdict and one row per requirement."""
    out = []
    for prof in report.get("profiles", []):
        if not str(prof["id"]).startswith("gbt22239"):
            continue
        rows = [i for i in report.get("indicators", []) if i["profile"] == prof["id"]]
        counts = Counter(i["verdict"] for i in rows)
        level = prof["id"].rsplit("level", 1)[-1] if "level" in prof["id"] else ""
        out.append({"id": prof["id"], "title": prof["title"], "level": level, "rows": rows,
                    "counts": {v: counts.get(v, 0) for v in VERDICTS if counts.get(v)}})
    return out


def devices_view(report: JsonDict) -> list[JsonDict]:
    by_target: dict[str, list[JsonDict]] = {}
    for f in report.get("findings", []):
        by_target.setdefault(f["target"], []).append(f)
    return [{**n, "findings": sorted(by_target.get(f"device/{n['id']}", []), key=lambda f: f["check"])}
            for n in report.get("topology", {}).get("nodes", [])]


def wifi_view(report: JsonDict) -> list[JsonDict]:
    areas: dict[str, list[JsonDict]] = {}
    for f in report.get("findings", []):
        if f["check"].startswith("wifi.") and f["target"].startswith("area/"):
            areas.setdefault(f["target"].split("/", 1)[1], []).append(f)
    return [{"area": a, "findings": sorted(fs, key=lambda f: f["check"])}
            for a, fs in sorted(areas.items())]


def context(report: JsonDict, options: RenderOptions) -> JsonDict:
    """Everything the report and evidence-index templates need."""
    report = upgrade_report(report)
    lab = labels(options.lang)
    rows = charts.bandwidth_rows(report)
    index = report.get("evidence_index") or build_evidence_index(report)
    signing = report.get("signing", {})
    return {
        "r": report, "L": lab, "lang": options.lang, "href": options.bundle_href,
        "untrusted": options.untrusted_signer,
        "findings_by_id": {f["id"]: f for f in report.get("findings", []) if f.get("id")},
        "artifacts": {a["path"]: a for a in report.get("artifacts", [])},
        "scores": scores_view(report, lab),
        "gbt": gbt_view(report),
        "grouped": findings_grouped(report, options.lang),
        "passed": passed_findings(report, options.lang),
        "bandwidth": rows,
        "bandwidth_chart": charts.bandwidth_chart(rows, lab) if rows else None,
        "topology_svg": charts.topology_svg(report.get("topology", {}), lab),
        "devices": devices_view(report),
        "wifi": wifi_view(report),
        "index": index,
        "index_profiles": [p for p in report.get("profiles", [])
                           if any(e["profile"] == p["id"] for e in index)],
        "fingerprint": signing.get("key_fingerprint", ""),
        "sm2_fingerprint": (signing.get("sm2") or {}).get("key_fingerprint"),
        "all_passed": report.get("summary", {}).get("exit_status") == 0,
    }
