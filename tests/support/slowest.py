"""Print the slowest tests of one or more JUnit XML reports (the tiers run as separate pytest runs).

    python -m tests.support.slowest 15 .test-results/*.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def cases(paths: list[Path]) -> list[tuple[float, str]]:
    """(seconds, test id) of every test case in the reports."""
    return [(float(case.get("time") or 0), f"{case.get('classname', '')}::{case.get('name', '')}")
            for path in paths for case in ET.parse(path).getroot().iter("testcase")]  # noqa: S314


def main(argv: list[str]) -> int:
    count, paths = int(argv[0]), [Path(p) for p in argv[1:] if Path(p).is_file()]
    rows = cases(paths)
    print(f"\nslowest {min(count, len(rows))} of {len(rows)} tests "
          f"(test time {sum(s for s, _ in rows):.0f} s in all):")
    for seconds, name in sorted(rows, reverse=True)[:count]:
        print(f"  {seconds:7.1f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
