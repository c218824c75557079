"""Run-to-run regressions: what got worse (and what got better) between two stored runs.

Findings are compared by (check, target). A run may hold several findings for one pair when
its profiles asked for different parameters; those are paired by equal threshold first. When a
paired finding's threshold differs between the runs, the change is marked ``criterion_changed``
(a pass that became a fail under a stricter threshold is still a regression of the verdict,
and says so); a threshold change that left the status alone is listed, not counted.

What counts as a regression (``RunDiff.regressions``):

- a finding that went from pass to fail, error or waived (a waiver is never a pass);
- a finding new in the later run that fails, errors or is waived;
- an indicator (item) that went from pass to anything else; points lost in a score group or total;
- a goodput median that dropped by more than ``drop_fraction`` (even while still passing);
- a port newly open (nmap inside view, or the firewall's outside view);
- a host newly reported as not in the inventory;
- a device configuration whose digest changed (what ``device.config_changed`` fails on);
- an attestation or waiver that counted in the earlier run and expired before the later one
  (unless the later run carries a renewal).
"""

from __future__ import annotations

import difflib
import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from auditor.bundle import work_dir
from auditor.errors import AuditorError
from auditor.history.extract import extract, parse_time
from auditor.history.store import HistoryStore, RunInfo, open_store
from auditor.history.trend import add_bandwidth_history

BAD = frozenset({"fail", "error", "waived"})
GOODPUT = "bandwidth.goodput.median"
Row = dict[str, Any]
PortKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class Regression:
    """One thing that got worse: its kind, what it is about, and a sentence."""

    kind: str
    subject: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class FindingChange:
    """A finding whose status changed, or that is only in one run (``status_a``/``_b`` None)."""

    check: str
    target: str
    kind: str  # regressed | new_failure | fixed | changed | new | gone | threshold
    status_a: str | None
    status_b: str | None
    measured_a: float | None
    measured_b: float | None
    threshold_a: float | None
    threshold_b: float | None
    unit: str | None
    message: str

    @property
    def criterion_changed(self) -> bool:
        return (self.status_a is not None and self.status_b is not None
                and self.threshold_a != self.threshold_b)

    def describe(self) -> str:
        text = f"{self.status_a or 'absent'} → {self.status_b or 'absent'}"
        if self.measured_a is not None or self.measured_b is not None:
            text += f"; measured {_num(self.measured_a)} → {_num(self.measured_b)}{_unit(self.unit)}"
        if self.criterion_changed:
            text += (f"; threshold changed {_num(self.threshold_a)} → {_num(self.threshold_b)}"
                     f"{_unit(self.unit)}")
        return text

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "target": self.target, "kind": self.kind, "status_a": self.status_a,
                "status_b": self.status_b, "measured_a": self.measured_a, "measured_b": self.measured_b,
                "threshold_a": self.threshold_a, "threshold_b": self.threshold_b, "unit": self.unit,
                "criterion_changed": self.criterion_changed, "message": self.message}


@dataclass(frozen=True)
class IndicatorChange:
    """An item whose status changed."""

    profile: str
    indicator: str
    title: str | None
    status_a: str
    status_b: str

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "indicator": self.indicator, "title": self.title,
                "status_a": self.status_a, "status_b": self.status_b}


@dataclass(frozen=True)
class ScoreChange:
    """Points earned by a score group (or the total, ``group_id`` empty) in both runs."""

    profile: str
    group_id: str
    title: str | None
    level: int
    earned_a: float
    earned_b: float
    points: float

    @property
    def label(self) -> str:
        return f"{self.profile} {'total' if not self.group_id else self.group_id}"

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "group": self.group_id or None, "title": self.title,
                "level": self.level, "earned_a": self.earned_a, "earned_b": self.earned_b,
                "points": self.points, "change": self.earned_b - self.earned_a}


@dataclass(frozen=True)
class GoodputDrop:
    """A goodput median that fell by more than the drop fraction."""

    subject: str
    median_a: float
    median_b: float
    status_b: str | None  # the later run's finding on that link, if any

    @property
    def fraction(self) -> float:
        return (self.median_a - self.median_b) / self.median_a

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "median_a": self.median_a, "median_b": self.median_b,
                "drop_fraction": round(self.fraction, 4), "unit": "Mbit/s", "status_b": self.status_b}


