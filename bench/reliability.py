"""Reliability figures: bad inputs, tampering, and (as root, with --lab) faults and packet scope.

    .venv/bin/python bench/reliability.py [--lab]

* **bad inputs**: every case of ``tests/support/bad_input.py`` run as the real ``auditor``
  command, one process each; a case is a *clear error* when it exits 2 with one line naming
  what it must (file, line, field) and no traceback. Wall time and peak memory (RSS) of each
  process are measured here, not asserted in the tests (the goal is under 2 s each).
* **tampering**: every file of a bundle in turn flipped, truncated, emptied, deleted and
  replaced by a directory, FIFO, link or hard link, and entries of five kinds added
  (``tests/support/tamper.py``); detected = verification fails and names the file; the slowest
  verification of them all (a hang would show here). Then, as the real command: a bundle
  re-signed by a forger's key (exit 4 unpinned with the trust store, 1 pinned to the agent's
  key), and a genuine bundle holding a 1 GiB evidence file (wall time and peak RSS of
  ``auditor verify``; the goal is under 300 MB).
* ``--lab``: runs ``tests/lab/test_reliability_lab.py`` and ``test_lab_faults.py`` (they build
  the demo school with prefix ``cat``, about eight minutes) and sums what they record: faults
  injected / survived / false passes, the demo bundle's tamper cases, secrets found, and every
  packet the agent sent during a full demo audit (captured / sent by the agent / outside the
  scope).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.bad_input import CASES, judge, prepare  # noqa: E402
from tests.support.paths import AUDITOR  # noqa: E402
from tests.support.tamper import build_bundle, resign, tamper_sweep  # noqa: E402

ENV = {**os.environ, "SNMP_COMMUNITY": "not-used"}


# A small launcher measures the auditor's peak RSS: measured from this process, a forked child's
# figure would include this (much larger) process's pages it shared until exec.
LAUNCHER = r"""
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def _measure(argv: list[str], tmp: Path) -> tuple[int, str, float, float]:
    """(exit code, stderr, seconds, peak RSS in MiB) of one ``auditor`` process."""
    with (tmp / "stdout").open("wb") as out, (tmp / "stderr").open("wb") as err:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LAUNCHER, str(tmp / "rss"), AUDITOR, *argv], stdout=out,
                              stderr=err, env={**ENV, "AUDITOR_STATE_DIR": str(tmp / "state")}, check=False)
        seconds = time.perf_counter() - started
    rss = int((tmp / "rss").read_text()) / 1024
    return done.returncode, (tmp / "stderr").read_text(errors="replace"), seconds, rss


def bad_inputs(work: Path) -> dict[str, Any]:
    keys = work / "keys"
    subprocess.run([AUDITOR, "keys", "init", "--key-dir", str(keys)], check=True, capture_output=True)
    rows = []
    for i, case in enumerate(CASES):
        tmp = work / f"case{i}"
        tmp.mkdir()
        argv, where = prepare(case, tmp, keys)
        code, stderr, seconds, rss = _measure(argv, tmp)
        rows.append({"id": case.id, "kind": case.kind, "problems": judge(case, code, stderr, where),
                     "seconds": seconds, "rss_mib": rss})
    return {"rows": rows, "tried": len(rows), "clear": sum(not r["problems"] for r in rows),
            "max_s": max(r["seconds"] for r in rows), "max_rss": max(r["rss_mib"] for r in rows),
            "over_2s": [r["id"] for r in rows if r["seconds"] >= 2.0]}


def tampering(work: Path, bundle: Path) -> dict[str, Any]:
    results = tamper_sweep(bundle, work)
    kinds: dict[str, list[int]] = {}
    for r in results:
        kind = kinds.setdefault(r.case, [0, 0])
        kind[0] += 1
        kind[1] += r.detected and r.named
    slowest = max(results, key=lambda r: r.seconds)
    return {"cases": len(results), "detected": sum(r.detected and r.named for r in results),
            "files": len({r.target for r in results if r.case == "flip"}), "kinds": kinds,
            "slowest": f"{slowest.case} {slowest.target} {slowest.seconds:.2f} s"}


def forgery(work: Path, bundle: Path) -> dict[str, Any]:
    """A forger's re-signed copy: unpinned (trust store) and pinned to the agent's key."""
    subprocess.run([AUDITOR, "keys", "init", "--key-dir", str(work / "forger")], check=True,
                   capture_output=True, env={**ENV, "AUDITOR_TRUST_DIR": str(work / "forger-trust")})
    forged = resign(bundle, work / "forged", work / "forger")
    unpinned, _, _, _ = _measure(["verify", str(forged)], work)
    first = (work / "stdout").read_text(errors="replace").splitlines()[:1]
    pinned, stderr, _, _ = _measure(["verify", str(forged), "--key",
                                     str(bundle.parent / "keys" / "agent-ed25519.pub")], work)
    return {"unpinned": unpinned, "first_line": first[0] if first else "", "pinned": pinned,
            "traceback": "Traceback" in stderr}


def _add_big_file(report: dict[str, Any], dst: Path) -> None:
    """A genuine 1 GiB evidence file (sparse zeros), listed with its size and digests."""
    from cryptography.hazmat.primitives import hashes

    path = dst / "evidence" / "big" / "capture.bin"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(2**30)
    sha, sm3 = hashes.Hash(hashes.SHA256()), hashes.Hash(hashes.SM3())
    chunk = bytes(2**20)
    for _ in range(1024):
        sha.update(chunk)
        sm3.update(chunk)
    report["artifacts"].append({"path": "evidence/big/capture.bin", "size": 2**30, "media_type":
                                "application/octet-stream", "description": "a 1 GiB capture",
                                "sha256": sha.finalize().hex(), "sm3": sm3.finalize().hex()})


