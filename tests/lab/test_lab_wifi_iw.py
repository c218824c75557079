"""The real ``iw`` in a network namespace of our own with no wireless device: a clear error, never a scan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from auditor.inventory import Inventory
from tests.support.wifi import wifi_inventory


@pytest.fixture()
def inventory(tmp_path: Path) -> tuple[Path, Inventory]:
    return wifi_inventory(tmp_path)


@pytest.fixture()
def empty_netns() -> object:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make a network namespace")
    name = f"hc-wifi-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.mark.lab
def test_real_iw_without_wireless_device(inventory: tuple[Path, Inventory], empty_netns: str,
                                         tmp_path: Path) -> None:
    """The real iw in a namespace with no wireless device: one line, exit 2, no record."""
    if shutil.which("iw") is None:
        pytest.skip("iw is not installed")
    inv_path, _inv = inventory
    code = ("import sys; from auditor.cli.wifi import wifi; "
            "wifi.main(sys.argv[1:], prog_name='auditor wifi')")
    res = subprocess.run(
        ["ip", "netns", "exec", empty_netns, sys.executable, "-c", code, "survey", "-i", str(inv_path),
         "--area", "t301", "--interface", "wlan0"],
        capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    # Without nl80211 in the kernel iw says so; with it, the namespace has no wlan0.
    assert lines[0].startswith("error: iw scan on wlan0: this machine ")
    assert ("no wireless support (nl80211 not found)" in lines[0]
            or "has no wireless interface by that name" in lines[0])
    assert not (tmp_path / "surveys").exists()
