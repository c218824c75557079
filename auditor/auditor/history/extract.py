"""Rows of the history store, read from a verified report (pure functions of the JSON).

Tolerant of reports written by older or newer agents: a missing section gives no rows, a
missing field gives NULL. Only the run's identity (id, school code, start time) is required.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from auditor.facts import FactKind
from auditor.history.errors import BundleRefused
from auditor.history.models import STATUSES
from auditor.model import JsonDict

Row = dict[str, Any]
_HOST_LINE = re.compile(r"^(?P<ip>[0-9a-fA-F.:]+)\s+(?P<mac>[0-9a-fA-F:]{11,17})?")


@dataclass
class Extracted:
    """One run's row in ``runs`` and its rows in every child table (without ``run_pk``)."""

    run: Row
    children: dict[str, list[Row]] = field(default_factory=dict)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset) as naive UTC; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def extract(report: JsonDict, bundle_path: str, digest: str, keyid: str, pinned: bool) -> Extracted:
    """Everything the store keeps of one report."""
    run = _run_row(report, bundle_path, digest, keyid, pinned)
    facts = [f for f in report.get("facts", []) if isinstance(f, dict)]
    findings = [f for f in report.get("findings", []) if isinstance(f, dict)]
    children = {
        "run_profiles": _profiles(report),
        "findings": [_finding(f) for f in findings],
        "measurements": list(_measurements(facts)),
        "indicators": [_indicator(i) for i in report.get("indicators", [])],
        "scores": list(_scores(report)),
        "device_configs": list(_configs(facts, report)),
        "open_ports": list(_ports(facts)),
        "hosts": list(_hosts(facts, findings)),
        "attestations": [_attestation(a) for a in report.get("attestations") or []],
        "waivers": [_waiver(w) for w in report.get("waivers") or []],
    }
    return Extracted(run, children)


def _run_row(report: JsonDict, bundle_path: str, digest: str, keyid: str, pinned: bool) -> Row:
    meta = report.get("run") or {}
    school = (report.get("site") or {}).get("school") or {}
    started = parse_time(meta.get("started_at"))
    if not meta.get("id") or not school.get("code") or started is None:
        raise BundleRefused(f"{bundle_path}: the report has no run id, school code or start time; "
                            "not a campus-auditor report this store can keep")
    counts = Counter(str(f.get("status")) for f in report.get("findings", []) if isinstance(f, dict))
    profiles = sorted(str(p.get("id")) for p in report.get("profiles", []) if isinstance(p, dict))
    row: Row = {
        "run_id": str(meta["id"]), "school_code": str(school["code"]),
        "school_name": str(school.get("name") or ""), "school_district": school.get("district"),
        "started_at": started, "finished_at": parse_time(meta.get("finished_at")),
        "profile_key": ",".join(profiles), "bundle_path": bundle_path, "bundle_digest": digest,
        "key_fingerprint": keyid, "key_pinned": pinned, "verified": True,
        "exit_status": int((report.get("summary") or {}).get("exit_status", -1)),
        "agent_version": (meta.get("agent") or {}).get("version"),
    }
    row.update({f"n_{s}": counts.get(s, 0) for s in STATUSES})
    return row


def _profiles(report: JsonDict) -> list[Row]:
    scores = {s.get("profile"): s for s in report.get("scores", []) if isinstance(s, dict)}
    items: dict[str, Counter[str]] = {}
    for ind in report.get("indicators", []):
        items.setdefault(str(ind.get("profile")), Counter())[str(ind.get("status"))] += 1
    rows = []
    for p in report.get("profiles", []):
        pid = str(p.get("id"))
        sc = scores.get(pid) or {}
        counted = items.get(pid, Counter())
        rows.append({"profile": pid, "title": p.get("title"), "version": p.get("version"),
                     "sha256": p.get("sha256"), "score_total": _float(sc.get("total")),
                     "score_possible": _float(sc.get("possible")), "items_pass": counted["pass"],
                     "items_total": sum(counted.values())})
    return rows