@dataclass(frozen=True)
class PortChange:
    """A port open in one run and not the other."""

    view: str
    host: str
    proto: str
    port: int
    service: str | None

    @property
    def label(self) -> str:
        service = f" ({self.service})" if self.service else ""
        return f"{self.view} {self.host} {self.proto}/{self.port}{service}"

    def to_json(self) -> dict[str, Any]:
        return {"view": self.view, "host": self.host, "proto": self.proto, "port": self.port,
                "service": self.service}


@dataclass(frozen=True)
class HostChange:
    """A host the later run reports as not in the inventory, not so reported before."""

    segment: str
    ip: str
    mac: str | None

    def to_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "ip": self.ip, "mac": self.mac}


@dataclass(frozen=True)
class ConfigChange:
    """A device whose configuration digest changed, with the unified diff when both masked
    configurations could be read (intact) from the bundles on disk."""

    device: str
    sha256_a: str
    sha256_b: str
    diff: tuple[str, ...] | None
    why_no_diff: str | None

    def to_json(self) -> dict[str, Any]:
        return {"device": self.device, "sha256_a": self.sha256_a, "sha256_b": self.sha256_b,
                "diff": None if self.diff is None else "\n".join(self.diff),
                "why_no_diff": self.why_no_diff}


@dataclass(frozen=True)
class Expiry:
    """An attestation or waiver that counted in the earlier run and expired before the later."""

    kind: str  # attestation | waiver
    subject: str
    expires: date

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "expires": self.expires.isoformat()}


@dataclass
class RunDiff:
    """Everything that changed between run A (earlier) and run B (later)."""

    run_a: RunInfo
    run_b: RunInfo
    drop_fraction: float
    notes: list[str] = field(default_factory=list)
    findings: list[FindingChange] = field(default_factory=list)
    indicators: list[IndicatorChange] = field(default_factory=list)
    scores: list[ScoreChange] = field(default_factory=list)
    goodput_drops: list[GoodputDrop] = field(default_factory=list)
    ports_opened: list[PortChange] = field(default_factory=list)
    ports_closed: list[PortChange] = field(default_factory=list)
    unknown_hosts: list[HostChange] = field(default_factory=list)
    configs: list[ConfigChange] = field(default_factory=list)
    expired: list[Expiry] = field(default_factory=list)

    @property
    def regressions(self) -> list[Regression]:
        """What got worse; empty when nothing did."""
        out = [Regression("finding" if f.kind == "regressed" else "new_failure", f"{f.check} {f.target}",
                          f.describe()) for f in self.findings if f.kind in {"regressed", "new_failure"}]
        out += [Regression("indicator", f"{i.profile} {i.indicator}", f"{i.status_a} → {i.status_b}")
                for i in self.indicators if i.status_a == "pass"]
        out += [Regression("score", s.label, f"{s.earned_a:g} → {s.earned_b:g} of {s.points:g} points")
                for s in self.scores if s.earned_b < s.earned_a]
        out += [Regression("goodput_drop", d.subject, f"median {d.median_a:g} → {d.median_b:g} Mbit/s "
                           f"(-{d.fraction:.0%}; now {d.status_b or 'not judged'})")
                for d in self.goodput_drops]
        out += [Regression("open_port", p.label, "newly open") for p in self.ports_opened]
        out += [Regression("unknown_host", f"{h.segment} {h.ip}",
                           f"not in the inventory ({h.mac or 'no MAC'})") for h in self.unknown_hosts]
        out += [Regression("config_changed", c.device, f"sha256 {c.sha256_a[:12]}… → {c.sha256_b[:12]}…")
                for c in self.configs]
        out += [Regression(f"{e.kind}_expired", e.subject, f"expired {e.expires.isoformat()}")
                for e in self.expired]
        return out

    @property
    def fixed(self) -> list[FindingChange]:
        """Findings that pass now and did not before."""
        return [f for f in self.findings if f.kind == "fixed"]

    def to_json(self) -> dict[str, Any]:
        """The whole comparison as plain JSON types."""
        return {
            "run_a": self.run_a.to_json(), "run_b": self.run_b.to_json(), "drop_fraction": self.drop_fraction,
            "notes": self.notes, "regressions": [r.to_json() for r in self.regressions],
            "findings": [f.to_json() for f in self.findings],
            "indicators": [i.to_json() for i in self.indicators],
            "scores": [s.to_json() for s in self.scores],
            "goodput_drops": [d.to_json() for d in self.goodput_drops],
            "ports_opened": [p.to_json() for p in self.ports_opened],
            "ports_closed": [p.to_json() for p in self.ports_closed],
            "unknown_hosts": [h.to_json() for h in self.unknown_hosts],
            "configs": [c.to_json() for c in self.configs],
            "expired": [e.to_json() for e in self.expired],
        }

    def render(self, console: Console) -> None:
        """The human rendering ``auditor diff`` prints."""
        _render(self, console)


