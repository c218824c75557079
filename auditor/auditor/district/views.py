"""What the dashboard shows, read from the history tables and the district's own (no rendering).

The overview reads each school's latest run with one window query, then its profile scores, its
GB/T item verdicts and its failed findings for those runs only, so its cost grows with the
number of schools, not with the number of stored runs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from auditor.district.db import Database, utcnow
from auditor.district.i18n import CATEGORIES, category
from auditor.district.models import Key, Member, Upload
from auditor.history.models import FindingRow, IndicatorRow, Measurement, Run, RunProfile

BEIJING = "beijing-smart-campus"
GBT = "gbt22239"
GBT_BUCKETS = {"pass": "gbt_pass", "fail": "gbt_fail", "waived": "gbt_fail", "manual": "gbt_manual"}


@dataclass
class SchoolRow:
    code: str
    name: str
    via: str | None = None
    run_id: str | None = None
    run_pk: int | None = None
    started_at: datetime | None = None
    age_days: float | None = None
    stale: bool = True
    beijing: tuple[float, float] | None = None
    gbt_profile: str | None = None
    gbt: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    key_status: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failures_total(self) -> int:
        return sum(self.failures.values())


def latest_runs(school_codes: list[str] | None = None) -> Select[Any]:
    """(school, run pk) of each school's newest run."""
    ranked = select(
        Run.pk,
        Run.school_code,
        func.row_number()
        .over(partition_by=Run.school_code, order_by=(Run.started_at.desc(), Run.pk.desc()))
        .label("rank"),
    )
    if school_codes is not None:
        ranked = ranked.where(Run.school_code.in_(school_codes))
    sub = ranked.subquery()
    return select(sub.c.pk).where(sub.c.rank == 1)


def overview(
    db: Database, stale_days: int, codes: list[str] | None = None, now: datetime | None = None
) -> list[SchoolRow]:
    now = now or utcnow()
    latest = latest_runs(codes)
    with db.engine.connect() as conn:
        members = conn.execute(
            select(Member.code, Member.name, Member.via).where(Member.kind == "school")
        ).all()
        runs = conn.execute(select(Run).where(Run.pk.in_(latest))).all()
        profiles = conn.execute(select(RunProfile).where(RunProfile.run_pk.in_(latest))).all()
        gbt = conn.execute(
            select(IndicatorRow.run_pk, IndicatorRow.profile, IndicatorRow.status, func.count())
            .where(IndicatorRow.run_pk.in_(latest), IndicatorRow.profile.startswith(GBT))
            .group_by(IndicatorRow.run_pk, IndicatorRow.profile, IndicatorRow.status)
        ).all()
        fails = conn.execute(
            select(FindingRow.run_pk, FindingRow.check, func.count())
            .where(FindingRow.run_pk.in_(latest), FindingRow.status == "fail")
            .group_by(FindingRow.run_pk, FindingRow.check)
        ).all()
        keys = dict(conn.execute(select(Key.fingerprint, Key.status)).all())
    rows = {m.code: SchoolRow(m.code, m.name or "", m.via) for m in members}
    by_pk: dict[int, SchoolRow] = {}
    for r in runs:
        row = rows.setdefault(r.school_code, SchoolRow(r.school_code, r.school_name))
        row.name = r.school_name or row.name
        row.run_id, row.run_pk, row.started_at = r.run_id, r.pk, r.started_at
        row.age_days = (now - r.started_at).total_seconds() / 86400
        row.stale = row.age_days > stale_days
        row.key_status = keys.get(r.key_fingerprint, "unknown")
        row.counts = {s: getattr(r, f"n_{s}") for s in ("pass", "fail", "error", "manual")}
        by_pk[r.pk] = row
    _fill(by_pk, profiles, gbt, fails)
    wanted = set(codes) if codes is not None else None
    return sorted((r for r in rows.values() if wanted is None or r.code in wanted), key=lambda r: r.code)