def _finding(f: JsonDict) -> Row:
    return {"check": str(f.get("check")), "target": str(f.get("target")), "status": str(f.get("status")),
            "original_status": f.get("original_status"), "severity": str(f.get("severity") or "info"),
            "measured": _float(f.get("measured")), "threshold": _float(f.get("threshold")),
            "unit": f.get("unit"), "message": str(f.get("message") or "")}


def _indicator(i: JsonDict) -> Row:
    return {"profile": str(i.get("profile")), "indicator": str(i.get("indicator")),
            "number": i.get("number"), "title": i.get("title"), "status": str(i.get("status"))}


def _scores(report: JsonDict) -> Iterator[Row]:
    for sc in report.get("scores", []):
        profile = str(sc.get("profile"))
        total, possible = _float(sc.get("total")) or 0.0, _float(sc.get("possible")) or 0.0
        yield {"profile": profile, "group_id": "", "parent_id": None, "level": 0, "number": None,
               "title": None, "points": possible, "earned": total, "lost": possible - total}
        yield from _groups(profile, sc.get("groups", []), None, 1)


def _groups(profile: str, groups: list[JsonDict], parent: str | None, level: int) -> Iterator[Row]:
    for g in groups:
        yield {"profile": profile, "group_id": str(g.get("id")), "parent_id": parent, "level": level,
               "number": g.get("number"), "title": g.get("title"),
               "points": _float(g.get("points")) or 0.0, "earned": _float(g.get("earned")) or 0.0,
               "lost": _float(g.get("lost")) or 0.0}
        yield from _groups(profile, g.get("groups") or [], str(g.get("id")), level + 1)


def _ok(facts: list[JsonDict], kind: str) -> Iterator[JsonDict]:
    return (f for f in facts if f.get("kind") == kind and f.get("status") == "ok")


def _measure(name: str, subject: str, value: Any, unit: str, valid: bool = True) -> Row | None:
    number = _float(value)
    if number is None:
        return None
    return {"name": name, "subject": subject, "value": number, "unit": unit, "valid": valid}


def _measurements(facts: list[JsonDict]) -> Iterator[Row]:
    rows: list[Row | None] = []
    for f in _ok(facts, FactKind.BANDWIDTH_GOODPUT):
        d, subject = f.get("data") or {}, str(f.get("subject"))
        valid = bool(d.get("valid", True))
        rows += [_measure(f"bandwidth.goodput.{stat}", subject, d.get(f"{stat}_mbps"), "Mbit/s", valid)
                 for stat in ("median", "min", "max")]
    for f in _ok(facts, FactKind.SNMP_INTERFACE):
        rows.append(_measure("port.speed", str(f.get("subject")), (f.get("data") or {}).get("speed_mbps"),
                             "Mbit/s"))
    for f in _ok(facts, FactKind.WIFI_SURVEY):
        rows += _wifi(f)
    for f in _ok(facts, FactKind.BACKUP_LISTING):
        rows += _backup(f)
    yield from (r for r in rows if r is not None)


def _wifi(fact: JsonDict) -> list[Row | None]:
    """Per SSID heard in an area: its weakest survey point's strongest signal (dBm)."""
    per_ssid: dict[str, list[float]] = {}
    for survey in (fact.get("data") or {}).get("surveys", []):
        best: dict[str, float] = {}
        for bss in survey.get("bss", []):
            dbm, ssid = _float(bss.get("signal_dbm")), bss.get("ssid")
            if dbm is not None and ssid:
                best[ssid] = max(best.get(ssid, dbm), dbm)
        for ssid, dbm in best.items():
            per_ssid.setdefault(ssid, []).append(dbm)
    return [_measure("wifi.ssid_signal", f"{fact.get('subject')}/{ssid}", min(values), "dBm")
            for ssid, values in sorted(per_ssid.items())]


