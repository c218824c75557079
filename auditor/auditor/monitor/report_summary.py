"""The monitoring timeline of an audit's report: what ``auditor monitor run`` measured on this agent
in the days before the audit, read from its local store, for ``report["monitoring"]``.

At run time, before the report is signed (the ``before_sign`` hook of ``auditor run``, beside the
bandwidth trend of :mod:`auditor.history.trend`), :func:`monitoring_hook` reads the store
(``<dir>/monitor.sqlite``, read-only: the monitor may be writing it) and puts under
``report["monitoring"]`` the last ``days`` school-zone days up to the audit's start (the audit's
own day until it started)::

    "monitoring": {
        "status": "data",                      # or "no_data", with "reason" and "text"
        "reason": null, "text": null,
        "window": {"days": 7, "start": "…Z", "end": "…Z", "timezone": "Asia/Shanghai",
                   "interval_min": 5},
        "source": {"path": "/var/lib/…/monitor.sqlite", "school": "T-1", "agents": ["box"],
                   "samples": {"reach": 6048, "dns": 2016, "throughput": 56, "heartbeat": 2016},
                   "in_window": {…the same, this school's samples in the window…},
                   "first_at": "…Z", "last_at": "…Z", "other_schools": {}, "unattributed": 0},
        "totals": {"uptime_pct": 99.6, "reach_sent": 30240, "loss_pct": 0.3, "dns_lookups": 2016,
                   "dns_failures": 3, "tests": 56, "valid_tests": 54, "below_contract": 4,
                   "invalid_tests": 2, "outages": 1, "outage_minutes": 15.0},
        "days": [{"date": "2026-12-01", "start": "…Z", "end": "…Z", "uptime_pct": 99.7, "heartbeats": 287,
                  "not_measuring": 0, "before_monitoring": false,
                  "reach": [{"target": "wan1/metro", "uplink": "wan1", "samples": 288, "sent": 1440,
                             "received": 1437, "loss_pct": 0.2, "rtt_median_ms": 3.1}],
                  "dns": {"lookups": 288, "failures": 0},
                  "tests": {"valid": 8, "invalid": 0, "below_contract": 1}}],
        "reach": [{…per target over the window…}],
        "dns": [{"name": "www.bjedu.cn", "lookups": 2016, "failures": 3, "resolve_median_ms": 4.2}],
        "uplinks": [{"id": "wan1", "provider": "中国电信", "down_mbps": 500, "up_mbps": 100,
                     "reach_samples": 2016, "outages": [{"start": "…Z", "end": "…Z",
                                                         "minutes": 15.0, "ongoing": false}]}],
        "throughput": [{"at": "…Z", "uplink": "wan1", "direction": "down", "mbps": 431.2,
                        "valid": true, "reason": null, "contracted_mbps": 500,
                        "pct_of_contract": 86.2, "below_contract": true}],
        "budget": {"month": "2026-12", "used_bytes": 1200000000, "limit_bytes": 50000000000,
                   "used_pct": 2.4}
    }

The evidence rule holds: no store, a store that cannot be read, an empty store, a store whose
samples of the window are another school's, or samples all outside the window give ``"status":
"no_data"`` with the reason (``reason``: a code; ``text``: the sentence in Chinese and English),
never an "all good". Within a section with data, each figure says what it rests on: a day before
the store's first sample has ``uptime_pct`` null (``before_monitoring``), an uplink without reach
samples has ``reach_samples`` 0 (its empty ``outages`` are unmeasured, not "no outage"), a test
without a contracted rate has ``below_contract`` null.

Which school a sample is of: the batch that carries it to the district names the school and the
agent (the monitor batches every round's samples in the same tick); samples not batched yet are
of the school of the newest batch. Uptime is the share of the day (from the store's first sample
on) in which heartbeats show the monitor running: a heartbeat stands for the time up to the next
one when that follows within two intervals, else for one interval. Outages are as the district
computes them (``auditor.district.monitoring.outages``): per endpoint from the first probe lost
to the first answered again (a gap in the samples of more than two intervals ends it one
interval after its last lost probe, ``ongoing`` when nothing answered since), an uplink being out
while all its endpoints are.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from auditor.inventory import Inventory
from auditor.messages import both, msg
from auditor.monitor.store import DB_NAME
from auditor.wire.monitoring import Sample
from auditor.wire.outages import Outage
from auditor.wire.outages import uplink_outages as outages_of

KEY = "monitoring"
DEFAULT_DAYS = 7
KINDS = ("reach", "dns", "throughput", "heartbeat")

JsonDict = dict[str, Any]


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stored(moment: datetime) -> str:
    """A time as the store writes it (``Store._iso``), for comparing with its ``at`` column."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Window:
    """The ``days`` school-zone days before the audit: from midnight of the first to ``end``."""

    start: datetime
    end: datetime
    days: int
    zone: ZoneInfo
    interval: timedelta

    @classmethod
    def before(cls, end: datetime, days: int, inv: Inventory) -> Window:
        zone = ZoneInfo(inv.schedule.timezone)
        first = end.astimezone(zone).date() - timedelta(days=days - 1)
        return cls(datetime.combine(first, time(0), zone), end, days, zone,
                   timedelta(minutes=inv.monitoring.interval_min))

    def dates(self) -> list[date]:
        first = self.start.astimezone(self.zone).date()
        return [first + timedelta(days=i) for i in range(self.days)]

    def span(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(0), self.zone)
        end = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return max(start, self.start), min(end, self.end)

    def to_json(self) -> JsonDict:
        return {"days": self.days, "start": _z(self.start), "end": _z(self.end),
                "timezone": self.zone.key, "interval_min": self.interval.total_seconds() / 60}