def _fill(by_pk: dict[int, SchoolRow], profiles: Any, gbt: Any, fails: Any) -> None:
    for p in profiles:
        row = by_pk[p.run_pk]
        if p.profile.startswith(BEIJING) and p.score_possible:
            row.beijing = (p.score_total or 0.0, p.score_possible)
    for run_pk, profile, status, n in gbt:
        row = by_pk[run_pk]
        if row.gbt_profile is None or profile > row.gbt_profile:
            row.gbt_profile, row.gbt = profile, {}
        if profile == row.gbt_profile:
            bucket = GBT_BUCKETS.get(status, "gbt_open")
            row.gbt[bucket] = row.gbt.get(bucket, 0) + n
    for run_pk, check, n in fails:
        row = by_pk[run_pk]
        cat = category(check)
        row.failures[cat] = row.failures.get(cat, 0) + n


@dataclass
class Comparison:
    schools: list[SchoolRow]
    indicators: list[tuple[str, str, str | None, str | None, dict[str, str]]]  # profile, id, number, title
    uplink: list[tuple[str, dict[str, float]]]  # subject → school → Mbit/s
    classrooms: dict[str, tuple[int, int]]  # school → (passed, total)
    categories: tuple[str, ...] = CATEGORIES


def compare(db: Database, codes: list[str], stale_days: int, all_indicators: bool = False) -> Comparison:
    schools = overview(db, stale_days, codes)
    pks = {r.run_pk: r.code for r in schools if r.run_pk is not None}
    with db.engine.connect() as conn:
        inds = conn.execute(
            select(IndicatorRow)
            .where(IndicatorRow.run_pk.in_(list(pks)))
            .order_by(IndicatorRow.profile, IndicatorRow.id)
        ).all()
        ups = conn.execute(
            select(Measurement.run_pk, Measurement.subject, Measurement.value).where(
                Measurement.run_pk.in_(list(pks)),
                Measurement.name == "bandwidth.goodput.median",
                Measurement.subject.startswith("uplink/"),
            )
        ).all()
        rooms = conn.execute(
            select(FindingRow.run_pk, FindingRow.status, func.count())
            .where(FindingRow.run_pk.in_(list(pks)), FindingRow.check == "bandwidth.classroom_goodput")
            .group_by(FindingRow.run_pk, FindingRow.status)
        ).all()
    table: dict[tuple[str, str], tuple[str | None, str | None, dict[str, str]]] = {}
    for i in inds:
        entry = table.setdefault((i.profile, i.indicator), (i.number, i.title, {}))
        entry[2][pks[i.run_pk]] = i.status
    indicators = [
        (p, ind, num, title, st)
        for (p, ind), (num, title, st) in table.items()
        if all_indicators or any(s != "manual" for s in st.values())
    ]
    uplink: dict[str, dict[str, float]] = defaultdict(dict)
    for run_pk, subject, value in ups:
        uplink[subject][pks[run_pk]] = value
    classrooms: dict[str, Counter[str]] = defaultdict(Counter)
    for run_pk, status, n in rooms:
        classrooms[pks[run_pk]][status] += n
    return Comparison(
        schools,
        indicators,
        sorted(uplink.items()),
        {c: (k["pass"], sum(k.values())) for c, k in classrooms.items()},
    )


def school_runs(db: Database, code: str, limit: int = 50) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(
                Run.run_id,
                Run.started_at,
                Run.profile_key,
                Run.bundle_digest,
                Run.key_fingerprint,
                Run.n_pass,
                Run.n_fail,
                Run.n_error,
                Run.n_manual,
                Key.status.label("key_status"),
                Key.revoked_at,
                Upload.origin,
                Upload.via,
            )
            .join(Key, Key.fingerprint == Run.key_fingerprint, isouter=True)
            .join(Upload, Upload.digest == Run.bundle_digest, isouter=True)
            .where(Run.school_code == code)
            .order_by(Run.started_at.desc(), Run.pk.desc())
            .limit(limit)
        ).all()
    return [dict(r._mapping) for r in rows]


def run_bundle(db: Database, run_id: str) -> tuple[str, str] | None:
    """(school, bundle directory) of a stored run."""
    with db.engine.connect() as conn:
        row = conn.execute(select(Run.school_code, Run.bundle_path).where(Run.run_id == run_id)).first()
    return None if row is None else (row.school_code, row.bundle_path)


def stale_cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)