def big_file(work: Path, bundle: Path) -> dict[str, Any]:
    big = resign(bundle, work / "big", bundle.parent / "keys", _add_big_file)
    code, stderr, seconds, rss = _measure(["verify", str(big), "--key",
                                           str(bundle.parent / "keys" / "agent-ed25519.pub")], work)
    return {"exit": code, "seconds": seconds, "rss_mib": rss, "traceback": "Traceback" in stderr}


def lab(work: Path) -> list[dict[str, Any]]:
    figures = work / "figures.jsonl"
    argv = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
            str(ROOT / "tests/lab/test_reliability_lab.py"), str(ROOT / "tests/lab/test_lab_faults.py")]
    done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "RELIABILITY_FIGURES": str(figures)},
                          capture_output=True, text=True, check=False)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
    if not figures.exists():
        return []
    return [json.loads(line) for line in figures.read_text(encoding="utf-8").splitlines()]


def _print_bad(bad: dict[str, Any]) -> None:
    kinds: dict[str, list[int]] = {}
    for r in bad["rows"]:
        kinds.setdefault(r["kind"], [0, 0])[0] += 1
        kinds[r["kind"]][1] += not r["problems"]
    per_kind = ", ".join(f"{k} {c}/{n}" for k, (n, c) in kinds.items())
    print(f"bad inputs tried: {bad['tried']}; clear errors (exit 2, one line naming file/line/field, "
          f"no traceback): {bad['clear']} ({per_kind})")
    print(f"  slowest case {bad['max_s']:.2f} s, largest peak RSS {bad['max_rss']:.0f} MiB; "
          f"cases at or over 2 s: {', '.join(bad['over_2s']) or 'none'}")
    slow = sorted(bad["rows"], key=lambda r: -r["seconds"])[:3]
    print("  slowest: " + ", ".join(f"{r['id']} {r['seconds']:.2f} s" for r in slow))
    for name in ("alias-bomb", "file-50mb", "deep-nesting"):
        row = next(r for r in bad["rows"] if r["id"] == name)
        print(f"  {name}: {row['seconds']:.2f} s, peak RSS {row['rss_mib']:.0f} MiB")
    big = max(bad["rows"], key=lambda r: r["rss_mib"])
    print(f"  largest peak RSS: {big['id']} ({big['rss_mib']:.0f} MiB)")
    for r in bad["rows"]:
        if r["problems"]:
            print(f"  NOT CLEAR {r['id']}: {'; '.join(r['problems'])}")


def _print_lab(figures: list[dict[str, Any]]) -> None:
    faults = [f for f in figures if f["kind"] == "fault"]
    print(f"faults injected: {len(faults)}; survived: {sum(f['survived'] for f in faults)}; "
          f"false passes: {sum(f['false_passes'] for f in faults)}")
    for f in faults:
        extra = f" (dropped {f['dropped']} datagrams, {f['errors']}/{f['findings']} findings error)" \
            if "dropped" in f else ""
        print(f"  {'survived' if f['survived'] else 'FAILED  '} {f['name']}{extra}")
    for f in figures:
        if f["kind"] == "scope":
            print(f"packets captured on the agent's interfaces: {f['packets']} ({f['tcpdump']}); sent by the "
                  f"agent: {f['outgoing']} to {f['addresses']} addresses; out of scope: {f['out_of_scope']}")
        elif f["kind"] == "tamper":
            print(f"tamper cases on the full demo bundle: {f['cases']}; detected and named: {f['detected']}")
        elif f["kind"] == "secrets":
            print(f"secrets: {f['secrets']} demo secrets searched in {f['files']} files and logs; "
                  f"occurrences: {f['occurrences']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lab", action="store_true", help="also run the lab faults (root, ~10 min)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        work = Path(tmp)
        (work / "bad").mkdir()
        bad = bad_inputs(work / "bad")
        _print_bad(bad)
        bundle = build_bundle(work / "bundle")
        tamper = tampering(work, bundle)
        print(f"tamper cases (bundle of {tamper['files']} files): {tamper['cases']}; "
              f"detected and named: {tamper['detected']}; slowest verification: {tamper['slowest']}")
        for kind, (n, caught) in tamper["kinds"].items():
            print(f"  {kind}: {caught}/{n}")
        forged = forgery(work, bundle)
        print(f"re-signed by a forger: unpinned exit {forged['unpinned']} ({forged['first_line'][:90]}…), "
              f"pinned to the agent's key exit {forged['pinned']}")
        big = big_file(work, bundle)
        print(f"genuine bundle with a 1 GiB evidence file: verify exit {big['exit']} in "
              f"{big['seconds']:.1f} s, peak RSS {big['rss_mib']:.0f} MiB (goal < 300 MB)")
        if args.lab:
            _print_lab(lab(work))
    ok = (bad["clear"] == bad["tried"] and tamper["detected"] == tamper["cases"]
          and forged["unpinned"] == 4 and forged["pinned"] == 1 and big["exit"] == 0
          and not forged["traceback"] and not big["traceback"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