def diff_runs(store: HistoryStore, run_a: str | RunInfo, run_b: str | RunInfo,
              drop_fraction: float = 0.10) -> RunDiff:
    """Compare run A (earlier) with run B (later); runs by id or as ``RunInfo``."""
    a = run_a if isinstance(run_a, RunInfo) else store.run(run_a)
    b = run_b if isinstance(run_b, RunInfo) else store.run(run_b)
    rows_a, rows_b = _Rows(store, a), _Rows(store, b)
    result = RunDiff(a, b, drop_fraction, notes=_notes(a, b))
    result.findings = _findings(rows_a.get("findings"), rows_b.get("findings"))
    result.indicators = _indicators(rows_a.get("indicators"), rows_b.get("indicators"))
    result.scores = _scores(rows_a.get("scores"), rows_b.get("scores"))
    result.goodput_drops = _goodput(rows_a.get("measurements"), rows_b.get("measurements"),
                                    rows_b.get("findings"), drop_fraction, result.notes)
    result.ports_opened, result.ports_closed = _ports(rows_a.get("open_ports"), rows_b.get("open_ports"))
    result.unknown_hosts = _hosts(rows_a.get("hosts"), rows_b.get("hosts"))
    result.configs = _configs(a, b, rows_a.get("device_configs"), rows_b.get("device_configs"))
    result.expired = _expired(a, b, rows_a, rows_b)
    return result


def diff_report(store: HistoryStore, report: dict[str, Any], bundle_dir: Path,
                drop_fraction: float = 0.10) -> RunDiff | None:
    """Compare a report that is not signed yet (``bundle_dir`` holds its evidence) with the
    previous comparable run in ``store``; None when there is none, or its bundle is gone.

    Both go into a throw-away store (the previous bundle verified again, the new report as it
    is), so the comparison is exactly ``diff_runs``'s and the real store is not touched.
    """
    run = report.get("run") or {}
    school = ((report.get("site") or {}).get("school") or {}).get("code")
    started = parse_time(run.get("started_at"))
    if not school or started is None:
        return None
    profiles = [str(p.get("id")) for p in report.get("profiles", [])]
    previous = store.previous_for(str(school), profiles, started)
    if previous is None or not Path(previous.bundle_path).is_dir():
        return None
    with tempfile.TemporaryDirectory(prefix="auditor-diff-") as tmp, \
            open_store(f"sqlite:///{Path(tmp) / 'diff.sqlite'}") as scratch:
        scratch.ingest(Path(previous.bundle_path))
        keyid = str((report.get("signing") or {}).get("key_fingerprint", ""))
        rows = extract(report, str(bundle_dir), f"unsigned:{run.get('id')}", keyid, False)
        scratch.store_extracted(bundle_dir, rows)
        return diff_runs(scratch, previous.run_id, str(run["id"]), drop_fraction)


def regressions_section(diff: RunDiff) -> dict[str, Any]:
    """What a report says about the run before it (``report["regressions"]``)."""
    return {
        "previous_run": diff.run_a.run_id, "previous_started_at": diff.run_a.to_json()["started_at"],
        "previous_bundle": diff.run_a.bundle_path, "drop_fraction": diff.drop_fraction,
        "items": [r.to_json() for r in diff.regressions],
        "fixed": [f"{f.check} {f.target}" for f in diff.fixed],
        "notes": list(diff.notes),
    }


