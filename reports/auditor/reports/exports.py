"""What the office exports (report.xlsx, report.docx, findings.csv) show, computed from the report.

The renderers only lay these rows out; every decision is here, in plain functions the tests can
call, and each reads only the report document:

* **Items** (测评记录): every profile item with the assessor's verdict
  (:func:`auditor.reports.view.assessor_verdict`: 符合 / 部分符合 / 不符合 / 不适用 / 未测 /
  待证明), its targets by finding status, its findings and evidence files. GB/T 22239 items come
  from :func:`auditor.reports.view.assessor_items`; other profiles' items follow, judged alike.
* **Issues** (问题清单): :func:`auditor.reports.view.issues` (rolled up, in the order to fix
  them) with the risk level, the responsible party, a deadline and, for each device target, the
  commands that fix it in that device's own syntax (the finding's ``fix``).
* **Deadlines**: the audit date (the audit clock's date in the school's time zone when the
  report states it, else the date ``run.finished_at`` falls on there) plus the inventory's
  ``remediation.deadlines_days`` for the risk level, which the report carries in
  ``site.remediation``; reports without it (older bundles) use 30 / 90 / 180 days.
* **Components** (系统构成): the devices of ``topology`` and the servers, firewalls, backup
  targets, classrooms, Wi-Fi areas and uplink of ``site.components``; for reports without it,
  what the audit plan names (target and address), so an older bundle still lists them.
* **Bandwidth** (带宽): :func:`auditor.reports.charts.bandwidth_rows`.

:func:`stable_zip` makes an OOXML file's bytes depend on the report alone (every zip entry dated
the run's end), so the signed digest of a rendering can be reproduced by rendering again.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditor.errors import AuditorError
from auditor.evidence_index import upgrade_report
from auditor.model import JsonDict
from auditor.reports import charts, view

DEFAULT_DEADLINES = {"high": 30, "medium": 90, "low": 180}
MAX_DEADLINE_DAYS = 730
RISKS = ("high", "medium", "low")
EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest date a zip entry can carry
MAX_CELL = 32_000  # Excel keeps at most 32,767 characters in a cell
# characters XML 1.0 (and so OOXML) cannot hold: C0 controls but tab, newline, carriage return
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_UNMEASURED = ("error", "skipped", "manual")


class ExportError(AuditorError):
    """An office export could not be rendered (nothing is written)."""


def clean(value: object, limit: int = MAX_CELL) -> str:
    """Text an office file can hold: no control characters, at most ``limit`` characters."""
    text = _ILLEGAL.sub("\ufffd", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def by_lang(value: Any, lang: str) -> str:
    """A check's title, rationale or remediation (``{"zh": …, "en": …}``) in ``lang``."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("zh") or value.get("en") or "")
    return str(value or "")


# ------------------------------------------------------------------ dates and deadlines


def _parse_time(value: object) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_time(report: JsonDict) -> datetime:
    """When the run ended (UTC), for the documents' own dates; 1980-01-01 when unknown."""
    run = report.get("run") or {}
    for key in ("finished_at", "started_at"):
        when = _parse_time(run.get(key))
        if when is not None:
            return max(when.astimezone(UTC), EPOCH)
    return EPOCH


def audit_date(report: JsonDict) -> date:
    """The audit's date in the school's time zone: the audit clock's date when the report states
    it, else the date the run ended there."""
    clock = (report.get("authorisation") or {}).get("clock") or {}
    try:
        return date.fromisoformat(str(clock.get("date")))
    except ValueError:
        pass
    when = run_time(report)
    try:
        return when.astimezone(ZoneInfo(view.local_zone(report))).date()
    except (ZoneInfoNotFoundError, ValueError):
        return when.date()


def deadlines_days(report: JsonDict) -> dict[str, int]:
    """Days to the deadline by risk level, as the report's site states them (else the defaults)."""
    given = ((report.get("site") or {}).get("remediation") or {}).get("deadlines_days") or {}
    out = dict(DEFAULT_DEADLINES)
    for risk in RISKS:
        days = given.get(risk)
        if isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= MAX_DEADLINE_DAYS:
            out[risk] = days
    return out