@dataclass
class StoreView:
    """What the store holds: its counts, and this window's samples by school."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # every sample, by kind
    first_at: datetime | None = None
    last_at: datetime | None = None
    samples: list[Sample] = field(default_factory=list)  # this school's, in the window
    agents: set[str] = field(default_factory=set)
    other_schools: Counter[str] = field(default_factory=Counter)  # in the window
    unattributed: int = 0  # in the window, of no school
    meta: dict[str, str] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)


def read_store(path: Path, school: str, window: Window) -> StoreView:
    """The store at ``path``, read-only (raises ``sqlite3.Error`` for a file SQLite cannot read)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return _read(db, path, school, window)
    finally:
        db.close()


def _read(db: sqlite3.Connection, path: Path, school: str, window: Window) -> StoreView:
    view = StoreView(path)
    first = last = None
    counts = db.execute("SELECT kind, COUNT(*), MIN(at), MAX(at) FROM samples GROUP BY kind")
    for kind, count, lo, hi in counts:
        view.counts[str(kind)] = int(count)
        first = lo if first is None or lo < first else first
        last = hi if last is None or hi > last else last
    view.first_at = None if first is None else datetime.fromisoformat(first)
    view.last_at = None if last is None else datetime.fromisoformat(last)
    bounds = (_stored(window.start - 2 * window.interval), _stored(window.end))
    batches: dict[int, tuple[str | None, str | None]] = {}
    for seq, sch, agent in db.execute(
            "SELECT seq, json_extract(body, '$.school'), json_extract(body, '$.agent') FROM batches "
            "WHERE seq IN (SELECT DISTINCT batch_seq FROM samples WHERE at >= ? AND at < ?) "
            "OR seq = (SELECT MAX(seq) FROM batches)", bounds):
        batches[int(seq)] = (sch, agent)
    newest = batches[max(batches)] if batches else (None, None)
    rows = db.execute("SELECT body, batch_seq FROM samples WHERE at >= ? AND at < ? ORDER BY at, id", bounds)
    for body, seq in rows:
        owner, agent = batches.get(int(seq), (None, None)) if seq is not None else newest
        try:
            sample = Sample.model_validate_json(body)
        except ValidationError:
            continue  # the monitor validated it before storing it: not reached in practice
        early = sample.at < window.start  # read for the uptime and outages that cross midnight
        if owner == school:
            view.samples.append(sample)
            if agent and not early:
                view.agents.add(str(agent))
        elif not early:
            if owner is None:
                view.unattributed += 1
            else:
                view.other_schools[str(owner)] += 1
    view.meta = {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta")}
    view.budget = {str(m): int(b) for m, b in db.execute("SELECT month, used_bytes FROM budget")}
    return view


# ------------------------------------------------------------------------------ the section

def no_data(reason: str, text: Any, window: Window | None, source: JsonDict) -> JsonDict:
    """A section that says there is no monitoring data, and why (``text``: a catalogue Msg)."""
    return {"status": "no_data", "reason": reason, "text": both(text),
            "window": None if window is None else window.to_json(), "source": source}


def summarise(directory: Path, inv: Inventory, end: datetime, days: int = DEFAULT_DAYS) -> JsonDict:
    """``report["monitoring"]`` from the store in ``directory`` for the ``days`` before ``end``
    (the audit's start). Raises ``sqlite3.Error`` for a store that cannot be read."""
    window = Window.before(end, days, inv)
    path = directory / DB_NAME
    school = inv.school.code or inv.school.name
    if not path.is_file():
        return no_data("no_store", msg("monitoring.no_store", path=str(path)), window, {"path": str(path)})
    view = read_store(path, school, window)
    source = _source(view, school, window)
    if not view.counts:
        return no_data("empty_store", msg("monitoring.empty_store", path=str(path)), window, source)
    inside = [s for s in view.samples if s.at >= window.start]
    if not inside:
        if view.other_schools:
            return no_data("other_school", msg("monitoring.other_school", path=str(path), days=days,
                                               schools=sorted(view.other_schools), school=school),
                           window, source)
        if view.unattributed:
            return no_data("unattributed", msg("monitoring.unattributed", path=str(path)), window, source)
        first = "" if view.first_at is None else _local(view.first_at, window.zone)
        last = "" if view.last_at is None else _local(view.last_at, window.zone)
        return no_data("outside_window", msg("monitoring.outside_window", path=str(path), days=days,
                                             first=first, last=last), window, source)
    tests = _tests(inside, inv)
    days_ = _days(view, window, tests)
    reach = _reach_rows(s for s in inside if s.kind == "reach")
    dns = _dns_rows(s for s in inside if s.kind == "dns")
    uplinks = _uplinks(view.samples, inv, window)
    return {
        "status": "data", "reason": None, "text": None,
        "window": window.to_json(), "source": source,
        "totals": _totals(view, window, days_, reach, dns, tests, uplinks),
        "days": days_, "reach": reach, "dns": dns, "uplinks": uplinks, "throughput": tests,
        "budget": _budget(view, inv, window),
    }


def _totals(view: StoreView, window: Window, days: Sequence[JsonDict], reach: Sequence[JsonDict],
            dns: Sequence[JsonDict], tests: Sequence[JsonDict], uplinks: Sequence[JsonDict]) -> JsonDict:
    """The window's figures: uptime over the days measured (weighted by their monitored time), reach
    loss over every probe, DNS failures, tests, outages (None where nothing measured them)."""
    weights = []
    for day in days:
        if day["uptime_pct"] is None:
            continue
        lo, hi = (datetime.fromisoformat(day[k].replace("Z", "+00:00")) for k in ("start", "end"))
        if view.first_at is not None:
            lo = max(lo, view.first_at)
        weights.append(((hi - lo).total_seconds(), float(day["uptime_pct"])))
    seconds = sum(w for w, _u in weights)
    sent = sum(r["sent"] for r in reach)
    probed = [u for u in uplinks if u["reach_samples"]]
    return {
        "uptime_pct": round(sum(w * u for w, u in weights) / seconds, 1) if seconds else None,
        "reach_sent": sent, "loss_pct": _pct(sent - sum(r["received"] for r in reach), sent),
        "dns_lookups": sum(d["lookups"] for d in dns), "dns_failures": sum(d["failures"] for d in dns),
        "tests": len(tests), "valid_tests": sum(1 for t in tests if t["valid"]),
        "below_contract": sum(1 for t in tests if t["below_contract"]),
        "invalid_tests": sum(1 for t in tests if not t["valid"]),
        "outages": sum(len(u["outages"]) for u in probed) if probed else None,
        "outage_minutes": round(sum(o["minutes"] for u in probed for o in u["outages"]), 1)
        if probed else None,
    }


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M}"


