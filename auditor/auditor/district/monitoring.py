"""Monitoring between audits, district side: ingest of agents' sample batches, hourly roll-ups,
retention, each school's state, and what the monitoring pages, the contract report and the
Prometheus endpoint read (no HTTP, no rendering here).

Raw reach/DNS/heartbeat samples go to ``district_mon_samples``, throughput tests to
``district_mon_tests`` (a few a day: the contract report reads them raw), and every hour a batch
touches is rolled up again from the raw rows into ``district_mon_hourly`` in the same
transaction, so a late batch (an agent's outbox after a cut link) corrects its hours. Percentiles
interpolate linearly between order statistics (numpy's default): the median of 10, 20 is 15.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, case, delete, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from auditor.district.config import Monitoring
from auditor.district.db import Database, utcnow
from auditor.district.models import (
    Member,
    MonAgent,
    MonBatch,
    MonContract,
    MonHourly,
    MonOutage,
    MonSample,
    MonTest,
    MonUplink,
)
from auditor.messages import Msg, define, msg
from auditor.wire.monitoring import SampleBatch
from auditor.wire.outages import Outage, uplink_outages

define({
    "district.why.no_heartbeat": ("尚无心跳", "no heartbeat yet"),
    "district.why.silent_since": ("自 {time} UTC 起无心跳", "no heartbeat since {time} UTC"),
    "district.why.down": ("最近 {minutes:g} 分钟内链路探测全部丢失",
                          "every reach probe lost in the last {minutes:g} min"),
    "district.why.loss": ("最近 {minutes:g} 分钟丢包率 {loss:.0f}%",
                          "loss {loss:.0f}% in the last {minutes:g} min"),
    "district.why.slow": ("最近 {m} 次测试中 {k} 次低于合同速率的 {percent:g}%",
                          "{k} of the last {m} tests below {percent:g}% of the contract"),
    "district.why.unmeasured": ("最近 {minutes:g} 分钟没有链路探测",
                                "no reach probe in the last {minutes:g} min"),
})

State = Literal["live", "degraded", "unmeasured", "down", "silent"]
# worst first (sort order); "unmeasured": heartbeats arrive but no reach probe does, so nothing
# shows the school's connection works: never "live" without that evidence
STATES: tuple[State, ...] = ("down", "silent", "unmeasured", "degraded", "live")
HOUR = timedelta(hours=1)
KEEP_TESTS = 16  # per uplink and direction in district_mon_uplinks.recent
EPOCH = datetime(1970, 1, 1)


def naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile by linear interpolation (numpy's default); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# -- ingest ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    accepted: int
    duplicate: bool


def ingest(db: Database, batch: SampleBatch, now: datetime | None = None) -> Ingested:
    """Store one batch (samples, contracts, heartbeat) and roll its hours up, in one transaction.
    A batch id stored before is a duplicate: nothing is stored again."""
    now = now or utcnow()
    school = batch.school
    samples: list[dict[str, Any]] = []
    tests: list[dict[str, Any]] = []
    heartbeat: datetime | None = None
    for s in batch.samples:
        at = naive_utc(s.at)
        if s.kind == "throughput":
            tests.append(
                {
                    "school": school,
                    "at": at,
                    "uplink": s.uplink,
                    "direction": s.direction,
                    "mbps": s.mbps,
                    "bytes": s.bytes,
                    "valid": s.valid,
                    "reason": s.reason,
                }
            )
            continue
        samples.append(
            {
                "school": school,
                "at": at,
                "kind": s.kind,
                "target": s.target,
                "uplink": s.uplink,
                "method": s.method,
                "sent": s.sent,
                "received": s.received,
                "rtt_ms": s.rtt_ms,
                "jitter_ms": s.jitter_ms,
                "resolve_ms": s.resolve_ms,
                "ok": s.ok,
            }
        )
        if s.kind == "heartbeat" and (heartbeat is None or at > heartbeat):
            heartbeat = at
    try:
        with db.writer.begin() as conn:
            conn.execute(
                insert(MonBatch).values(
                    batch_id=batch.batch_id,
                    school=school,
                    seq=batch.seq,
                    n=len(batch.samples),
                    received_at=now,
                )
            )
            _insert(conn, MonSample, samples)
            _insert(conn, MonTest, tests)
            _agent(conn, batch, heartbeat, now)
            if tests:
                _uplinks(conn, school, {(t["uplink"], t["direction"]) for t in tests if t["valid"]})
            hours = {r["at"].replace(minute=0, second=0, microsecond=0) for r in (*samples, *tests)}
            if hours:
                rollup(conn, school, hours)
    except IntegrityError:
        with db.engine.connect() as conn:
            if conn.execute(select(MonBatch.batch_id).where(MonBatch.batch_id == batch.batch_id)).first():
                return Ingested(0, True)
        raise
    return Ingested(len(batch.samples), False)


INSERT_MODE: Literal["executemany", "values"] = "executemany"  # bench/monitoring_bench.py compares


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in one round trip: the driver's executemany (psycopg 3 pipelines it), or
    one multi-row ``INSERT ... VALUES`` (measured slower: compiling it costs more than it saves)."""
    if not rows:
        return
    if INSERT_MODE == "values":
        conn.execute(insert(table).values(rows))
    else:
        conn.execute(insert(table), rows)