def deadline(report: JsonDict, risk: str) -> date:
    days = deadlines_days(report)
    return audit_date(report) + timedelta(days=days.get(risk, days["low"]))


# ------------------------------------------------------------------ names of targets


def profile_short(profile: str, L: dict[str, str]) -> str:
    """A short name of a profile for a cell: GB/T 22239 第三级, 北京市智慧校园, or its id."""
    match = re.match(r"^gbt22239-\d{4}-level(\d)$", profile)
    if match:
        return L["x.short.gbt"].format(level=L.get(f"x.level.{match[1]}", match[1]))
    if profile.startswith("beijing-smart-campus"):
        return L["x.short.beijing"]
    return profile


class Names:
    """Human names of the report's targets (``device/core-sw`` → its name and address)."""

    def __init__(self, report: JsonDict) -> None:
        self.names: dict[str, str] = {}
        self.addresses: dict[str, str] = {}
        site = report.get("site") or {}
        comp = site.get("components") or {}
        for node in (report.get("topology") or {}).get("nodes", []):
            self._add(f"device/{node.get('id')}", node.get("name"), node.get("address"))
        for s in comp.get("servers", []):
            self._add(f"host/{s.get('id')}", s.get("name"), s.get("address"))
        for b in comp.get("backups", []):
            self._add(f"backup/{b.get('id')}", b.get("name") or b.get("system"), b.get("host"))
        for f in comp.get("firewalls", []):
            self._add(f"firewall/{f.get('id')}", f.get("name"), None)
        for c in comp.get("classrooms", []):
            self._add(f"classroom/{c.get('id')}", c.get("name"), c.get("endpoint"))
        for a in comp.get("wifi_areas", []):
            self._add(f"area/{a.get('id')}", a.get("name"), None)
        for e in (comp.get("uplink") or {}).get("endpoints", []):
            self._add(f"uplink/{e.get('id')}", e.get("name"), e.get("address"))
        for task in report.get("plan", []):
            target, address = str(task.get("target", "")), task.get("address")
            if address and target.count("/") == 1:
                self.addresses.setdefault(target, str(address))

    def _add(self, key: str, name: object, address: object) -> None:
        if name:
            self.names[key] = str(name)
        if address:
            self.addresses[key] = str(address)

    def name(self, target: str) -> str | None:
        """The inventory name of a target (``classroom/room101/downstream``: the classroom's)."""
        head = "/".join(target.split("/", 2)[:2])
        return self.names.get(target) or self.names.get(head)

    def label(self, target: str) -> str:
        """``target`` with its name and address: ``device/access-h3c · 实验楼接入交换机 · 10.200.30.12``."""
        head = "/".join(target.split("/", 2)[:2])
        parts = [target]
        name = self.name(target)
        if name and name not in target:
            parts.append(name)
        address = self.addresses.get(target) or self.addresses.get(head)
        if address and address not in target:
            parts.append(address)
        return " · ".join(parts)


# ------------------------------------------------------------------ 测评记录


def items(report: JsonDict, lang: str) -> list[JsonDict]:
    """Every profile item with the assessor's verdict: GB/T 22239 first, then the others."""
    report = upgrade_report(report)
    out = view.assessor_items(report, lang)
    done = {i["profile"] for i in out}
    by_id = {f["id"]: f for f in report.get("findings", []) if f.get("id")}
    for ind in report.get("indicators", []):
        if ind.get("profile") in done:
            continue
        found = [by_id[i] for i in ind.get("findings", []) if i in by_id]
        targets: dict[str, list[str]] = {}
        for f in found:
            if f["target"] not in targets.setdefault(f["status"], []):
                targets[f["status"]].append(f["target"])
        out.append({
            "profile": ind["profile"], "clause": ind["indicator"], "path": list(ind.get("path", [])),
            "title": ind.get("title", ""), "status": ind["status"],
            "verdict": view.assessor_verdict(ind, by_id), "targets": targets,
            "findings": [f["id"] for f in found],
            "evidence": sorted({a for f in found for a in f.get("artifacts", [])}),
            "manual": list(ind.get("manual", [])), "attested_by": list(ind.get("attested_by", [])),
        })
    order = [p["id"] for p in report.get("profiles", [])]
    gbt_first = sorted(range(len(out)), key=lambda n: (
        not str(out[n]["profile"]).startswith("gbt22239"),
        order.index(out[n]["profile"]) if out[n]["profile"] in order else len(order), n))
    return [out[n] for n in gbt_first]