def regressions_hook(out: Path, url: str | None, warn: Callable[[str], None],
                     drop_fraction: float = 0.10) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``run_audit`` ``before_sign`` hook: adds ``regressions`` (against the previous comparable
    run in the store at ``url``) and the bandwidth trend of earlier runs (``bandwidth_history``,
    ``auditor.history.trend``) to the report before it is signed. A store problem costs only
    what it prevents (no regressions, an empty trend) and calls ``warn``."""

    def hook(report: dict[str, Any]) -> dict[str, Any]:
        report = add_bandwidth_history(report, url, warn)  # never raises for the store
        try:
            with open_store(url) as store:  # the evidence is still in the bundle's work directory
                diff = diff_report(store, report, work_dir(out) if work_dir(out).is_dir() else out,
                                   drop_fraction)
        except AuditorError as exc:
            warn(f"no comparison with the previous run: {exc}")
            return report
        return report if diff is None else {**report, "regressions": regressions_section(diff)}

    return hook


class _Rows:
    """A run's child rows, loaded once per table."""

    def __init__(self, store: HistoryStore, run: RunInfo) -> None:
        self.store, self.run, self.cache = store, run, dict[str, list[Row]]()

    def get(self, table: str) -> list[Row]:
        if table not in self.cache:
            self.cache[table] = self.store.rows(table, self.run.pk)
        return self.cache[table]


def _notes(a: RunInfo, b: RunInfo) -> list[str]:
    notes = []
    if a.school_code != b.school_code:
        notes.append(f"the runs are of different schools ({a.school_code}, {b.school_code})")
    if a.profiles != b.profiles:
        notes.append(f"the runs used different profiles ({', '.join(a.profiles)}; {', '.join(b.profiles)}): "
                     "findings of checks only one of them ran show as new or gone")
    if a.started_at > b.started_at:
        notes.append("run A started after run B: the diff reads A as the earlier run")
    return notes


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


# -- findings ------------------------------------------------------------------------------------

def _group(rows: list[Row]) -> dict[tuple[str, str], list[Row]]:
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        out.setdefault((r["check"], r["target"]), []).append(r)
    return out


def _pair(a: list[Row], b: list[Row]) -> list[tuple[Row | None, Row | None]]:
    """Pair one (check, target)'s findings: equal thresholds first, then in threshold order."""
    left, right = list(a), list(b)
    pairs: list[tuple[Row | None, Row | None]] = []
    for fa in list(left):
        match = next((fb for fb in right if fb["threshold"] == fa["threshold"]), None)
        if match is not None:
            pairs.append((fa, match))
            left.remove(fa)
            right.remove(match)
    order = sorted(left, key=_threshold_key), sorted(right, key=_threshold_key)
    pairs += list(zip(order[0], order[1], strict=False))
    n = min(len(left), len(right))
    pairs += [(fa, None) for fa in order[0][n:]] + [(None, fb) for fb in order[1][n:]]
    return pairs


def _threshold_key(row: Row) -> float:
    return float("-inf") if row["threshold"] is None else float(row["threshold"])


def _classify(fa: Row | None, fb: Row | None) -> str | None:
    sa, sb = (fa or {}).get("status"), (fb or {}).get("status")
    if fa is None:
        return "new_failure" if sb in BAD else "new"
    if fb is None:
        return "gone"
    if sa == sb:
        return "threshold" if fa["threshold"] != fb["threshold"] else None
    if sa == "pass" and sb in BAD:
        return "regressed"
    return "fixed" if sb == "pass" else "changed"


def _findings(rows_a: list[Row], rows_b: list[Row]) -> list[FindingChange]:
    ga, gb = _group(rows_a), _group(rows_b)
    out = []
    for key in sorted(set(ga) | set(gb)):
        for fa, fb in _pair(ga.get(key, []), gb.get(key, [])):
            kind = _classify(fa, fb)
            if kind is None:
                continue
            ref = fb or fa
            assert ref is not None
            out.append(FindingChange(
                key[0], key[1], kind, (fa or {}).get("status"), (fb or {}).get("status"),
                (fa or {}).get("measured"), (fb or {}).get("measured"), (fa or {}).get("threshold"),
                (fb or {}).get("threshold"), ref["unit"], ref["message"]))
    return out


# -- indicators and scores -----------------------------------------------------------------------

def _indicators(rows_a: list[Row], rows_b: list[Row]) -> list[IndicatorChange]:
    before = {(r["profile"], r["indicator"]): r for r in rows_a}
    out = []
    for r in rows_b:
        old = before.get((r["profile"], r["indicator"]))
        if old is not None and old["status"] != r["status"]:
            out.append(IndicatorChange(r["profile"], r["indicator"], r["title"], old["status"], r["status"]))
    return out


