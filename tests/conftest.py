"""Shared fixtures. Lab tests (marked ``lab``) build their own namespace school, prefix ``cat``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
AUDITOR = str(Path(sys.executable).parent / "auditor")
LAB_PREFIX = "cat"


def run_cli(*args: str, env: dict[str, str] | None = None, netns: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed ``auditor`` command (optionally inside a namespace)."""
    argv = [AUDITOR, *args]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                          check=False)


@pytest.fixture()
def key_dir(tmp_path: Path) -> Path:
    out = tmp_path / "keys"
    res = run_cli("keys", "init", "--key-dir", str(out))
    assert res.returncode == 0, res.stderr
    return out


def _can_build_lab() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces)"
    for tool in ("ip", "tc", "iperf3", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            return f"lab tests need {tool} (run scripts/setup.sh)"
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    """The namespace demo school, built once per session and torn down after."""
    reason = _can_build_lab()
    if reason:
        pytest.skip(reason)
    from auditor.lab import school

    info = school.up(LAB_PREFIX)
    try:
        yield info
    finally:
        school.down(LAB_PREFIX)