def _agent(conn: Connection, batch: SampleBatch, heartbeat: datetime | None, now: datetime) -> None:
    row = conn.execute(select(MonAgent.__table__).where(MonAgent.school == batch.school)).first()
    newest = row is None or batch.seq >= row.last_seq
    values: dict[str, Any] = {}
    if newest:
        values.update(agent=batch.agent, last_seq=batch.seq, last_batch_at=now)
        if batch.budget is not None:
            values.update(
                budget_month=batch.budget.month,
                budget_used=batch.budget.used_bytes,
                budget_limit=batch.budget.limit_bytes,
            )
    if heartbeat is not None and (
        row is None or row.last_heartbeat is None or heartbeat > row.last_heartbeat
    ):
        values["last_heartbeat"] = heartbeat
    if row is None:
        conn.execute(insert(MonAgent).values(school=batch.school, **values))
    elif values:
        conn.execute(update(MonAgent).where(MonAgent.school == batch.school).values(**values))
    if newest and batch.contracts:
        k = MonContract
        stored = {
            tuple(r)
            for r in conn.execute(
                select(k.uplink, k.provider, k.down_mbps, k.up_mbps).where(k.school == batch.school)
            )
        }
        if stored == {(c.uplink, c.provider, c.down_mbps, c.up_mbps) for c in batch.contracts}:
            return  # agents repeat their contracts in every batch: write only a change
        conn.execute(delete(MonContract).where(MonContract.school == batch.school))
        conn.execute(
            insert(MonContract),
            [
                {
                    "school": batch.school,
                    "uplink": c.uplink,
                    "provider": c.provider,
                    "down_mbps": c.down_mbps,
                    "up_mbps": c.up_mbps,
                    "updated_at": now,
                }
                for c in batch.contracts
            ],
        )


def _uplinks(conn: Connection, school: str, keys: set[tuple[str, str]]) -> None:
    """Keep the latest ``KEEP_TESTS`` valid tests of each (uplink, direction) a batch touched."""
    for uplink, direction in sorted(keys):
        last = conn.execute(
            select(MonTest.c.at, MonTest.c.mbps)
            .where(
                MonTest.c.school == school,
                MonTest.c.uplink == uplink,
                MonTest.c.direction == direction,
                MonTest.c.valid.is_(True),
                MonTest.c.mbps.is_not(None),
            )
            .order_by(MonTest.c.at.desc())
            .limit(KEEP_TESTS)
        ).all()
        key = (MonUplink.school == school, MonUplink.uplink == uplink, MonUplink.direction == direction)
        conn.execute(delete(MonUplink).where(*key))
        if last:
            recent = ",".join(f"{int((r.at - EPOCH).total_seconds())}:{r.mbps:g}" for r in last)
            conn.execute(
                insert(MonUplink).values(
                    school=school,
                    uplink=uplink,
                    direction=direction,
                    latest_at=last[0].at,
                    latest_mbps=last[0].mbps,
                    recent=recent,
                )
            )


