"""Offline configuration audit benchmark: every device check on 1,000 generated configurations.

The configurations are grown from the real ones in ``tests/data/device-configs/`` and the
project's fixtures (all four vendors): interface sections are repeated, renumbered, until the
file reaches a size drawn between 100 and 20,000 lines (log-uniform, fixed seed), and written to
a temporary folder. Each is then audited as ``auditor device audit FILE --vendor V`` does
(``auditor.offline.audit_saved``: read, decode, the vendor family's view, 21 checks).

Prints, from one run:
  1. per configuration: median, p95 and max wall time, overall and by size (goal: median under
     20 ms);
  2. the raw floor on the same files, measured in the same run: reading each file and matching
     one regular expression over every line (what any line-based tool must at least do), and the
     audit ÷ floor ratio;
  3. peak memory (RSS) of this process, and of one ``auditor device audit FOLDER`` process over
     the 1,000 files with its wall time.

Usage: .venv/bin/python bench/device_audit.py [--count 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.offline import audit_saved, read_export  # noqa: E402
from auditor.plugins import load_plugins  # noqa: E402
from auditor.vendors import family  # noqa: E402

AUDITOR = str(Path(sys.executable).parent / "auditor")
CORPUS = ROOT / "tests" / "data" / "device-configs"
FIXTURES = ROOT / "tests" / "data" / "netconfig"
_IFACE = re.compile(r"^interface (\S+?)(\d+)$|^interface (\S+ )(\d+(?:/\d+)*)$")


def bases() -> list[tuple[str, str]]:
    """(vendor, text) of every complete real configuration and fixture that has an interface
    section to grow from."""
    out = []
    for path in sorted(CORPUS.glob("*/*.cfg")):
        if "truncated" not in path.name:
            out.append((path.parent.name, read_export(path)))
    for path in sorted(FIXTURES.glob("*/*/config.txt")):
        out.append((path.parent.parent.name, path.read_text(encoding="utf-8")))
    return [(vendor, text) for vendor, text in out if re.search(r"^interface ", text, re.MULTILINE)]


def grow(vendor: str, text: str, lines: int, serial: int) -> str:
    """``text`` with its first interface section repeated (renumbered) until about ``lines`` long."""
    rows = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, r in enumerate(rows) if r.startswith("interface ")), None)
    if start is None:
        return text
    end = start + 1
    while end < len(rows) and (rows[end].startswith(" ") or rows[end] in ("#", "!")):
        end += 1
    block = rows[start:end]
    head = block[0].split()[1].rstrip("0123456789/")
    copies, n = [], 0
    while len(rows) + len(copies) < lines:
        n += 1
        name = f"interface {head}{9}/{serial % 9}/{n}" if vendor != "ruijie" else f"interface {head} 9/{n}"
        copies += [name, *block[1:]]
    return "\n".join(rows[:end] + copies + rows[end:])


def floor_seconds(path: Path) -> float:
    started = time.perf_counter()
    text = path.read_bytes().decode("utf-8", "replace")
    pattern = re.compile(r"^\s*(interface|line|user-interface|local-user|username)\b")
    sum(1 for line in text.splitlines() if pattern.match(line))
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    sources = bases()
    plugins = load_plugins()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        jobs: list[tuple[Path, str, int]] = []
        for i in range(args.count):
            vendor, text = sources[i % len(sources)]
            target = int(math.exp(rng.uniform(math.log(100), math.log(20_000))))
            grown = grow(vendor, text, max(target, 100), i)
            folder = tmp / vendor
            folder.mkdir(exist_ok=True)
            path = folder / f"cfg{i:04d}.cfg"
            path.write_text(grown, encoding="utf-8")
            jobs.append((path, vendor, grown.count("\n") + 1))
        for path, vendor, _ in jobs[:8]:  # warm-up: imports, regex and template caches
            audit_saved(vendor, {"config": path}, plugins)
        audit_t, floor_t, sizes, checks = [], [], [], 0
        for path, vendor, size in jobs:
            started = time.perf_counter()
            result = audit_saved(vendor, {"config": path}, plugins)
            audit_t.append(time.perf_counter() - started)
            floor_t.append(floor_seconds(path))
            sizes.append(size)
            checks += len(result.findings)
            assert family(vendor).classify("config", _outputs(path)).status == "ok", path
        rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.monotonic()
        whole = [subprocess.run([AUDITOR, "device", "audit", str(tmp / v), "--vendor", v, "--json"],
                                capture_output=True, check=False) for v in sorted({v for _p, v, _s in jobs})]
        whole_s = time.monotonic() - started
        rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ms = [t * 1000 for t in audit_t]
    median = statistics.median
    print(f"== {len(jobs)} configurations, {min(sizes)}–{max(sizes)} lines (median {median(sizes):.0f}), "
          f"{len(sources)} real bases, {checks} findings")
    print(f"  audit per configuration   median {median(ms):7.2f} ms   p95 {pct(ms, 0.95):7.2f} ms   "
          f"max {max(ms):7.2f} ms   (goal: median < 20 ms)")
    for low, high in ((100, 1000), (1000, 5000), (5000, 20_001)):
        part = [t for t, s in zip(ms, sizes, strict=True) if low <= s < high]
        if part:
            print(f"    {low:>6}–{high - 1:<6} lines  n={len(part):4}  median {median(part):7.2f} ms   "
                  f"p95 {pct(part, 0.95):7.2f} ms")
    floor_ms = [t * 1000 for t in floor_t]
    print(f"  raw floor (read + one regex per line)   median {statistics.median(floor_ms):7.3f} ms   "
          f"audit ÷ floor {statistics.median(ms) / statistics.median(floor_ms):6.1f}")
    per_k = [t / s * 1000 for t, s in zip(ms, sizes, strict=True)]
    print(f"  per 1,000 lines           median {median(per_k):7.3f} ms")
    print(f"  peak RSS: this process {rss_self:.0f} MiB; `auditor device audit FOLDER` processes "
          f"{rss_child:.0f} MiB, {whole_s:.1f} s for all {len(jobs)} files "
          f"(exit codes {sorted({p.returncode for p in whole})})")


def _outputs(path: Path):  # type: ignore[no-untyped-def]
    from auditor.vendors.contract import Outputs

    return Outputs(texts={"config": read_export(path)})


if __name__ == "__main__":
    main()
