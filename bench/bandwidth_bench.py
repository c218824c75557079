"""Bandwidth benchmark on the namespace demo school (root). Prints, from one run:

1. reported goodput ÷ raw ``iperf3 -c`` goodput per link and direction (goal 0.99–1.01),
   and reported goodput ÷ the shaped rate's TCP ceiling (0.956 × tbf rate: tbf counts the
   1514-byte frame, of which 1448 bytes are TCP payload with timestamps);
2. full audit wall time ÷ the sum of the iperf3 test durations it ran (goal ≤ 1.10), and
   ÷ the longest chain of tests that had to run one after another (the critical path);
3. the agent's peak RSS (goal ≤ 150 MB).

Usage: sudo .venv/bin/python bench/bandwidth_bench.py [--runs 3] [--duration 5] [--omit 1]
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
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
AUDITOR = str(Path(sys.executable).parent / "auditor")
TCP_CEILING = 0.956


def links(site: dict[str, Any]) -> list[tuple[str, str, bool, int, str]]:
    """(subject, address, reverse, shaped Mbit/s, bottleneck) for every test the audit runs."""
    out = []
    for ep in site["uplink"]["endpoints"]:
        for d, rev in (("downstream", True), ("upstream", False)):
            out.append((f"uplink/{ep['id']}/{d}", ep["address"], rev, 1000, "uplink"))
    rates = {"room101": 100, "room102": 100, "room103": 40}
    for room in site["classrooms"]:
        for d, rev in (("downstream", False), ("upstream", True)):
            out.append((f"classroom/{room['id']}/{d}", room["endpoint"]["address"], rev,
                        rates[room["id"]], room["id"]))
    return out


def raw_iperf3(ns: str, address: str, reverse: bool, args: argparse.Namespace) -> float:
    """Median receiver goodput (Mbit/s) of ``runs`` plain iperf3 runs."""
    results = []
    for _ in range(args.runs):
        argv = ["ip", "netns", "exec", ns, "iperf3", "-c", address, "-t", str(args.duration),
                "-O", str(args.omit), "--json"] + (["-R"] if reverse else [])
        doc = json.loads(subprocess.run(argv, capture_output=True, check=True, timeout=120).stdout)
        if "error" in doc:
            raise SystemExit(f"raw iperf3 to {address} failed: {doc['error']}")
        results.append(doc["end"]["sum_received"]["bits_per_second"] / 1e6)
    return statistics.median(results)


def run_audit(ns: str, community: str, args: argparse.Namespace, tmp: Path,
              site: Path) -> tuple[float, int, dict[str, Any]]:
    """Run the audit in the agent namespace; return (wall seconds, peak RSS in KB, report)."""
    keys, out = tmp / "keys", tmp / "audit"
    subprocess.run([AUDITOR, "keys", "init", "--key-dir", str(keys)], check=True, capture_output=True)
    argv = ["ip", "netns", "exec", ns, AUDITOR, "run", "-q", "-i", str(site), "-p",
            "beijing-smart-campus-2023", "-o", str(out), "--key-dir", str(keys),
            "--allow-class-hours", "--set", f"iperf3.bandwidth.runs={args.runs}",
            "--set", f"iperf3.bandwidth.duration_s={args.duration}",
            "--set", f"iperf3.bandwidth.omit_s={args.omit}"]
    env = {**os.environ, "DEMO_SNMP_COMMUNITY": community}
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"the audit failed (exit {os.waitstatus_to_exitcode(status)})")
    return wall, usage.ru_maxrss, json.loads((out / "report.json").read_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--omit", type=int, default=1)
    parser.add_argument("--prefix", default="cab")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark builds network namespaces: run it as root")
    from auditor.lab import school

    info = school.up(args.prefix)
    site = yaml.safe_load((info.state_dir / "site.yaml").read_text(encoding="utf-8"))
    try:
        raw = {subject: raw_iperf3(info.agent_ns, addr, rev, args)
               for subject, addr, rev, _rate, _b in links(site)}
        audits = {}
        for mode in ("parallel", "serial"):
            with tempfile.TemporaryDirectory() as tmp:
                audits[mode] = run_audit(info.agent_ns, info.snmp_community, args, Path(tmp),
                                         _site_file(site, Path(tmp), serial=mode == "serial"))
    finally:
        school.down(args.prefix)
    for mode, (wall, rss_kb, report) in audits.items():
        print(f"\n== audit with {mode} bandwidth tests "
              + ("(one bottleneck declared per link: links tested at the same time)"
                 if mode == "parallel" else "(the demo inventory: every test one after another)"))
        report_table(site, raw, wall, rss_kb, report, args, serial=mode == "serial")


def _site_file(site: dict[str, Any], tmp: Path, serial: bool) -> Path:
    """The demo inventory (no bottlenecks: serial), or with one bottleneck per link (parallel)."""
    data = json.loads(json.dumps(site))
    if not serial:
        for ep in data["uplink"]["endpoints"]:
            ep["bottleneck"] = "uplink"
        for room in data["classrooms"]:
            room["endpoint"]["bottleneck"] = room["id"]
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def report_table(site: dict[str, Any], raw: dict[str, float], wall: float, rss_kb: int,
                 report: dict[str, Any], args: argparse.Namespace, serial: bool) -> None:
    facts = {f["subject"]: f["data"] for f in report["facts"] if f["kind"] == "bandwidth.goodput"}
    print(f"iperf3 -t {args.duration} -O {args.omit}, median of {args.runs} runs, raw tests run "
          "one at a time, audit tests scheduled by bottleneck")
    print(f"{'link':32} {'raw':>8} {'reported':>9} {'rep/raw':>8} {'ceiling':>8} {'rep/ceil':>8}")
    lanes: dict[str, float] = {}
    total = 0.0
    for subject, _addr, _rev, rate, bottleneck in links(site):
        data = facts[subject]
        ceiling = TCP_CEILING * rate
        print(f"{subject:32} {raw[subject]:8.2f} {data['median_mbps']:9.2f} "
              f"{data['median_mbps'] / raw[subject]:8.4f} {ceiling:8.1f} "
              f"{data['median_mbps'] / ceiling:8.4f}")
        spent = sum(r["seconds"] + data["omit_s"] for r in data["runs"])
        total += spent
        lane = "default" if serial else bottleneck
        lanes[lane] = lanes.get(lane, 0.0) + spent
    critical = max(lanes.values())
    print(f"audit wall time {wall:.1f} s; iperf3 test time summed {total:.1f} s "
          f"(ratio {wall / total:.3f}); longest serial chain {critical:.1f} s "
          f"(ratio {wall / critical:.3f})")
    print(f"agent peak RSS {rss_kb / 1024:.1f} MB")


if __name__ == "__main__":
    main()