def rollup(conn: Connection, school: str, hours: Iterable[datetime]) -> None:
    """Recompute the hourly roll-ups of ``school`` for ``hours`` from the raw rows."""
    hours = sorted(set(hours))
    lo, hi = hours[0], hours[-1] + HOUR
    wanted = set(hours)
    groups: dict[tuple[datetime, str, str, str], list[Any]] = defaultdict(list)
    unanswered: dict[datetime, int] = defaultdict(int)  # uplink samples without a reply, per hour
    for r in conn.execute(
        select(
            MonSample.c.at,
            MonSample.c.kind,
            MonSample.c.target,
            MonSample.c.sent,
            MonSample.c.received,
            MonSample.c.rtt_ms,
            MonSample.c.ok,
            MonSample.c.uplink,
        ).where(MonSample.c.school == school, MonSample.c.at >= lo, MonSample.c.at < hi)
    ):
        hour = r.at.replace(minute=0, second=0, microsecond=0)
        if hour in wanted:
            groups[(hour, r.kind, r.target, "")].append(r)
            if r.kind == "reach" and r.uplink is not None and r.sent and not r.received:
                unanswered[hour] += 1
    for t in conn.execute(
        select(MonTest.c.at, MonTest.c.uplink, MonTest.c.direction, MonTest.c.mbps, MonTest.c.valid).where(
            MonTest.c.school == school, MonTest.c.at >= lo, MonTest.c.at < hi
        )
    ):
        hour = t.at.replace(minute=0, second=0, microsecond=0)
        if hour in wanted:
            groups[(hour, "throughput", t.uplink, t.direction)].append(t)
    out = []
    for (hour, kind, target, direction), rows in groups.items():
        row: dict[str, Any] = {
            "school": school,
            "hour": hour,
            "kind": kind,
            "target": target,
            "direction": direction,
            "n": len(rows),
            "ok": None,
            "sent": None,
            "received": None,
            "rtt_p10": None,
            "rtt_p50": None,
            "rtt_p90": None,
            "mbps_min": None,
            "mbps_p10": None,
            "mbps_p50": None,
        }
        if kind == "reach":
            rtts = [r.rtt_ms for r in rows if r.rtt_ms is not None]
            row.update(
                ok=sum(1 for r in rows if r.received),  # samples with a reply: fewer than n, an outage
                sent=sum(r.sent or 0 for r in rows),
                received=sum(r.received or 0 for r in rows),
                rtt_p10=quantile(rtts, 0.1),
                rtt_p50=quantile(rtts, 0.5),
                rtt_p90=quantile(rtts, 0.9),
            )
        elif kind == "dns":
            row["ok"] = sum(1 for r in rows if r.ok)
        elif kind == "throughput":
            mbps = [r.mbps for r in rows if r.valid and r.mbps is not None]
            row.update(
                ok=sum(1 for r in rows if r.valid),
                mbps_min=min(mbps, default=None),
                mbps_p10=quantile(mbps, 0.1),
                mbps_p50=quantile(mbps, 0.5),
            )
        out.append(row)
    conn.execute(delete(MonHourly).where(MonHourly.school == school, MonHourly.hour.in_(hours)))
    if out:
        conn.execute(insert(MonHourly), out)
    conn.execute(delete(MonOutage).where(MonOutage.school == school, MonOutage.hour.in_(hours)))
    lost = [{"school": school, "hour": h, "sent": n} for h, n in unanswered.items()]
    if lost:
        conn.execute(insert(MonOutage), lost)


def retention(db: Database, rules: Monitoring, now: datetime | None = None) -> dict[str, int]:
    """Delete raw samples older than ``raw_days`` and roll-ups older than ``hourly_days`` (school by
    school, so each delete walks the (school, at) index); returns the rows deleted per table."""
    now = now or utcnow()
    raw_cut = now - timedelta(days=rules.raw_days)
    hourly_cut = now - timedelta(days=rules.hourly_days)
    done = {"samples": 0, "tests": 0, "hourly": 0, "batches": 0}
    with db.engine.connect() as conn:
        schools = list(conn.execute(select(MonAgent.school)).scalars())
    for school in schools:
        with db.writer.begin() as conn:
            done["samples"] += conn.execute(
                delete(MonSample).where(MonSample.c.school == school, MonSample.c.at < raw_cut)
            ).rowcount
            done["tests"] += conn.execute(
                delete(MonTest).where(MonTest.c.school == school, MonTest.c.at < raw_cut)
            ).rowcount
            done["hourly"] += conn.execute(
                delete(MonHourly).where(MonHourly.school == school, MonHourly.hour < hourly_cut)
            ).rowcount
            conn.execute(delete(MonOutage).where(MonOutage.school == school, MonOutage.hour < hourly_cut))
    with db.writer.begin() as conn:
        done["batches"] += conn.execute(delete(MonBatch).where(MonBatch.received_at < raw_cut)).rowcount
    return done


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    at: datetime
    sent: int
    received: int
    uplink: str | None = None  # None: a probe of the district or a further endpoint


@dataclass(frozen=True)
class Tested:
    """A throughput test as the state judges it (its contracted rate beside it)."""

    __test__ = False  # not a pytest class
    at: datetime
    mbps: float | None
    contract_mbps: float | None
    valid: bool = True