def _backup(fact: JsonDict) -> list[Row | None]:
    primary = (fact.get("data") or {}).get("primary") or {}
    files = [f for f in primary.get("files", []) if isinstance(f, dict)]
    if not files:
        return []
    newest = max(files, key=lambda f: f.get("mtime") or 0)
    subject, now = str(fact.get("subject")), _float(primary.get("remote_time"))
    age = (now - newest["mtime"]) / 3600 if now is not None and _float(newest.get("mtime")) else None
    return [_measure("backup.newest_size", subject, newest.get("size"), "bytes"),
            _measure("backup.newest_age", subject, None if age is None else round(age, 2), "h")]


def _configs(facts: list[JsonDict], report: JsonDict) -> Iterator[Row]:
    hashes = {a.get("path"): a.get("sha256") for a in report.get("artifacts", []) if isinstance(a, dict)}
    for f in _ok(facts, FactKind.DEVICE_CONFIG):
        d = f.get("data") or {}
        if not d.get("config_sha256"):
            continue
        path = (d.get("outputs") or {}).get("config")
        yield {"device": str(f.get("subject")).removeprefix("device/"), "vendor": d.get("vendor"),
               "address": d.get("address"), "config_sha256": str(d["config_sha256"]),
               "artifact_path": path, "artifact_sha256": hashes.get(path),
               "previous_sha256": d.get("previous_sha256"), "changed": d.get("changed")}


def _ports(facts: list[JsonDict]) -> Iterator[Row]:
    for f in _ok(facts, FactKind.SERVICES_PORTS):
        d = f.get("data") or {}
        for p in d.get("open", []):
            if _float(p.get("port")) is not None:
                yield {"view": "inside", "host": str(f.get("subject")), "address": d.get("address"),
                       "proto": str(p.get("proto") or "tcp"), "port": int(p["port"]),
                       "service": p.get("service")}
    for f in _ok(facts, FactKind.FIREWALL_OUTSIDE):
        for r in (f.get("data") or {}).get("results", []):
            if r.get("state") == "open" and _float(r.get("port")) is not None:
                yield {"view": "outside", "host": str(r.get("address")), "address": r.get("address"),
                       "proto": str(r.get("proto") or "tcp"), "port": int(r["port"]), "service": None}


def _unknown(findings: list[JsonDict]) -> dict[str, set[str]]:
    """Per judged segment target, the addresses the unknown-hosts check reported."""
    out: dict[str, set[str]] = {}
    for f in findings:
        if f.get("check") != "discovery.unknown_hosts" or f.get("status") not in {"pass", "fail", "waived"}:
            continue
        found = (_HOST_LINE.match(str(line)) for line in f.get("lines", []))
        out[str(f.get("target"))] = {m.group("ip") for m in found if m}
    return out


def _hosts(facts: list[JsonDict], findings: list[JsonDict]) -> Iterator[Row]:
    unknown = _unknown(findings)
    for f in _ok(facts, FactKind.DISCOVERY_HOSTS):
        d, subject = f.get("data") or {}, str(f.get("subject"))
        judged = unknown.get(subject)
        for h in d.get("hosts", []):
            ip = str(h.get("ip"))
            yield {"segment": str(d.get("segment") or subject.removeprefix("segment/")), "ip": ip,
                   "mac": (str(h["mac"]).lower() if h.get("mac") else None), "vendor": h.get("vendor"),
                   "known": None if judged is None else ip not in judged}


def _attestation(a: JsonDict) -> Row:
    return {"target": str(a.get("target")), "by": str(a.get("by")), "role": a.get("role"),
            "at": a.get("at"), "expires": parse_date(a.get("expires")), "expired": bool(a.get("expired"))}


def _waiver(w: JsonDict) -> Row:
    return {"check": w.get("check"), "target": w.get("target"), "item": w.get("item"),
            "reason": w.get("reason"), "approver": w.get("approver"), "risk": w.get("risk"),
            "start": parse_date(w.get("start")), "expires": parse_date(w.get("expires")),
            "in_force": bool(w.get("in_force"))}
