"""Monitoring-between-audits benchmark (in-process, one core, throw-away PostgreSQL): ingest rate,
storage per school-month, overview and contract-report times.

Simulated schools measure during the school day (07:00–18:00 Beijing, Monday to Friday), every 5
minutes: 3 reach endpoints, 1 DNS name and a heartbeat; and 4 throughput tests a day, each down
and up. Agents upload one batch an hour (60 samples, plus the tests of that hour). Prints:

  1. samples/s through the district's ingest code (JSON → ``SampleBatch`` as the endpoint parses
     it → ``auditor.district.monitoring.ingest``: raw rows, contracts, heartbeat, hourly roll-up)
     over one simulated school day of ``--schools`` schools (goal ≥ 5,000 samples/s on one core),
     with the driver's executemany and with one multi-row INSERT ... VALUES;
  2. with ``--days`` of samples bulk-loaded by COPY (roll-ups computed in SQL): storage per
     school-month (tables and indexes), and the time of the monitoring overview of every school and
     of one provider's monthly contract report (goal < 300 ms each; median of 5).

Usage: .venv/bin/python bench/monitoring_bench.py [--schools 2000] [--ingest-schools N]
       [--days 30] [--skip-bulk]
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from auditor.district import monitoring as mon  # noqa: E402
from auditor.district.config import Monitoring  # noqa: E402
from auditor.district.db import Database, open_database  # noqa: E402
from auditor.district.models import Member, MonContract  # noqa: E402
from auditor.wire.monitoring import SampleBatch  # noqa: E402

BJ = timedelta(hours=8)
PROVIDERS = ("电信", "联通", "移动")
# (target, uplink): the uplink's iperf3 server, the district server, a further endpoint
TARGETS = (("wan1/metro", "wan1"), ("district", None), ("web", None))
NULL = "\\N"  # COPY's null
OUTAGE_EVERY = 20  # every 20th school has one outage in the month: 10:00-10:50 of one school day


def received(rng: random.Random, i: int, uplink: str | None, local: datetime, day_index: int) -> int:
    """Probes answered of 10: partial loss now and then (2 % of rounds lose some, never all: a
    round of ten probes all lost by chance is rare on a working link); all lost during the outage
    of every ``OUTAGE_EVERY``-th school (its uplink's endpoints only)."""
    if uplink and i % OUTAGE_EVERY == 0 and day_index == 9 + i % 7 and local.hour == 10 and local.minute < 50:
        return 0
    return 10 if rng.random() > 0.02 else rng.randrange(1, 10)
TEST_HOURS = (8, 10, 13, 16)  # local hours of the day's four throughput tests


def contract(i: int) -> dict[str, Any]:
    return {"uplink": "wan1", "provider": PROVIDERS[i % 3], "down_mbps": 1000, "up_mbps": 100}


def school_day(day: datetime) -> list[datetime]:
    """The UTC hours of one school day (07:00–18:00 Beijing) starting at local midnight ``day``."""
    return [day - BJ + timedelta(hours=h) for h in range(7, 18)]


def hour_batch(i: int, code: str, hour: datetime, seq: int, rng: random.Random) -> bytes:
    samples: list[dict[str, Any]] = []
    for k in range(12):
        at = (hour + timedelta(minutes=5 * k)).replace(tzinfo=UTC).isoformat()
        samples.append({"kind": "heartbeat", "at": at})
        for t, uplink in TARGETS:
            got = received(rng, i, uplink, hour + timedelta(minutes=5 * k) + BJ, 0)
            samples.append(
                {
                    "kind": "reach",
                    "at": at,
                    "target": t,
                    "uplink": uplink,
                    "method": "icmp",
                    "sent": 10,
                    "received": got,
                    "rtt_ms": round(rng.uniform(2, 40), 2),
                    "jitter_ms": round(rng.uniform(0, 5), 2),
                }
            )
        samples.append(
            {
                "kind": "dns",
                "at": at,
                "target": "www.edu.cn",
                "ok": True,
                "resolve_ms": round(rng.uniform(1, 30), 2),
            }
        )
    if (hour + BJ).hour in TEST_HOURS:
        at = (hour + timedelta(minutes=30)).replace(tzinfo=UTC).isoformat()
        for d, rate in (("down", 1000), ("up", 100)):
            samples.append(
                {
                    "kind": "throughput",
                    "at": at,
                    "target": "wan1",
                    "uplink": "wan1",
                    "direction": d,
                    "mbps": round(rate * rng.uniform(0.5, 1.05), 1),
                    "bytes": 50_000_000,
                    "valid": True,
                }
            )
    doc = {
        "schema": "campus-auditor/samples 1",
        "school": code,
        "agent": f"agent-{code}",
        "batch_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "seq": seq,
        "sent_at": hour.replace(tzinfo=UTC).isoformat(),
        "contracts": [contract(i)],
        "samples": samples,
    }
    return json.dumps(doc).encode()


def enrol(db: Database, n: int) -> list[str]:
    codes = [f"S{i:05d}" for i in range(n)]
    with db.writer.begin() as conn:
        conn.execute(
            insert(Member),
            [
                {
                    "code": c,
                    "kind": "school",
                    "name": f"学校{c}",
                    "via": f"区{i % 16}",
                    "created_at": datetime(2026, 1, 1),
                }
                for i, c in enumerate(codes)
            ],
        )
    return codes


def ingest_day(db: Database, codes: list[str], day: datetime, mode: str) -> tuple[int, float, float]:
    """One school day of every school, uploaded hour by hour; returns (samples, CPU s, wall s)."""
    mon.INSERT_MODE = mode  # type: ignore[assignment]
    rng = random.Random(1)
    bodies = [
        (i, code, hour_batch(i, code, hour, n, rng))
        for n, hour in enumerate(school_day(day))
        for i, code in enumerate(codes)
    ]  # built before the clock starts: the agents' work
    total = 0
    start, wall = time.process_time(), time.perf_counter()
    for _i, _code, body in bodies:
        batch = SampleBatch.model_validate_json(body)
        total += mon.ingest(db, batch).accepted
    return total, time.process_time() - start, time.perf_counter() - wall


def copy_month(db: Database, codes: list[str], first: datetime, days: int) -> int:
    """Bulk-load ``days`` days from ``first`` (school days only) with COPY; roll up in SQL."""
    import psycopg

    url = db.engine.url
    rng = random.Random(2)
    rows = 0
    with psycopg.connect(
        host=url.query["host"], port=int(url.query.get("port", 5432)), user=url.username, dbname=url.database
    ) as pg:
        school_days = 0
        for d in range(days):
            day = first + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            school_days += 1
            buf, tests = io.StringIO(), io.StringIO()
            for hour in school_day(day):  # in time order, as agents' hourly batches arrive
                for i, code in enumerate(codes):
                    for k in range(12):
                        at = hour + timedelta(minutes=5 * k)
                        buf.write(f"{code}\t{at}\theartbeat\t\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n")
                        for t, uplink in TARGETS:
                            got = received(rng, i, uplink, at + BJ, school_days)
                            up = uplink or NULL
                            buf.write(
                                f"{code}\t{at}\treach\t{t}\t{up}\ticmp\t10\t{got}\t"
                                f"{rng.uniform(2, 40):.2f}\t{rng.uniform(0, 5):.2f}\t\\N\t\\N\n"
                            )
                        buf.write(
                            f"{code}\t{at}\tdns\twww.edu.cn\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                            f"{rng.uniform(1, 30):.2f}\tt\n"
                        )
                        rows += 5
                    if (hour + BJ).hour in TEST_HOURS:
                        at = hour + timedelta(minutes=30)
                        for d_, rate in (("down", 1000), ("up", 100)):
                            tests.write(
                                f"{code}\t{at}\twan1\t{d_}\t{rate * rng.uniform(0.5, 1.05):.1f}\t"
                                f"50000000\tt\t\\N\n"
                            )
                            rows += 1
            with pg.cursor() as cur:
                with cur.copy(
                    "COPY district_mon_samples (school, at, kind, target, uplink, method, sent, "
                    "received, rtt_ms, jitter_ms, resolve_ms, ok) FROM STDIN"
                ) as cp:
                    cp.write(buf.getvalue())
                with cur.copy(
                    "COPY district_mon_tests (school, at, uplink, direction, mbps, bytes, valid, "
                    "reason) FROM STDIN"
                ) as cp:
                    cp.write(tests.getvalue())
            pg.commit()
        lo, hi = first, first + timedelta(days=days)
        pg.execute(
            """
            INSERT INTO district_mon_hourly
            SELECT school, date_trunc('hour', at), kind, target, '', count(*),
                   CASE WHEN kind = 'dns' THEN count(*) FILTER (WHERE ok)
                        WHEN kind = 'reach' THEN count(*) FILTER (WHERE received > 0) END,
                   sum(sent), sum(received),
                   percentile_cont(0.1) WITHIN GROUP (ORDER BY rtt_ms),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY rtt_ms),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY rtt_ms), NULL, NULL, NULL
            FROM district_mon_samples WHERE at >= %s AND at < %s
            GROUP BY school, date_trunc('hour', at), kind, target""",
            (lo - BJ, hi - BJ),
        )
        pg.execute(
            """
            INSERT INTO district_mon_hourly
            SELECT school, date_trunc('hour', at), 'throughput', uplink, direction, count(*), count(*),
                   NULL, NULL, NULL, NULL, NULL, min(mbps),
                   percentile_cont(0.1) WITHIN GROUP (ORDER BY mbps),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY mbps)
            FROM district_mon_tests WHERE at >= %s AND at < %s
            GROUP BY school, date_trunc('hour', at), uplink, direction""",
            (lo - BJ, hi - BJ),
        )
        pg.execute(
            """
            INSERT INTO district_mon_outages
            SELECT school, date_trunc('hour', at), count(*) FROM district_mon_samples
            WHERE kind = 'reach' AND uplink IS NOT NULL AND sent > 0 AND received = 0
              AND at >= %s AND at < %s
            GROUP BY school, date_trunc('hour', at)""",
            (lo - BJ, hi - BJ),
        )
        pg.execute("""
            INSERT INTO district_mon_uplinks
            SELECT school, uplink, direction, max(at), (array_agg(mbps ORDER BY at DESC))[1],
                   string_agg(extract(epoch FROM at)::bigint || ':' || mbps, ',' ORDER BY at DESC)
            FROM (SELECT *, row_number() OVER (PARTITION BY school, uplink, direction ORDER BY at DESC) AS rn
                  FROM district_mon_tests WHERE valid) AS t
            WHERE rn <= 16 GROUP BY school, uplink, direction""")
        pg.execute("""
            INSERT INTO district_mon_agents (school, agent, last_heartbeat, last_seq, last_batch_at)
            SELECT school, 'agent-' || school, max(at), 0, max(at) FROM district_mon_samples
            WHERE kind = 'heartbeat' GROUP BY school""")
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
    return rows


def storage(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one())
            for t in ("district_mon_samples", "district_mon_tests", "district_mon_hourly")
        }