@dataclass(frozen=True)
class Verdict:
    state: State
    text: Msg | None = None  # why, in either language (None: live)

    @property
    def why(self) -> str:
        return "" if self.text is None else self.text.render("en")


def school_state(
    now: datetime,
    last_heartbeat: datetime | None,
    reach: Sequence[Reach],
    tests: Sequence[Tested],
    rules: Monitoring,
) -> Verdict:
    """A school's state from its recent samples (pure): silent, down, degraded or live. Judged
    on the probes of the school's uplink endpoints where the window has any (the district may be
    reached over another link: a school cut from its provider still reports), else on all."""
    down = _judged([r for r in reach if now - r.at <= timedelta(minutes=rules.down_minutes)])
    window = _judged([r for r in reach if now - r.at <= timedelta(minutes=rules.loss_minutes)])
    return state_of(
        now,
        last_heartbeat,
        (sum(r.sent for r in down), sum(r.received for r in down)),
        (sum(r.sent for r in window), sum(r.received for r in window)),
        tests,
        rules,
    )


def _judged(reach: list[Reach]) -> list[Reach]:
    over_uplinks = [r for r in reach if r.uplink is not None]
    return over_uplinks or reach


def state_of(
    now: datetime,
    last_heartbeat: datetime | None,
    down: tuple[int, int],
    loss: tuple[int, int],
    tests: Sequence[Tested],
    rules: Monitoring,
) -> Verdict:
    """The state from (probes sent, received) in the down window and in the loss window, and the
    school's recent throughput tests (pure). The first rule that holds wins:

    silent: no heartbeat for ``silent_intervals`` heartbeat intervals; down: probes (of the
    uplinks' endpoints, where there are any) were sent in the last ``down_minutes`` and none came
    back; degraded: loss above ``degraded_loss_pct`` %
    in the last ``loss_minutes``, or ``degraded_k`` of the last ``degraded_m`` valid tests with a
    contracted rate below ``degraded_throughput_pct`` % of it; unmeasured when no reach probe
    was sent in either window (an agent without a current authorisation sends heartbeats only:
    that is no evidence the link works); live otherwise."""
    silent_after = timedelta(seconds=rules.heartbeat_interval_s * rules.silent_intervals)
    if last_heartbeat is None or now - last_heartbeat > silent_after:
        return Verdict("silent", msg("district.why.no_heartbeat") if last_heartbeat is None
                       else msg("district.why.silent_since", time=f"{last_heartbeat:%Y-%m-%d %H:%M}"))
    if down[0] and not down[1]:
        return Verdict("down", msg("district.why.down", minutes=rules.down_minutes))
    if loss[0]:
        ratio = 1 - loss[1] / loss[0]
        if round(ratio * 100, 9) > rules.degraded_loss_pct:
            return Verdict("degraded", msg("district.why.loss", loss=ratio * 100, minutes=rules.loss_minutes))
    judged = sorted(
        (t for t in tests if t.valid and t.mbps is not None and t.contract_mbps),
        key=lambda t: t.at,
        reverse=True,
    )[: rules.degraded_m]
    slow = sum(
        1
        for t in judged
        if t.mbps is not None
        and t.contract_mbps
        and t.mbps < t.contract_mbps * rules.degraded_throughput_pct / 100
    )
    if slow >= rules.degraded_k:
        return Verdict(
            "degraded",
            msg("district.why.slow", k=slow, m=len(judged), percent=rules.degraded_throughput_pct),
        )
    if not down[0] and not loss[0]:  # a heartbeat alone shows the agent runs, not the link
        return Verdict("unmeasured", msg("district.why.unmeasured", minutes=rules.loss_minutes))
    return Verdict("live")


# -- overview -------------------------------------------------------------------------------------


@dataclass
class MonRow:
    code: str
    name: str
    district: str
    providers: str = ""
    last_heartbeat: datetime | None = None
    state: State = "silent"
    why: str = ""  # English; ``text`` in either language
    loss: float | None = None
    rtt_ms: float | None = None  # mean round trip of the loss window
    contracts: dict[str, tuple[str, float, float]] = field(
        default_factory=dict
    )  # uplink → provider, down, up
    latest: dict[tuple[str, str], tuple[datetime, float | None]] = field(
        default_factory=dict
    )  # (uplink, dir)
    text: Msg | None = None  # ``why`` in either language
    budget: tuple[str, int, int] | None = None  # the agent's month, test bytes used and allowed
    source: tuple[str, int, datetime] | None = None  # the agent, its newest batch's seq, received at

    @property
    def budget_pct(self) -> float | None:
        return None if not self.budget or not self.budget[2] else self.budget[1] / self.budget[2] * 100

    def contract_of(self, uplink: str, direction: str) -> float | None:
        c = self.contracts.get(uplink)
        return None if c is None else (c[1] if direction == "down" else c[2])