def targets_by_outcome(item: JsonDict) -> dict[str, list[str]]:
    """An item's targets as the record's columns: passed, failed (or waived), not measured,
    not applicable."""
    t = item.get("targets", {})
    return {
        "pass": list(t.get("pass", [])),
        "fail": [*t.get("fail", []), *t.get("waived", [])],
        "unmeasured": [x for s in _UNMEASURED for x in t.get(s, [])],
        "not_applicable": list(t.get("not_applicable", [])),
    }


def item_counts(rows: Iterable[JsonDict], L: dict[str, str]) -> str:
    """``符合 3，部分符合 2，…`` in the order of the assessor's verdicts."""
    counts = Counter(r["verdict"] for r in rows)
    return L["x.sep"].join(f"{L['av.' + v]} {counts[v]}" for v in view.ASSESSOR_VERDICTS if counts.get(v))


# ------------------------------------------------------------------ 问题清单


@dataclass
class Fix:
    """The commands that fix one finding on one device, in the device's own syntax."""

    target: str
    label: str
    commands: list[str]


@dataclass
class Issue:
    no: int
    id: str
    title: str
    status: str
    severity: str
    risk: str
    owner: str
    effort: str
    deadline: date
    points: float
    targets: list[str]
    texts: list[str]
    remediation: str
    clauses: list[str]
    fixes: list[Fix] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def issues(report: JsonDict, lang: str, L: dict[str, str]) -> list[Issue]:
    """The rolled-up issues in the order to fix them, each with a deadline and per-device fixes."""
    report = upgrade_report(report)
    names = Names(report)
    out = []
    for n, i in enumerate(view.issues(report, lang), start=1):
        fixes = [Fix(f["target"], names.label(f["target"]), [clean(c) for c in f.get("fix") or []])
                 for f in i["findings"] if f.get("fix")]
        clauses = [f"{profile_short(c['profile'], L)} {c['clause']} {c.get('title') or ''}".strip()
                   for c in i["clauses"]]
        risk = i["risk"] if i["risk"] in RISKS else "low"
        out.append(Issue(
            no=n, id=str(i["id"]), title=clean(i["title"] or i["text"], 2000), status=i["status"],
            severity=i["severity"], risk=risk, owner=i["owner"], effort=i["effort"],
            deadline=deadline(report, risk), points=float(i["points"]),
            targets=[names.label(t) for t in i["targets"]],
            texts=list(dict.fromkeys(clean(t, 2000) for t in i["texts"])),
            remediation=clean(i["remediation"]), clauses=clauses, fixes=fixes, checks=list(i["checks"])))
    return out


def owner_label(owner: str, L: dict[str, str]) -> str:
    return L.get(f"owner.{owner}", owner)


def effort_label(effort: str, L: dict[str, str]) -> str:
    return L.get(f"effort.{effort}", effort)


def fixes_text(fixes: Sequence[Fix]) -> str:
    """Per-device commands for a cell: the device, then its commands, a blank line between."""
    return "\n\n".join(f"{fx.label}:\n" + "\n".join(fx.commands) for fx in fixes)


# ------------------------------------------------------------------ 系统构成


@dataclass(frozen=True)
class Component:
    kind: str
    id: str
    name: str = ""
    address: str = ""
    vendor: str = ""
    model: str = ""
    role: str = ""
    location: str = ""
    notes: str = ""


def _join(values: Iterable[object], sep: str = ", ") -> str:
    return sep.join(str(v) for v in values if v not in (None, ""))


def _port(ref: Any) -> str:
    return f"{ref.get('device')} {ref.get('port')}" if isinstance(ref, dict) else ""