def timed(fn: Any, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=2000, help="schools of the bulk-loaded month")
    ap.add_argument("--ingest-schools", type=int, default=None, help="schools of the ingested day")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--skip-bulk", action="store_true")
    args = ap.parse_args()
    from tests.support.pg import throwaway_cluster

    rules = Monitoring(raw_days=3650)  # the loaded month is "November 2026", whenever this runs
    n_ingest = args.ingest_schools or args.schools
    with throwaway_cluster() as cluster:
        print(f"PostgreSQL throw-away cluster ({cluster.bin_dir.parent.name}); this process is one thread")
        for mode, n_schools in (("executemany", n_ingest), ("values", min(n_ingest, 100))):
            db = open_database(cluster.new_database())
            codes = enrol(db, n_schools)
            n, secs, wall = ingest_day(db, codes, datetime(2026, 12, 1), mode)
            print(
                f"1. ingest, {mode:<11}: {n_schools} schools x 1 school day = {n:,} samples in "
                f"{n_schools * 11:,} batches: {secs:.1f} s CPU of this process ({n / secs:,.0f} samples/s "
                f"per core), {wall:.1f} s wall with PostgreSQL beside it ({n / wall:,.0f} samples/s)"
            )
            db.close()
        if args.skip_bulk:
            return
        db = open_database(cluster.new_database())
        codes = enrol(db, args.schools)
        with db.writer.begin() as conn:
            conn.execute(
                insert(MonContract),
                [
                    {"school": c, "updated_at": datetime(2026, 11, 1), **contract(i)}
                    for i, c in enumerate(codes)
                ],
            )
        t0 = time.perf_counter()
        rows = copy_month(db, codes, datetime(2026, 11, 1), args.days)
        print(
            f"2. bulk load: {args.schools} schools x {args.days} days (school days only) = {rows:,} rows "
            f"by COPY + roll-up in SQL: {time.perf_counter() - t0:.0f} s"
        )
        sizes = storage(db)
        months = args.schools * args.days / 30
        for table, size in sizes.items():
            print(f"   {table:<22} {size / 2**20:9.1f} MiB  {size / months / 1024:8.1f} KiB per school-month")
        print(f"   total {sum(sizes.values()) / months / 2**20:.2f} MiB per school-month (tables + indexes)")
        last = max(
            d
            for d in (datetime(2026, 11, 1) + timedelta(days=i) for i in range(args.days))
            if d.weekday() < 5
        )
        now = last - BJ + timedelta(hours=17, minutes=57)  # the end of the last school day loaded
        ms = timed(lambda: mon.overview(db, rules, now))
        states = {s: sum(1 for r in mon.overview(db, rules, now) if r.state == s) for s in mon.STATES}
        print(f"   overview of {args.schools} schools: {ms:.0f} ms (median of 5); states {states}")
        ms = timed(lambda: mon.contract_report(db, PROVIDERS[0], "2026-11", rules, mon.PAGE_SLOW_TESTS))
        report = mon.contract_report(db, PROVIDERS[0], "2026-11", rules)
        print(
            f"   contract report {PROVIDERS[0]} 2026-11 ({len(report.rows)} schools, {report.tests:,} tests, "
            f"{report.share_below:.1%} below, {sum(len(r.outages) for r in report.rows)} outages of "
            f"{report.hours_unreachable or 0:.1f} h in all), as its page reads it (the first "
            f"{mon.PAGE_SLOW_TESTS} slow tests listed): {ms:.0f} ms (median of 5)"
        )
        ms = timed(lambda: mon.contract_report(db, PROVIDERS[0], "2026-11", rules))
        print(f"   the same with all {report.below:,} slow tests listed, as the XLSX reads it: {ms:.0f} ms")
        db.close()


if __name__ == "__main__":
    main()
