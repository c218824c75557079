"""A Wi-Fi scan with the real scanner command missing from PATH: a clear error naming the tool."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.errors import ToolMissing
from auditor.probes.wifi_capture import (
    take_scan,
)


def test_missing_scanner_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    old = os.environ["PATH"]
    os.environ["PATH"] = str(empty)
    try:
        with pytest.raises(ToolMissing, match="iw is not installed or not on PATH"):
            take_scan("iw", "wlan0")
        with pytest.raises(ToolMissing, match="nmcli is not installed or not on PATH"):
            take_scan("nmcli", None)
    finally:
        os.environ["PATH"] = old