def _source(view: StoreView, school: str, window: Window) -> JsonDict:
    inside: Counter[str] = Counter(str(s.kind) for s in view.samples if s.at >= window.start)
    return {
        "path": str(view.path), "school": school, "agents": sorted(view.agents),
        "samples": {k: view.counts.get(k, 0) for k in KINDS},
        "in_window": {k: inside.get(k, 0) for k in KINDS},
        "first_at": None if view.first_at is None else _z(view.first_at),
        "last_at": None if view.last_at is None else _z(view.last_at),
        "other_schools": dict(sorted(view.other_schools.items())), "unattributed": view.unattributed,
    }


def _reach_row(target: str, group: Sequence[Sample]) -> JsonDict:
    sent = sum(s.sent or 0 for s in group)
    received = sum(s.received or 0 for s in group)
    rtts = [s.rtt_ms for s in group if s.rtt_ms is not None]
    return {"target": target, "uplink": next((s.uplink for s in group if s.uplink), None),
            "samples": len(group), "sent": sent, "received": received,
            "loss_pct": _pct(sent - received, sent),
            "rtt_median_ms": round(statistics.median(rtts), 3) if rtts else None}


def _reach_rows(samples: Iterable[Sample]) -> list[JsonDict]:
    by_target: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_target[s.target].append(s)
    return [_reach_row(t, g) for t, g in sorted(by_target.items())]


