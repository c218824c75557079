"""Where things are: the checkout, the test data, the installed ``auditor`` command."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
AUDITOR = str(Path(sys.executable).parent / "auditor")