def _scores(rows_a: list[Row], rows_b: list[Row]) -> list[ScoreChange]:
    before = {(r["profile"], r["group_id"]): r for r in rows_a}
    out = []
    for r in rows_b:
        old = before.get((r["profile"], r["group_id"]))
        if old is not None and old["earned"] != r["earned"]:
            out.append(ScoreChange(r["profile"], r["group_id"], r["title"], r["level"], old["earned"],
                                   r["earned"], r["points"]))
    return out


# -- measurements, ports, hosts ------------------------------------------------------------------

def _goodput(rows_a: list[Row], rows_b: list[Row], findings_b: list[Row], fraction: float,
             notes: list[str]) -> list[GoodputDrop]:
    before = {r["subject"]: r for r in rows_a if r["name"] == GOODPUT}
    status = {f["target"]: f["status"] for f in findings_b if f["check"].startswith("bandwidth.")}
    out = []
    for r in sorted((r for r in rows_b if r["name"] == GOODPUT), key=lambda r: r["subject"]):
        old = before.get(r["subject"])
        if old is None or old["value"] <= 0:
            continue
        if not (old["valid"] and r["valid"]):
            notes.append(f"goodput of {r['subject']} not compared: a measurement was flagged invalid")
            continue
        if (old["value"] - r["value"]) / old["value"] > fraction:
            out.append(GoodputDrop(r["subject"], old["value"], r["value"], status.get(r["subject"])))
    return out


def _port_set(rows: Iterable[Row]) -> dict[PortKey, Row]:
    return {(r["view"], r["host"], r["proto"], r["port"]): r for r in rows}


def _ports(rows_a: list[Row], rows_b: list[Row]) -> tuple[list[PortChange], list[PortChange]]:
    a, b = _port_set(rows_a), _port_set(rows_b)

    return _port_changes(b, set(b) - set(a)), _port_changes(a, set(a) - set(b))


def _port_changes(rows: dict[PortKey, Row], keys: set[PortKey]) -> list[PortChange]:
    return [PortChange(k[0], k[1], k[2], k[3], rows[k]["service"]) for k in sorted(keys)]


def _host_key(row: Row) -> tuple[str, str]:
    return row["segment"], row["mac"] or row["ip"]


def _hosts(rows_a: list[Row], rows_b: list[Row]) -> list[HostChange]:
    before = {_host_key(r) for r in rows_a if r["known"] is False}
    return [HostChange(r["segment"], r["ip"], r["mac"])
            for r in sorted(rows_b, key=lambda r: (r["segment"], r["ip"]))
            if r["known"] is False and _host_key(r) not in before]


# -- configurations ------------------------------------------------------------------------------

def _configs(a: RunInfo, b: RunInfo, rows_a: list[Row], rows_b: list[Row]) -> list[ConfigChange]:
    before = {r["device"]: r for r in rows_a}
    out = []
    for r in sorted(rows_b, key=lambda r: r["device"]):
        old = before.get(r["device"])
        if old is None or old["config_sha256"] == r["config_sha256"]:
            continue
        text_a, why_a = _read_config(a, old)
        text_b, why_b = _read_config(b, r)
        diff = None
        if text_a is not None and text_b is not None:
            diff = tuple(difflib.unified_diff(
                text_a.splitlines(), text_b.splitlines(), f"{a.run_id[:8]}/{old['artifact_path']}",
                f"{b.run_id[:8]}/{r['artifact_path']}", lineterm="", n=2))
        out.append(ConfigChange(r["device"], old["config_sha256"], r["config_sha256"], diff, why_a or why_b))
    return out


def _read_config(run: RunInfo, row: Row) -> tuple[str | None, str | None]:
    """The masked configuration from the bundle, if it is there and still the signed file."""
    if not row["artifact_path"]:
        return None, f"run {run.run_id[:8]} names no configuration file"
    path = Path(run.bundle_path) / row["artifact_path"]
    try:
        data = path.read_bytes()
    except OSError:
        return None, f"{path} is not readable (bundle moved or pruned?)"
    if hashlib.sha256(data).hexdigest() != row["artifact_sha256"]:
        return None, f"{path} is not the file the run signed (altered)"
    return data.decode("utf-8", errors="replace"), None


# -- attestations and waivers --------------------------------------------------------------------