def overview(
    db: Database, rules: Monitoring, now: datetime | None = None, codes: Sequence[str] | None = None
) -> list[MonRow]:
    """Every enrolled school (or ``codes``) with its state and latest figures: five queries, each
    returning at most a few rows per school (reach is summed in SQL over the recent window, the
    tests come from ``district_mon_uplinks``)."""
    now = now or utcnow()
    down_since = now - timedelta(minutes=rules.down_minutes)
    loss_since = now - timedelta(minutes=rules.loss_minutes)
    c = MonSample.c
    over_uplink = c.uplink.is_not(None)
    in_down = case((c.at >= down_since, 1), else_=0)
    in_loss = case((c.at >= loss_since, 1), else_=0)
    up_down = case((and_(c.at >= down_since, over_uplink), 1), else_=0)
    up_loss = case((and_(c.at >= loss_since, over_uplink), 1), else_=0)
    reach_q = (
        select(
            c.school,
            func.sum(c.sent * in_down).label("down_sent"),
            func.sum(c.received * in_down).label("down_received"),
            func.sum(c.sent * in_loss).label("loss_sent"),
            func.sum(c.received * in_loss).label("loss_received"),
            func.sum(c.sent * up_down).label("up_down_sent"),
            func.sum(c.received * up_down).label("up_down_received"),
            func.sum(c.sent * up_loss).label("up_loss_sent"),
            func.sum(c.received * up_loss).label("up_loss_received"),
            func.avg(case((c.at >= loss_since, c.rtt_ms), else_=None)).label("rtt"),
        )
        .where(c.at >= min(down_since, loss_since), c.at <= now, c.kind == "reach")
        .group_by(c.school)
    )
    with db.engine.connect() as conn:
        q = select(Member.code, Member.name, Member.via).where(Member.kind == "school")
        members = conn.execute(q if codes is None else q.where(Member.code.in_(codes))).all()
        agent_rows = conn.execute(
            select(
                MonAgent.school,
                MonAgent.last_heartbeat,
                MonAgent.budget_month,
                MonAgent.budget_used,
                MonAgent.budget_limit,
                MonAgent.agent,
                MonAgent.last_seq,
                MonAgent.last_batch_at,
            )
        ).all()
        agents = {a.school: a.last_heartbeat for a in agent_rows}
        sources = {a.school: (a.agent, int(a.last_seq), a.last_batch_at) for a in agent_rows}
        budgets = {
            a.school: (a.budget_month, int(a.budget_used), int(a.budget_limit))
            for a in agent_rows
            if a.budget_month is not None and a.budget_used is not None and a.budget_limit is not None
        }
        contracts = conn.execute(select(MonContract.__table__)).all()
        reach = {r.school: r for r in conn.execute(reach_q)}
        uplinks = conn.execute(
            select(
                MonUplink.school,
                MonUplink.uplink,
                MonUplink.direction,
                MonUplink.latest_at,
                MonUplink.latest_mbps,
                MonUplink.recent,
            )
        ).all()
    rows = {m.code: MonRow(m.code, m.name or "", m.via or "") for m in members}
    for k in contracts:
        if k.school in rows:
            rows[k.school].contracts[k.uplink] = (k.provider, k.down_mbps, k.up_mbps)
    judged: dict[str, list[Tested]] = defaultdict(list)
    m = rules.degraded_m
    for school, uplink, direction, latest_at, latest_mbps, recent in uplinks:
        row = rows.get(school)
        if row is None:
            continue
        row.latest[(uplink, direction)] = (latest_at, latest_mbps)
        contract = row.contract_of(uplink, direction)
        mine = judged[school]
        for pair in recent.split(",", m)[:m]:
            secs, mbps = pair.split(":")
            at = EPOCH + timedelta(seconds=int(secs))
            if at <= now:
                mine.append(Tested(at, float(mbps), contract))
    for code, row in rows.items():
        row.providers = ", ".join(sorted({k[0] for k in row.contracts.values()}))
        row.last_heartbeat = agents.get(code)
        row.budget = budgets.get(code)
        row.source = sources.get(code)
        r = reach.get(code)
        down, loss = _windows(r)
        row.loss = 1 - loss[1] / loss[0] if loss[0] else None
        row.rtt_ms = float(r.rtt) if r is not None and r.rtt is not None else None
        v = state_of(now, row.last_heartbeat, down, loss, judged.get(code, []), rules)
        row.state, row.why, row.text = v.state, v.why, v.text
    return list(rows.values())


