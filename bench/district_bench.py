"""District-server benchmark (loopback only, bounded): ingest rate, dashboard time, scaling.

Starts real ``auditor district serve`` processes on 127.0.0.1 (HTTPS, throw-away CA) and drives
them with simulated schools: each school is enrolled like an agent (its own Ed25519 key) and
uploads signed bundles with signed requests, 50 schools at a time. Prints:

  1. bundles verified and ingested per second by ONE server process pinned to one core (SQLite),
     50 concurrent schools (goal ≥ 200/s), for a small bundle (a one-profile remote check from a
     real ``auditor run``) and for the full demo bundle (three profiles, 125 findings, ~100 files);
     also the server's CPU time per bundle (the per-core capacity, whatever the client costs);
  2. the dashboard's overview page time at 500 schools × 20 runs (goal < 300 ms), and the
     comparison page and CSV export;
  3. bundles/s with 1, 2 and 4 server processes on one PostgreSQL (throw-away cluster).

Usage: .venv/bin/python bench/district_bench.py [--schools 50] [--per-school 6] [--skip-dashboard]
       [--skip-scaling] [--skip-demo] [--repeat N] [--dashboard-schools 500] [--dashboard-runs 20]
Figures only; nothing is asserted. Every request goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from auditor.agent.enrol import enrol  # noqa: E402
from auditor.agent.outbox import pack  # noqa: E402
from auditor.district.tlsgen import make_tls  # noqa: E402
from auditor.lab.district_harness import Server, cli  # noqa: E402
from auditor.model import ENVELOPE_NAME  # noqa: E402
from auditor.signing import Ed25519Signer, load_signer  # noqa: E402
from auditor.wire.client import SignedClient  # noqa: E402
from tests.support.history_bundles import Synth, template  # noqa: E402

OUT_OF_SCOPE_PROFILE = "gbt22239-2019-level2"


@dataclass
class School:
    code: str
    signer: Ed25519Signer
    client: SignedClient
    archives: list[tuple[str, Path, str]]  # (digest, archive, archive sha256)


@dataclass
class District:
    home: Path
    admin: str
    server: Server


def start(base: Path, db: str, workers: int = 1, cpu: int | None = None) -> District:
    home = base / "home"
    res = cli("district", "--home", str(home), "init", "--db", db)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    if not (base / "tls" / "server.pem").exists():
        make_tls(base / "tls", ["127.0.0.1"])
    server = Server(home, tls_dir=base / "tls", workers=workers).start(60)
    if cpu is not None and server.proc is not None:
        os.sched_setaffinity(server.proc.pid, {cpu})
    return District(home, res.stdout.strip(), server)


def small_template(base: Path) -> dict[str, Any]:
    """The report of a real run: one profile, every target out of scope (nothing is sent)."""
    from tests.support.inventories import OUT_OF_SCOPE

    inv = base / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    keys = base / "tmpl-keys"
    cli("keys", "init", "--key-dir", str(keys))
    out = base / "tmpl"
    res = cli(
        "run",
        "-q",
        "-i",
        str(inv),
        "-p",
        OUT_OF_SCOPE_PROFILE,
        "-o",
        str(out),
        "--key-dir",
        str(keys),
        "--no-history",
        "--format",
        "html",
        env={"SNMP_COMMUNITY": "x"},
    )
    if not (out / "report.json").exists():
        raise SystemExit(f"template run failed: {res.stderr[-500:]}")
    report: dict[str, Any] = json.loads((out / "report.json").read_bytes())
    for artifact in report["artifacts"]:  # the synthetic copies rewrite the evidence, SHA-256 only
        artifact.pop("sm3", None)
    return report


def enrol_schools(d: District, base: Path, n: int, prefix: str) -> list[tuple[str, Path, Ed25519Signer]]:
    out = []
    ca = d.server.ca
    assert ca is not None
    with httpx.Client(base_url=d.server.url, verify=_ctx(ca), timeout=60) as http:
        for i in range(n):
            code = f"{prefix}-{i:03d}"
            token = http.post(
                f"/v1/admin/members/{code}/tokens", headers={"authorization": f"Bearer {d.admin}"}
            ).json()["token"]
            home = base / "agents" / code
            enrol(home, d.server.url, token, ca, home / "keys")
            out.append((code, home, load_signer(home / "keys")))
    return out


def _ctx(ca: Path) -> Any:
    import ssl

    return ssl.create_default_context(cafile=str(ca))


def build(
    schools: list[tuple[str, Path, Ed25519Signer]], report: dict[str, Any], per_school: int, work: Path
) -> list[School]:
    built = []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for code, _home, signer in schools:
        archives = []
        for k in range(per_school):
            synth = Synth(start + timedelta(days=k), report=report)
            synth.report["site"]["school"]["code"] = code
            out = synth.write(work / f"{code}-{k}", signer)
            digest = hashlib.sha256((out / ENVELOPE_NAME).read_bytes()).hexdigest()
            archive = work / f"{code}-{k}.tar.gz"
            sha, _size = pack(out, archive)
            archives.append((digest, archive, sha))
        built.append(School(code, signer, SignedClient("https://x", None, signer, code), archives))
    return built


def cpu_seconds(pid: int) -> float:
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def drive(d: District, schools: list[School], client_cpu: int | None = None) -> dict[str, float]:
    """Every school uploads its bundles one after another, all schools at once."""
    ca = d.server.ca
    for s in schools:
        s.client.close()
        s.client = SignedClient(d.server.url, ca, s.signer, s.code)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    latencies: list[float] = []
    errors: list[str] = []

    def one(s: School) -> None:
        for digest, archive, sha in s.archives:
            t0 = time.perf_counter()
            try:
                answer = s.client.put_file(f"/v1/bundles/{digest}", archive, sha)
                if answer["status"] != "ingested":
                    errors.append(answer["status"])
            except Exception as exc:
                errors.append(str(exc)[:200])
            latencies.append(time.perf_counter() - t0)

    assert d.server.proc is not None
    cpu0 = cpu_seconds(d.server.proc.pid)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(schools)) as pool:
        list(pool.map(one, schools))
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(d.server.proc.pid) - cpu0
    if client_cpu is not None:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    n = sum(len(s.archives) for s in schools)
    latencies.sort()
    return {
        "bundles": n,
        "wall_s": wall,
        "per_s": n / wall,
        "server_cpu_s": cpu,
        "server_cpu_ms_per_bundle": 1000 * cpu / n,
        "per_cpu_s": n / cpu if cpu else 0.0,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)],
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def ingest_rate(
    base: Path, report: dict[str, Any], label: str, schools: int, per_school: int
) -> dict[str, float]:
    root = base / f"ingest-{label}"
    root.mkdir()
    d = start(root, f"sqlite:///{root / 'district.db'}", workers=1, cpu=0)
    try:
        enrolled = enrol_schools(d, root, schools, "ING")
        built = build(enrolled, report, per_school, root / "bundles")
        return drive(d, built, client_cpu=1 if (os.cpu_count() or 1) > 1 else None)
    finally:
        d.server.stop()


# -- dashboard ---------------------------------------------------------------------------------


def populate(db: str, report: dict[str, Any], schools: int, runs: int) -> float:
    """Rows for schools × runs, written straight into the tables (no HTTP: this measures reads)."""
    from sqlalchemy import insert

    from auditor.district.db import open_database
    from auditor.district.models import Key, Member
    from auditor.history.extract import extract
    from auditor.history.models import CHILD_TABLES, Run

    t0 = time.perf_counter()
    database = open_database(db)
    base_rows = extract(report, "/nonexistent", "0" * 64, "sha256:bench", True)
    tables = {m.__tablename__: m for m in CHILD_TABLES}
    now = datetime.now(UTC).replace(tzinfo=None)
    pk = 0
    with database.writer.begin() as conn:
        conn.execute(
            insert(Member),
            [
                {"code": f"DASH-{s:03d}", "kind": "school", "name": None, "via": None, "created_at": now}
                for s in range(schools)
            ],
        )
        conn.execute(
            insert(Key),
            [
                {
                    "fingerprint": "sha256:bench",
                    "member": "DASH-000",
                    "public_pem": "",
                    "status": "active",
                    "created_at": now,
                }
            ],
        )
    for s in range(schools):
        run_rows, child_rows = [], {t: [] for t in base_rows.children}
        for r in range(runs):
            pk += 1
            started = now - timedelta(days=(runs - r) * 3 + s % 40, minutes=s)
            run_rows.append(
                {
                    **base_rows.run,
                    "pk": pk,
                    "run_id": str(uuid.uuid4()),
                    "school_code": f"DASH-{s:03d}",
                    "school_name": f"学校 {s:03d}",
                    "started_at": started,
                    "finished_at": started,
                    "bundle_digest": uuid.uuid4().hex + uuid.uuid4().hex,
                    "ingested_at": now,
                }
            )
            for table, rows in base_rows.children.items():
                child_rows[table].extend({**row, "run_pk": pk} for row in rows)
        with database.writer.begin() as conn:
            conn.execute(insert(Run), run_rows)
            for table, rows in child_rows.items():
                if rows:
                    conn.execute(insert(tables[table]), rows)
    database.close()
    return time.perf_counter() - t0


def page_times(d: District, paths: list[str], repeat: int) -> dict[str, tuple[float, float, int]]:
    ca = d.server.ca
    assert ca is not None
    out = {}
    with httpx.Client(
        base_url=d.server.url, verify=_ctx(ca), timeout=120, headers={"authorization": f"Bearer {d.admin}"}
    ) as http:
        for path in paths:
            http.get(path)  # warm
            times = []
            size = 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                got = http.get(path)
                times.append(time.perf_counter() - t0)
                got.raise_for_status()
                size = len(got.content)
            out[path] = (1000 * statistics.median(times), 1000 * max(times), size)
    return out


def dashboard(base: Path, schools: int, runs: int) -> tuple[float, dict[str, tuple[float, float, int]]]:
    root = base / "dashboard"
    root.mkdir()
    db = f"sqlite:///{root / 'district.db'}"
    cli("district", "--home", str(root / "home"), "init", "--db", db)  # schema; the admin token below
    filled = populate(db, template(), schools, runs)
    import shutil

    shutil.rmtree(root / "home")
    d = start(root, db)
    try:
        codes = "&".join(f"school=DASH-{i:03d}" for i in range(5))
        times = page_times(
            d,
            [
                "/dashboard",
                f"/dashboard/compare?{codes}",
                "/dashboard/schools.csv",
                "/dashboard/schools/DASH-007",
            ],
            repeat=7,
        )
    finally:
        d.server.stop()
    return filled, times


# -- scaling -----------------------------------------------------------------------------------


def scaling(base: Path, report: dict[str, Any], schools: int, per_school: int) -> dict[int, dict[str, float]]:
    from tests.support.pg import throwaway_cluster

    out = {}
    with throwaway_cluster() as cluster:
        for workers in (1, 2, 4):
            root = base / f"pg-{workers}"
            root.mkdir()
            d = start(root, cluster.new_database(), workers=workers)
            try:
                enrolled = enrol_schools(d, root, schools, f"PG{workers}")
                built = build(enrolled, report, per_school, root / "bundles")
                out[workers] = drive(d, built)
            finally:
                d.server.stop()
    return out


def _row(label: str, r: dict[str, float]) -> str:
    return (
        f"| {label} | {r['bundles']:.0f} | {r['per_s']:.1f} | {r['per_cpu_s']:.1f} | "
        f"{r['server_cpu_ms_per_bundle']:.1f} | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} | {r['errors']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--per-school", type=int, default=6)
    parser.add_argument("--dashboard-schools", type=int, default=500)
    parser.add_argument("--dashboard-runs", type=int, default=20)
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-demo", action="store_true", help="measure 1. with the small bundle only")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure 1. this many times (a fresh server each time)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="district-bench-") as tmp:
        base = Path(tmp)
        small = small_template(base)
        print(
            f"small bundle: {len(small['findings'])} findings, {len(small['indicators'])} items, "
            f"{len(small['artifacts'])} evidence file(s); "
            f"demo bundle: {len(template()['findings'])} findings, "
            f"{len(template()['indicators'])} items, {len(template()['artifacts'])} evidence files\n"
        )
        header = (
            "| bundles | n | bundles/s (wall) | bundles per server CPU-second | server CPU ms/bundle | "
            "latency p50 / p95 ms | errors |\n|---|---|---|---|---|---|---|"
        )
        print(
            f"1. one server process pinned to CPU 0 (SQLite), {args.schools} schools uploading at once, "
            "client on CPU 1"
        )
        print(header)
        kinds = [("small", small)] + ([] if args.skip_demo else [("demo", template())])
        for label, report in kinds:
            for attempt in range(args.repeat):
                name = label if args.repeat == 1 else f"{label}-{attempt + 1}"
                result = ingest_rate(base, copy.deepcopy(report), name, args.schools, args.per_school)
                print(_row(label, result), flush=True)
                if result["errors"]:
                    print(f"   first error: {result['first_error']}")
        if not args.skip_dashboard:
            filled, times = dashboard(base, args.dashboard_schools, args.dashboard_runs)
            print(
                f"\n2. dashboard, {args.dashboard_schools} schools × {args.dashboard_runs} runs "
                "of the demo report "
                f"(rows written in {filled:.0f} s); median / max of 7, ms:"
            )
            print("| page | median ms | max ms | bytes |\n|---|---|---|---|")
            for path, (med, worst, size) in times.items():
                print(f"| `{path.split('?')[0]}` | {med:.0f} | {worst:.0f} | {size} |", flush=True)
        if not args.skip_scaling:
            print(
                f"\n3. PostgreSQL (throw-away cluster), {args.schools} schools, small bundles; "
                "server processes share the machine's cores with PostgreSQL and the client"
            )
            print(header.replace("| bundles |", "| processes |"))
            for workers, r in scaling(base, small, args.schools, args.per_school).items():
                print(_row(str(workers), r), flush=True)


if __name__ == "__main__":
    main()