def _expired(a: RunInfo, b: RunInfo, rows_a: _Rows, rows_b: _Rows) -> list[Expiry]:
    """What counted in A and no longer counts in B because its date passed: B's own verdict on
    the same record when B carries it, else its expiry against B's (UTC) start date; a renewal
    in B (another record for the same thing that counts) is not an expiry."""
    day_b = b.started_at.date()
    atts_b = {(r["target"], r["by"], r["at"]): r for r in rows_b.get("attestations")}
    renewed = {r["target"] for r in atts_b.values() if not r["expired"]}
    out = []
    for r in rows_a.get("attestations"):
        later = atts_b.get((r["target"], r["by"], r["at"]))
        lapsed = later["expired"] if later is not None else _before(r["expires"], day_b)
        if not r["expired"] and lapsed and r["target"] not in renewed and r["expires"] is not None:
            out.append(Expiry("attestation", f"{r['target']} (by {r['by']})", r["expires"]))
    waivers_b = {(*_waiver_key(r), r["start"], r["expires"]): r for r in rows_b.get("waivers")}
    renewed_w = {_waiver_key(r) for r in waivers_b.values() if r["in_force"]}
    for r in rows_a.get("waivers"):
        later = waivers_b.get((*_waiver_key(r), r["start"], r["expires"]))
        lapsed = not later["in_force"] if later is not None else _before(r["expires"], day_b)
        if r["in_force"] and lapsed and _waiver_key(r) not in renewed_w:
            out.append(Expiry("waiver", _waiver_label(r), r["expires"]))
    return out


def _before(expires: date | None, day: date) -> bool:
    return expires is not None and expires < day


def _waiver_key(row: Row) -> tuple[str | None, str | None, str | None]:
    return row["check"], row["target"], row["item"]


def _waiver_label(row: Row) -> str:
    return row["item"] or f"{row['check']} {row['target'] or '*'}"


# -- rendering -----------------------------------------------------------------------------------

def _header(d: RunDiff) -> str:
    def one(r: RunInfo) -> str:
        return f"{r.run_id[:8]} ({r.started_at:%Y-%m-%d %H:%M} UTC)"

    school = escape(f"{d.run_b.school_code} {d.run_b.school_name}")
    return f"[bold]{school}[/]: {one(d.run_a)} → {one(d.run_b)}"


def _table(title: str, columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _render(d: RunDiff, console: Console) -> None:
    console.print(_header(d))
    for note in d.notes:
        console.print(f"[yellow]note[/]: {escape(note)}")
    regressions = d.regressions
    if regressions:
        console.print(_table("Regressions", ("kind", "what", "change"),
                             ((r.kind, r.subject, r.detail) for r in regressions)))
    if d.fixed:
        console.print(_table("Fixed", ("check", "target", "change"),
                             ((f.check, f.target, f.describe()) for f in d.fixed)))
    others = [f for f in d.findings if f.kind in {"changed", "new", "gone", "threshold"}]
    if others:
        console.print(_table("Other finding changes", ("check", "target", "kind", "change"),
                             ((f.check, f.target, f.kind, f.describe()) for f in others)))
    improved = [s for s in d.scores if s.earned_b > s.earned_a]
    other_ind = [i for i in d.indicators if i.status_a != "pass"]
    if improved or other_ind:
        rows = [(s.label, f"{s.earned_a:g} → {s.earned_b:g} of {s.points:g} points") for s in improved]
        rows += [(f"{i.profile} {i.indicator}", f"{i.status_a} → {i.status_b}") for i in other_ind]
        console.print(_table("Other score and item changes", ("what", "change"), rows))
    if d.ports_closed:
        console.print("Ports no longer open: " + escape(", ".join(p.label for p in d.ports_closed)))
    _render_configs(d, console)
    verdict = f"[red]{len(regressions)} regression(s)[/]" if regressions else "[green]no regressions[/]"
    console.print(f"\n{verdict}, {len(d.fixed)} fixed.")


def _render_configs(d: RunDiff, console: Console) -> None:
    for c in d.configs:
        console.print(f"\n[bold]configuration of {escape(c.device)} changed[/]")
        if c.diff is None:
            console.print(f"  (no diff: {escape(c.why_no_diff or 'configuration not readable')})")
            continue
        for line in c.diff[:400]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            console.print(f"[{style}]{escape(line)}[/]" if style else escape(line), highlight=False)
        if len(c.diff) > 400:
            console.print(f"  … {len(c.diff) - 400} more line(s); see --json")