def components(report: JsonDict, L: dict[str, str]) -> list[Component]:  # noqa: PLR0912 - one branch per kind
    """Every device, server, firewall, backup target, classroom, Wi-Fi area, uplink and link."""
    topo = report.get("topology") or {}
    comp = (report.get("site") or {}).get("components")
    out: list[Component] = []
    for node in topo.get("nodes", []):
        if node.get("external"):
            continue
        notes = [] if node.get("seen", True) else [L["x.not_seen"]]
        if node.get("sys_name"):
            notes.append(f"{L['x.sys_name']} {node['sys_name']}")
        out.append(Component(
            L["x.kind.device"], str(node.get("id", "")), str(node.get("name") or ""),
            str(node.get("address") or ""), str(node.get("vendor") or node.get("snmp_vendor") or ""),
            str(node.get("platform") or ""), L.get(f"x.role.{node.get('role')}", str(node.get("role") or "")),
            notes=_join(notes, "; ")))
    if comp is None:
        out += _components_from_plan(report, L)
    else:
        for s in comp.get("servers", []):
            out.append(Component(L["x.kind.server"], s["id"], s.get("name") or "", s.get("address") or "",
                                 role=f"{L['x.zone']} {s['zone']}" if s.get("zone") else ""))
        for f in comp.get("firewalls", []):
            notes = []
            if f.get("outside_addresses"):
                notes.append(f"{L['x.outside']} {_join(f['outside_addresses'])}")
            if f.get("device"):
                notes.append(f"{L['x.ruleset_from']} {f['device']}")
            out.append(Component(L["x.kind.firewall"], f["id"], f.get("name") or "",
                                 f.get("management_address") or "", notes=_join(notes, "; ")))
        for b in comp.get("backups", []):
            notes = [f"{L['x.system']} {b['system']}"] if b.get("system") else []
            if b.get("offsite_host"):
                notes.append(f"{L['x.offsite']} {b['offsite_host']}")
            out.append(Component(L["x.kind.backup"], b["id"], b.get("name") or "", b.get("host") or "",
                                 notes=_join(notes, "; ")))
        for c in comp.get("classrooms", []):
            where = [c.get("building"), f"{L['x.access_port']} {_port(c['access_port'])}"
                     if c.get("access_port") else None]
            room = [f"{L['x.rate']} {c['rate_mbps']} Mbit/s" if c.get("rate_mbps") else None,
                    f"{L['x.endpoint']} {c['endpoint']}" if c.get("endpoint") else None]
            out.append(Component(L["x.kind.classroom"], c["id"], c.get("name") or "", c.get("endpoint") or "",
                                 location=_join(where, "; "), notes=_join(room, "; ")))
        for a in comp.get("wifi_areas", []):
            out.append(Component(L["x.kind.wifi_area"], a["id"], a.get("name") or "",
                                 role=L.get(f"x.area_class.{a.get('area_class')}", str(a.get("area_class")))))
        up = comp.get("uplink")
        if up:
            for e in up.get("endpoints", []):
                link = [f"{L['x.rate']} {up.get('rate_mbps')} Mbit/s",
                        L.get(f"x.medium.{up.get('medium')}", str(up.get("medium") or "")),
                        f"{L['x.provider']} {up['provider']}" if up.get("provider") else None]
                port = f"{L['x.uplink_port']} {_port(up['port'])}" if up.get("port") else ""
                out.append(Component(L["x.kind.uplink"], e["id"], e.get("name") or "", e.get("address") or "",
                                     location=port, notes=_join(link, "; ")))
    for link in topo.get("links", []):
        a = f"{link.get('a')} {link.get('a_port')}"
        b = f"{link.get('b')} {link.get('b_port')}"
        out.append(Component(L["x.kind.link"], f"{link.get('a')}—{link.get('b')}", location=f"{a} ↔ {b}",
                             notes="" if link.get("b_in_inventory", True) else L["not_in_inventory"]))
    for name in topo.get("unknown_neighbours", []):
        out.append(Component(L["x.kind.neighbour"], str(name), notes=L["not_in_inventory"]))
    return out


