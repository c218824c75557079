"""History-store benchmark: ingest speed and query times over 1,000 runs.

Builds N synthetic signed bundles (default 1,000; the demo report with varied goodput, dates
and schools, ``tests/history_bundles.py``) in a temporary directory, then on SQLite (and on a
throw-away PostgreSQL cluster with ``--pg``, ``tests/pg.py``) prints:

  1. ingest time per bundle (verification included) and bundles/s (goal ≥ 50/s);
  2. median query times over the full store (goal < 100 ms each): ``runs()``, ``series()`` of
     one check and target, ``previous_comparable()`` and ``diff_runs()`` of the newest run.

Usage: .venv/bin/python bench/history_bench.py [--bundles 1000] [--schools 10] [--pg]
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.history import open_store  # noqa: E402
from auditor.history.diff import diff_runs  # noqa: E402
from auditor.signing import Ed25519Signer, init_keys, load_signer  # noqa: E402
from tests.support.history_bundles import BASE_TIME, CISCO_CONFIG, Synth  # noqa: E402

LINKS = ["uplink/district/downstream", "uplink/district/upstream"] + [
    f"classroom/room10{n}/{d}" for n in (1, 2, 3) for d in ("downstream", "upstream")]
NOMINAL = {"uplink": 956.0, "room101": 95.6, "room102": 95.6, "room103": 38.2}
CHECK, TARGET = "bandwidth.classroom_goodput", "classroom/room101/downstream"


def _synth(i: int, schools: int, rng: random.Random) -> Synth:
    """Run i: school i % schools, one run per school per day, goodput within ±3 %, and now and
    then a slow classroom, a changed configuration or a failed backup."""
    school = i % schools
    synth = Synth(BASE_TIME + timedelta(days=i // schools, minutes=school))
    synth.report["site"]["school"]["code"] = f"BENCH-{school:03d}"
    for link in LINKS:
        nominal = NOMINAL[link.split("/")[1]] if link.startswith("classroom") else NOMINAL["uplink"]
        synth.set_goodput(link, round(nominal * rng.uniform(0.97, 1.03), 3))
    if rng.random() < 0.05:
        synth.set_goodput(TARGET, 60.0)
    if rng.random() < 0.05:
        synth.change_config("access-cisco", CISCO_CONFIG, f"banner motd ^C run {i} ^C\n")
    if rng.random() < 0.05:
        synth.set_finding("backup.fresh", "backup/student-db", "fail", measured=40.0)
    return synth


def build(root: Path, count: int, schools: int, signer: Ed25519Signer) -> list[Path]:
    rng = random.Random(20261202)
    seed = Synth().write(root / "seed", signer)  # unedited evidence, hard-linked into every bundle
    bundles = []
    started = time.perf_counter()
    for i in range(count):
        bundles.append(_synth(i, schools, rng).write(root / f"run{i:05d}", signer, link_from=seed))
        if (i + 1) % 100 == 0:
            print(f"  built {i + 1}/{count} bundles ({time.perf_counter() - started:.0f} s)", flush=True)
    return bundles


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def measure(label: str, url: str, bundles: list[Path], repeat: int, key: Path) -> None:
    print(f"\n== {label}")
    with open_store(url) as store:
        per = []
        t_all = time.perf_counter()
        for bundle in bundles:
            t0 = time.perf_counter()
            store.ingest(bundle, key)  # the agent's key, pinned
            per.append(time.perf_counter() - t0)
        total = time.perf_counter() - t_all
        per_ms = sorted(x * 1000 for x in per)
        print(f"ingest: {len(bundles)} bundles in {total:.1f} s = {len(bundles) / total:.1f} bundles/s "
              f"(goal ≥ 50); per bundle median {statistics.median(per_ms):.1f} ms, "
              f"p95 {per_ms[int(0.95 * len(per_ms)) - 1]:.1f} ms, max {per_ms[-1]:.1f} ms")
        newest = store.runs(limit=1)[0]
        previous = store.previous_comparable(newest.run_id)
        assert previous is not None
        queries: list[tuple[str, Callable[[], Any]]] = [
            ("runs() (all runs)", store.runs),
            ("runs(school, limit=20)", lambda: store.runs(school=newest.school_code, limit=20)),
            (f"series({CHECK}, {TARGET})", lambda: store.series(CHECK, TARGET)),
            ("series(bandwidth.goodput.median, same link)",
             lambda: store.series("bandwidth.goodput.median", TARGET)),
            ("previous_comparable(newest)", lambda: store.previous_comparable(newest.run_id)),
            ("diff_runs(previous, newest)", lambda: diff_runs(store, previous, newest)),
        ]
        print(f"queries over {len(store.runs())} runs (median of {repeat}; goal < 100 ms each):")
        for name, fn in queries:
            print(f"  {name:<48} {_median_ms(fn, repeat):8.2f} ms")
        print(f"  (series gave {len(store.series(CHECK, TARGET))} points; the diff named "
              f"{len(diff_runs(store, previous, newest).regressions)} regression(s))")


@contextmanager
def _pg(enabled: bool) -> Iterator[str | None]:
    if not enabled:
        yield None
        return
    from tests.support.pg import throwaway_cluster

    with throwaway_cluster() as cluster:
        yield cluster.new_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", type=int, default=1000)
    parser.add_argument("--schools", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=21, help="runs of each query (median)")
    parser.add_argument("--pg", action="store_true", help="also on a throw-away PostgreSQL cluster")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        root = Path(tmp)
        init_keys(root / "keys")
        signer = load_signer(root / "keys")
        print(f"building {args.bundles} signed bundles in {root} ...", flush=True)
        bundles = build(root / "bundles", args.bundles, args.schools, signer)
        key = root / "keys" / "agent-ed25519.pub"
        measure("SQLite (file, WAL)", f"sqlite:///{root / 'history.sqlite'}", bundles, args.repeat, key)
        with _pg(args.pg) as url:
            if url is not None:
                measure("PostgreSQL (throw-away cluster, unix socket)", url, bundles, args.repeat, key)


if __name__ == "__main__":
    main()