def _dns_rows(samples: Iterable[Sample]) -> list[JsonDict]:
    by_name: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_name[s.target].append(s)
    out = []
    for name, group in sorted(by_name.items()):
        times = [s.resolve_ms for s in group if s.ok and s.resolve_ms is not None]
        out.append({"name": name, "lookups": len(group), "failures": sum(1 for s in group if not s.ok),
                    "resolve_median_ms": round(statistics.median(times), 3) if times else None})
    return out


def _contracts(inv: Inventory) -> dict[str, tuple[str, float, float]]:
    return {u.id: (u.contract.provider, u.contract.down_mbps, u.contract.up_mbps)
            for u in inv.uplinks() if u.contract is not None}


def _tests(samples: Sequence[Sample], inv: Inventory) -> list[JsonDict]:
    contracts = _contracts(inv)
    out = []
    for s in samples:
        if s.kind != "throughput" or s.uplink is None or s.direction is None:
            continue
        contract = contracts.get(s.uplink)
        rate = None if contract is None else (contract[1] if s.direction == "down" else contract[2])
        judged = s.mbps if s.valid and rate is not None else None  # a valid rate, against a contract
        out.append({"at": _z(s.at), "uplink": s.uplink, "direction": s.direction, "mbps": s.mbps,
                    "valid": bool(s.valid), "reason": s.reason, "contracted_mbps": rate,
                    "pct_of_contract": None if judged is None or rate is None else _pct(judged, rate),
                    "below_contract": None if judged is None or rate is None else judged < rate})
    return out


def _covered(beats: Sequence[datetime], interval: timedelta,
             end: datetime) -> list[tuple[datetime, datetime]]:
    """The spans the heartbeats show the monitor running (see the module's text)."""
    spans: list[tuple[datetime, datetime]] = []
    for at, nxt in zip(beats, [*beats[1:], None], strict=True):
        until = nxt if nxt is not None and nxt - at <= 2 * interval else at + interval
        until = min(until, end)
        if spans and spans[-1][1] >= at:
            spans[-1] = (spans[-1][0], max(spans[-1][1], until))
        elif until > at:
            spans.append((at, until))
    return spans