_PLAN_KINDS = {"host": "x.kind.server", "firewall": "x.kind.firewall", "backup": "x.kind.backup",
               "classroom": "x.kind.classroom", "area": "x.kind.wifi_area", "uplink": "x.kind.uplink"}


def _components_from_plan(report: JsonDict, L: dict[str, str]) -> list[Component]:
    """Servers, rooms and the rest as the audit plan names them (reports without site.components)."""
    seen: dict[tuple[str, str], str] = {}
    for task in report.get("plan", []):
        parts = str(task.get("target", "")).split("/")
        if len(parts) < 2 or parts[0] not in _PLAN_KINDS:
            continue
        key = (parts[0], parts[1])
        if key not in seen or (not seen[key] and task.get("address")):
            address = task.get("address") if parts[0] not in ("firewall",) else ""
            seen[key] = str(address or "")
    order = list(_PLAN_KINDS)
    return [Component(L[_PLAN_KINDS[kind]], ident, address=addr, notes=L["x.from_plan"])
            for (kind, ident), addr in sorted(seen.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))]


# ------------------------------------------------------------------ 带宽


@dataclass(frozen=True)
class Bandwidth:
    link: str
    kind: str
    direction: str
    median: float
    low: float
    high: float
    threshold: float | int | None
    rate: float | int | None
    share: float | None
    retransmits: float | int | None
    rtt_ms: float | int | None
    status: str


def _num(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def bandwidth(report: JsonDict, L: dict[str, str]) -> list[Bandwidth]:
    """Each measured link and direction, from :func:`charts.bandwidth_rows`."""
    names = Names(report)
    out = []
    for row in charts.bandwidth_rows(report):
        subject = str(getattr(row, "subject", "") or "")
        if not subject:  # rows before they named their subject: "room101/downstream", "uplink district/…"
            label = row.label.replace("uplink ", "uplink/", 1)
            subject = label if label.startswith("uplink/") else f"classroom/{label}"
        parts = subject.split("/")
        kind = parts[0]
        direction = parts[-1] if len(parts) >= 3 else ""
        ident = parts[1] if len(parts) >= 2 else subject
        name = names.name(subject)
        rate = _num(row.rate)
        median = float(row.median)
        out.append(Bandwidth(
            link=f"{ident} {name}" if name and name != ident else ident,
            kind=L.get(f"x.link.{kind}", kind), direction=L.get(f"x.direction.{direction}", direction),
            median=median, low=float(getattr(row, "minimum", None) or row.low), high=float(row.high),
            threshold=_num(row.threshold), rate=rate,
            share=round(100 * median / rate, 1) if rate else None,
            retransmits=_num(getattr(row, "retransmits", None)), rtt_ms=_num(getattr(row, "rtt_ms", None)),
            status=L.get(row.status, row.status)))
    return out


# ------------------------------------------------------------------ the document's facts


def school(report: JsonDict) -> JsonDict:
    return dict((report.get("site") or {}).get("school") or {})


def period(report: JsonDict) -> str:
    """When the run started and ended, in the school's time zone (as the other renderings)."""
    run = report.get("run") or {}
    zone = view.local_zone(report)
    return f"{view.local_time(run.get('started_at'), zone)} – {view.local_time(run.get('finished_at'), zone)}"


def finding_counts(report: JsonDict, L: dict[str, str]) -> str:
    counts = Counter(f.get("status") for f in report.get("findings", []))
    order = ("pass", "fail", "error", "skipped", "waived", "manual", "not_applicable")
    return L["x.sep"].join(f"{L.get(s, s)} {counts[s]}" for s in order if counts.get(s))


def untrusted_text(signer: str, L: dict[str, str]) -> str:
    return f"{L['untrusted_title']}: {L['untrusted_text']} {signer}. {L['untrusted_fix']}"


# ------------------------------------------------------------------ reproducible zip files


def stable_zip(data: bytes, when: datetime) -> bytes:
    """The same zip (entries, order, contents) with every entry dated ``when`` (UTC, whole
    seconds), deflated, so the bytes depend only on the contents."""
    stamp = max(when.astimezone(UTC), EPOCH).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename), compresslevel=6)
    return out.getvalue()
