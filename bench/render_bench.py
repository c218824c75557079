"""Time to render every format of a demo report, and the renderer's peak memory.

    .venv/bin/python bench/render_bench.py [--report tests/data/reports/demo-report.json] [--repeat 3]

Each repeat runs in a fresh Python process (so matplotlib's import and font loading are counted,
as in a real ``auditor run``), renders html, evidence-index, pdf, md, oscal, xlsx, docx and csv in
turn and reports per-format seconds, the total, and the process's peak RSS. Goal: all formats
under 8 s on the 2-core test machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from auditor.plugins import load_plugins
from auditor.bundle import select_renderers
from auditor.plugins import RenderOptions
report = json.loads(open(sys.argv[1], "rb").read())
renderers = select_renderers(load_plugins().renderers,
                             ["html", "pdf", "md", "oscal", "xlsx", "docx", "csv"])
out = {"import": time.perf_counter() - t0}
sizes = {}
for r in renderers:
    t = time.perf_counter()
    data = r.render(report, RenderOptions())
    out[r.filename] = time.perf_counter() - t
    sizes[r.filename] = len(data)
out["total"] = time.perf_counter() - t0
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
out["sizes"] = sizes
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path, default=ROOT / "tests/data/reports/demo-report.json")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.report)], capture_output=True,
                              text=True, check=True)
        runs.append(json.loads(done.stdout))
    report = json.loads(args.report.read_bytes())
    print(f"report: {args.report} ({len(report['findings'])} findings, {len(report['indicators'])} "
          f"items, {len(report['artifacts'])} artifacts); {args.repeat} fresh processes, medians:")
    keys = [k for k in runs[0] if k not in {"sizes", "peak_rss_mb", "children_peak_rss_mb"}]
    for key in keys:
        values = [r[key] for r in runs]
        size = runs[0]["sizes"].get(key)
        extra = f"  ({size / 1024:,.0f} KiB)" if size else ""
        print(f"  {key:26} {statistics.median(values):6.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f}){extra}")
    print(f"  {'peak RSS (Python)':26} {statistics.median(r['peak_rss_mb'] for r in runs):6.1f} MB")
    print(f"  {'peak RSS (largest child)':26} "
          f"{statistics.median(r['children_peak_rss_mb'] for r in runs):6.1f} MB  (chromium, dot)")
    total = statistics.median(r["total"] for r in runs)
    print(f"all formats: {total:.2f} s (goal < 8 s): {'met' if total < 8 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