def _windows(r: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """(sent, received) in the down and the loss window: over the uplinks' endpoints where the
    window has any such probe, else over every probe (as :func:`school_state`)."""
    if r is None:
        return (0, 0), (0, 0)
    out = []
    for name in ("down", "loss"):
        up = (int(getattr(r, f"up_{name}_sent") or 0), int(getattr(r, f"up_{name}_received") or 0))
        every = (int(getattr(r, f"{name}_sent") or 0), int(getattr(r, f"{name}_received") or 0))
        out.append(up if up[0] else every)
    return out[0], out[1]


SORTS = {
    "state": lambda r: (STATES.index(r.state), r.code),
    "district": lambda r: (r.district, r.code),
    "provider": lambda r: (r.providers, r.code),
    "code": lambda r: (r.code,),
}


def sort_rows(rows: list[MonRow], key: str) -> list[MonRow]:
    return sorted(rows, key=SORTS.get(key, SORTS["state"]))


# -- timeline -------------------------------------------------------------------------------------


@dataclass
class Timeline:
    start: datetime
    end: datetime
    hours: list[datetime]
    uptime: list[float | None]  # heartbeats received / expected per hour
    loss: list[float | None]
    rtt_ms: list[float | None]
    tests: dict[str, list[tuple[datetime, float]]]  # direction → valid tests
    contract: dict[str, float]  # direction → contracted Mbit/s (sum over uplinks)
    reach_samples: int = 0  # the reach samples the charts stand on


def timeline(
    db: Database, code: str, rules: Monitoring, days: int = 7, now: datetime | None = None
) -> Timeline:
    now = now or utcnow()
    end = now.replace(minute=0, second=0, microsecond=0) + HOUR
    start = end - timedelta(days=days)
    with db.engine.connect() as conn:
        hourly = conn.execute(
            select(MonHourly.__table__).where(
                MonHourly.school == code, MonHourly.hour >= start, MonHourly.hour < end
            )
        ).all()
        tests = conn.execute(
            select(MonTest.c.at, MonTest.c.direction, MonTest.c.mbps)
            .where(MonTest.c.school == code, MonTest.c.at >= start, MonTest.c.valid.is_(True))
            .order_by(MonTest.c.at)
        ).all()
        contracts = conn.execute(select(MonContract.__table__).where(MonContract.school == code)).all()
    hours = [start + HOUR * i for i in range(days * 24)]
    per: dict[datetime, list[Any]] = defaultdict(list)
    for row in hourly:
        per[row.hour].append(row)
    expected = 3600 / rules.heartbeat_interval_s
    uptime, loss, rtt = [], [], []
    for h in hours:
        rows = per.get(h, [])
        beats = sum(r.n for r in rows if r.kind == "heartbeat")
        uptime.append(min(1.0, beats / expected) if h <= now else None)
        reach = [r for r in rows if r.kind == "reach"]
        sent = sum(r.sent or 0 for r in reach)
        loss.append(1 - sum(r.received or 0 for r in reach) / sent if sent else None)
        p50 = [r.rtt_p50 for r in reach if r.rtt_p50 is not None]
        rtt.append(quantile(p50, 0.5))
    series: dict[str, list[tuple[datetime, float]]] = {"down": [], "up": []}
    for t in tests:
        if t.mbps is not None:
            series[t.direction].append((t.at, t.mbps))
    contract = {"down": sum(c.down_mbps for c in contracts), "up": sum(c.up_mbps for c in contracts)}
    reach_samples = sum(r.n for r in hourly if r.kind == "reach")
    return Timeline(start, end, hours, uptime, loss, rtt, series, contract, reach_samples)


# -- contract report ------------------------------------------------------------------------------


@dataclass
class ContractRow:
    school: str
    name: str
    uplink: str
    down_mbps: float
    up_mbps: float
    tests: int = 0
    below: int = 0
    median: dict[str, float | None] = field(default_factory=dict)
    p10: dict[str, float | None] = field(default_factory=dict)
    outages: list[Outage] = field(default_factory=list)
    slow: list[SlowTest] = field(default_factory=list)  # the school-day tests below the contract

    @property
    def share_below(self) -> float | None:
        return self.below / self.tests if self.tests else None

    outages_known: bool = True  # False: the month's raw samples are past their retention

    @property
    def hours_unreachable(self) -> float | None:
        return sum(o.seconds for o in self.outages) / 3600 if self.outages_known else None


@dataclass(frozen=True)
class SlowTest:
    at: datetime  # naive UTC
    direction: str
    mbps: float
    contract_mbps: float


@dataclass
class ContractReport:
    provider: str
    month: str
    rows: list[ContractRow]
    school_day: str

    @property
    def tests(self) -> int:
        return sum(r.tests for r in self.rows)

    @property
    def below(self) -> int:
        return sum(r.below for r in self.rows)

    @property
    def share_below(self) -> float | None:
        return self.below / self.tests if self.tests else None

    pruned_before: datetime | None = None  # raw samples older than this are gone: no outages

    @property
    def slow_listed(self) -> int:
        return sum(len(r.slow) for r in self.rows)

    @property
    def hours_unreachable(self) -> float | None:
        hours = [r.hours_unreachable for r in self.rows]
        return None if None in hours else sum(h for h in hours if h is not None)


def _school_time(rules: Monitoring) -> tuple[ZoneInfo, time, time]:
    start = time.fromisoformat(rules.school_day_start)
    end = time.fromisoformat(rules.school_day_end)
    return ZoneInfo(rules.timezone), start, end


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _school_weekday(day: date, rules: Monitoring) -> bool:
    return WEEKDAYS[day.weekday()] in rules.school_weekdays


def in_school_day(at: datetime, rules: Monitoring) -> bool:
    """Whether naive-UTC ``at`` falls on a school weekday between the school day's start and end
    (local)."""
    tz, start, end = _school_time(rules)
    local = at.replace(tzinfo=UTC).astimezone(tz)
    return _school_weekday(local.date(), rules) and start <= local.time() < end


def providers(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(select(MonContract.provider).distinct().order_by(MonContract.provider)).scalars()
        )


def school_days(month: str, rules: Monitoring) -> list[tuple[datetime, datetime]]:
    """The month's school days as naive-UTC [start, end) intervals (school weekdays, local
    start–end)."""
    tz, start, end = _school_time(rules)
    y, m = (int(p) for p in month.split("-"))
    out = []
    day = date(y, m, 1)
    while day.month == m:
        if _school_weekday(day, rules):
            out.append(
                (
                    naive_utc(datetime.combine(day, start, tzinfo=tz)),
                    naive_utc(datetime.combine(day, end, tzinfo=tz)),
                )
            )
        day += timedelta(days=1)
    return out


def _within(column: Any, spans: Sequence[tuple[datetime, datetime]]) -> Any:
    return or_(false(), *(and_(column >= a, column < b) for a, b in spans))


PAGE_SLOW_TESTS = 200  # the tests below the contract a report page lists (the XLSX lists them all)


def contract_report(
    db: Database, provider: str, month: str, rules: Monitoring, slow_limit: int | None = None
) -> ContractReport:
    """Per school (and uplink) contracted to ``provider``: school-day tests of ``month`` (local
    time) below the contracted rate (each listed with its time), the outages (every probe of the
    uplink's endpoints unanswered: :func:`outages`) with their total in hours, and the median and
    10th percentile of the valid tests per direction.

    Counted in SQL over the month's school-day intervals (one range per day, on the tests'
    indexes); the percentiles by ``percentile_cont`` on PostgreSQL, in Python on SQLite (both
    interpolate linearly). ``slow_limit``: list at most that many of the tests below the contract
    (the earliest; the counts are always complete)."""
    spans = school_days(month, rules)
    t, k = MonTest.c, MonContract
    rate = case((t.direction == "down", k.down_mbps), else_=k.up_mbps)
    where = (k.provider == provider, t.valid.is_(True), t.mbps.is_not(None), _within(t.at, spans))
    joined = MonTest.join(k, and_(k.school == t.school, k.uplink == t.uplink))
    with db.engine.connect() as conn:
        contracts = conn.execute(
            select(k.__table__, Member.name)
            .join(Member, Member.code == k.school, isouter=True)
            .where(k.provider == provider)
            .order_by(k.school, k.uplink)
        ).all()
        below = func.sum(case((t.mbps < rate, 1), else_=0))
        if conn.dialect.name == "postgresql":
            figures = [
                tuple(r)
                for r in conn.execute(
                    select(
                        t.school,
                        t.uplink,
                        t.direction,
                        func.count(),
                        below,
                        func.percentile_cont(0.5).within_group(t.mbps),
                        func.percentile_cont(0.1).within_group(t.mbps),
                    )
                    .select_from(joined)
                    .where(*where)
                    .group_by(t.school, t.uplink, t.direction)
                )
            ]
        else:
            values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
            slow: dict[tuple[str, str, str], int] = defaultdict(int)
            for school, uplink, direction, mbps, contracted in conn.execute(
                select(t.school, t.uplink, t.direction, t.mbps, rate).select_from(joined).where(*where)
            ):
                values[(school, uplink, direction)].append(mbps)
                slow[(school, uplink, direction)] += mbps < contracted
            figures = [
                (*key, len(v), slow[key], quantile(v, 0.5), quantile(v, 0.1)) for key, v in values.items()
            ]
        slow_q = (
            select(t.school, t.uplink, t.at, t.direction, t.mbps, rate)
            .select_from(joined)
            .where(*where, t.mbps < rate)
            .order_by(t.at)
        )
        slow_rows = conn.execute(slow_q if slow_limit is None else slow_q.limit(slow_limit)).all()
    slow_tests: dict[tuple[str, str], list[SlowTest]] = defaultdict(list)
    for school, uplink, at, direction, mbps, contracted in slow_rows:
        slow_tests[(school, uplink)].append(SlowTest(at, direction, float(mbps), float(contracted)))
    rows: dict[tuple[str, str], ContractRow] = {}
    for c in contracts:
        rows[(c.school, c.uplink)] = ContractRow(c.school, c.name or "", c.uplink, c.down_mbps, c.up_mbps)
        rows[(c.school, c.uplink)].median = {"down": None, "up": None}
        rows[(c.school, c.uplink)].p10 = {"down": None, "up": None}
    for school, uplink, direction, n, n_below, p50, p10 in figures:
        row = rows[(school, uplink)]
        row.tests += int(n)
        row.below += int(n_below or 0)
        row.median[direction] = None if p50 is None else float(p50)
        row.p10[direction] = None if p10 is None else float(p10)
    days = ", ".join(d.capitalize() for d in rules.school_weekdays)
    day = f"{rules.school_day_start}–{rules.school_day_end} {rules.timezone}, {days}"
    periods = outages(db, [c.school for c in contracts], spans, rules.heartbeat_interval_s)
    kept_from = utcnow() - timedelta(days=rules.raw_days)
    known = not spans or spans[0][0] >= kept_from  # the outages come from the raw samples
    for row in rows.values():
        row.outages = periods.get((row.school, row.uplink), [])
        row.outages_known = known
        row.slow = slow_tests.get((row.school, row.uplink), [])
    return ContractReport(provider, month, list(rows.values()), day, None if known else kept_from)


def outages(
    db: Database, schools: Sequence[str], spans: Sequence[tuple[datetime, datetime]], interval_s: float
) -> dict[tuple[str, str], list[Outage]]:
    """Per (school, uplink): the outages inside ``spans`` (naive-UTC school days), from the raw
    reach samples of the uplinks' endpoints, the agents measuring every ``interval_s``. Only the
    hours the roll-up marked (``district_mon_outages``: a round of an uplink's probes unanswered)
    are read raw, with what follows each (where the outage may end), so a month of 2,000 schools
    reads a few rows per real outage, not the month's samples."""
    if not spans or not schools:
        return {}
    interval = timedelta(seconds=interval_s)
    after = max(HOUR, 2 * interval) + HOUR  # the hour itself, then where its outage may end
    lo, hi = spans[0][0] - HOUR, spans[-1][1] + HOUR
    o = MonOutage
    c = MonSample.c
    with db.engine.connect() as conn:
        hours = conn.execute(
            select(o.school, o.hour).where(o.hour >= lo, o.hour < hi, o.school.in_(schools))
        ).all()
        wanted: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for school, hour in sorted(hours):
            ranges = wanted[school]
            if ranges and ranges[-1][1] >= hour:
                ranges[-1] = (ranges[-1][0], hour + after)
            else:
                ranges.append((hour, hour + after))
        rows: list[Any] = []
        for school, ranges in wanted.items():
            rows += conn.execute(
                select(c.school, c.uplink, c.target, c.at, c.sent, c.received)
                .where(
                    c.school == school,
                    c.kind == "reach",
                    c.uplink.is_not(None),
                    or_(*(and_(c.at >= a, c.at < b) for a, b in ranges)),
                )
                .order_by(c.at)
            ).all()
    per_uplink: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:  # oldest first
        per_uplink[(r.school, r.uplink)][r.target].append(r)
    out: dict[tuple[str, str], list[Outage]] = {}
    for pair, by_target in per_uplink.items():
        found = uplink_outages(by_target, interval, spans)
        if found:
            out[pair] = found
    return out


def month_of(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"
