"""Exposed-services benchmark on the namespace demo school (root). Prints, from one run:
the nmap.services probe's task wall time ÷ raw nmap's wall time, same target and flags
(goal ≤ 1.05), for a connect scan and for a scan with service detection.

Usage: sudo .venv/bin/python bench/nmap_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
AUDITOR = str(Path(sys.executable).parent / "auditor")
MODES = {"connect scan": ["nmap.services.service_detection=false"],
         "service detection (-sV, intensity 0)": []}


def audit_once(ns: str, tmp: Path, sets: list[str]) -> tuple[float, list[str]]:
    """One audit that runs only the scan; returns (task seconds, the nmap argv it used)."""
    out = tmp / f"audit-{time.monotonic_ns()}"
    argv = ["ip", "netns", "exec", ns, AUDITOR, "run", "-q", "-i", str(tmp / "site.yaml"),
            "-p", str(tmp / "profile.yaml"), "-o", str(out), "--key-dir", str(tmp / "keys"),
            "--attestations", str(tmp / "none")]
    for item in sets:
        argv += ["--set", item]
    subprocess.run(argv, capture_output=True, check=False, timeout=600)
    report = json.loads((out / "report.json").read_bytes())
    task = next(p for p in report["plan"] if p["probe"] == "nmap.services")
    fact = next(f for f in report["facts"] if f["kind"] == "services.ports")
    return float(task["seconds"]), fact["data"]["command"].split()


def raw_once(ns: str, argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, check=True, timeout=600)
    return time.monotonic() - started


def prepare(tmp: Path, state_dir: Path) -> None:
    site = yaml.safe_load((state_dir / "site.yaml").read_text(encoding="utf-8"))
    (tmp / "site.yaml").write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    profile = {"schema": 2, "id": "bench-services", "title": "bench", "version": "1",
               "source": "bench", "groups": [{"id": "g", "title": "g", "items": [
                   {"id": "g.1", "text": "services", "checks": [
                       {"check": "services.risky_exposed"}]}]}]}
    (tmp / "profile.yaml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    subprocess.run([AUDITOR, "keys", "init", "--key-dir", str(tmp / "keys")], check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prefix", default="cab")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark builds network namespaces: run it as root")
    from auditor.lab import school

    info = school.up(args.prefix)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            prepare(tmp, info.state_dir)
            for mode, sets in MODES.items():
                probe, raw = [], []
                for _ in range(args.repeat):  # interleaved, so drift hits both alike
                    seconds, argv = audit_once(info.agent_ns, tmp, sets)
                    probe.append(seconds)
                    raw.append(raw_once(info.agent_ns, argv))
                p, r = statistics.median(probe), statistics.median(raw)
                print(f"{mode}: probe task {p:.3f} s, raw nmap {r:.3f} s (medians of "
                      f"{args.repeat}), ratio {p / r:.3f}; flags: {' '.join(argv[1:-1])}")
    finally:
        school.down(args.prefix)


if __name__ == "__main__":
    main()