def _overlap(spans: Sequence[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> float:
    return sum(max(0.0, (min(b, hi) - max(a, lo)).total_seconds()) for a, b in spans)


def _days(view: StoreView, window: Window, tests: Sequence[JsonDict]) -> list[JsonDict]:
    beats = sorted(s.at for s in view.samples if s.kind == "heartbeat")
    covered = _covered(beats, window.interval, window.end)
    began = view.first_at
    out = []
    for day in window.dates():
        lo, hi = window.span(day)
        start = max(lo, began) if began is not None else hi
        of_day = [s for s in view.samples if lo <= s.at < hi]
        day_beats = [s for s in of_day if s.kind == "heartbeat"]
        day_tests = [t for t in tests if lo <= datetime.fromisoformat(t["at"].replace("Z", "+00:00")) < hi]
        dns = [s for s in of_day if s.kind == "dns"]
        measured = start < hi
        out.append({
            "date": day.isoformat(), "start": _z(lo), "end": _z(hi),
            "before_monitoring": not measured,
            "uptime_pct": round(100 * _overlap(covered, start, hi) / (hi - start).total_seconds(), 1)
            if measured else None,
            "heartbeats": len(day_beats),
            "not_measuring": sum(1 for s in day_beats if s.reason),
            "reach": _reach_rows(s for s in of_day if s.kind == "reach"),
            "dns": {"lookups": len(dns), "failures": sum(1 for s in dns if not s.ok)},
            "tests": {"valid": sum(1 for t in day_tests if t["valid"]),
                      "invalid": sum(1 for t in day_tests if not t["valid"]),
                      "below_contract": sum(1 for t in day_tests if t["below_contract"])},
        })
    return out


def uplink_outages(samples: Sequence[Sample], uplink: str, window: Window) -> list[Outage]:
    """The uplink's outages inside the window: all its endpoints unanswered at once."""
    by_target: dict[str, list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s.at):
        if s.kind == "reach" and s.uplink == uplink:
            by_target[s.target].append(s)
    return outages_of(by_target, window.interval, [(window.start, window.end)])


def _uplinks(samples: Sequence[Sample], inv: Inventory, window: Window) -> list[JsonDict]:
    contracts = _contracts(inv)
    ids = [u.id for u in inv.uplinks()]
    ids += sorted({s.uplink for s in samples if s.uplink and s.uplink not in ids})
    out = []
    for uid in ids:
        provider, down, up = contracts.get(uid, (None, None, None))
        outages = uplink_outages(samples, uid, window)
        out.append({
            "id": uid, "provider": provider, "down_mbps": down, "up_mbps": up,
            "reach_samples": sum(1 for s in samples if s.kind == "reach" and s.uplink == uid
                                 and s.at >= window.start),
            "outages": [{"start": _z(o.start), "end": _z(o.end),
                         "minutes": round((o.end - o.start).total_seconds() / 60, 1), "ongoing": o.ongoing}
                        for o in outages],
        })
    return out


def _budget(view: StoreView, inv: Inventory, window: Window) -> JsonDict:
    month = window.end.astimezone(window.zone).strftime("%Y-%m")
    used = view.budget.get(month, 0)
    try:
        limit = int(view.meta.get("budget_limit_bytes") or 0)
    except ValueError:
        limit = 0
    limit = limit or inv.monitoring.throughput.monthly_budget_mb * 1_000_000
    return {"month": month, "used_bytes": used, "limit_bytes": limit, "used_pct": _pct(used, limit)}


# ------------------------------------------------------------------------------ the hook

def add_monitoring(report: JsonDict, directory: Path, inv: Inventory, days: int,
                   warn: Callable[[str], None]) -> JsonDict:
    """``report`` with ``monitoring`` from the store in ``directory`` (see the module's text).

    Never raises for the store: one that cannot be read gives a section without data saying why,
    a warning in the report and a call of ``warn``."""
    started = str((report.get("run") or {}).get("started_at") or "")
    try:
        end = datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        end = datetime.now(UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    try:
        section = summarise(directory, inv, end, days)
    except (sqlite3.Error, OSError, json.JSONDecodeError) as exc:
        path = directory / DB_NAME
        detail = (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
        window = Window.before(end, days, inv)
        section = no_data("unreadable", msg("monitoring.unreadable", path=str(path), detail=detail), window,
                          {"path": str(path)})
        text = f"no monitoring timeline: the monitoring store {path} could not be read: {detail}"
        warn(text)
        return {**report, KEY: section, "warnings": [*(report.get("warnings") or []), text]}
    return {**report, KEY: section}


def monitoring_hook(inv: Inventory, directory: Path, days: int = DEFAULT_DAYS,
                    warn: Callable[[str], None] = lambda _t: None) -> Callable[[JsonDict], JsonDict]:
    """A ``run_audit`` ``before_sign`` hook: adds the monitoring timeline (``monitoring``) of the
    store in ``directory`` for the ``days`` before the audit's start."""

    def hook(report: JsonDict) -> JsonDict:
        return add_monitoring(report, directory, inv, days, warn)

    return hook
