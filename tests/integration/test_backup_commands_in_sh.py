"""The backup probe's listing and record commands, run in a real POSIX sh (and busybox where
installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.probes.backups import listing_command, record_command
from auditor.probes.parsers.file_listing import (
    parse_listing,
    parse_restore_record,
)


def _sh(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, cwd=cwd, check=False,
                          timeout=30)


def test_listing_command_expands_only_inside_the_directory(tmp_path: Path) -> None:
    backups = tmp_path / "it's backups"
    backups.mkdir()
    (backups / "db-1.gz").write_bytes(b"x" * 10)
    (backups / "db-2.gz").write_bytes(b"")
    (backups / "other.txt").write_text("no")
    (tmp_path / "db-outside.gz").write_text("no")
    os.utime(backups / "db-1.gz", (1_700_000_000, 1_700_000_000))
    res = _sh(listing_command(str(backups), "db-*.gz"), tmp_path)
    assert res.returncode == 0, res.stderr
    listing = parse_listing(res.stdout)
    assert [(f.name, f.size) for f in listing.files] == [("db-1.gz", 10), ("db-2.gz", 0)]
    assert listing.files[0].mtime == 1_700_000_000
    hostile = _sh(listing_command(str(backups), "db-$(touch PWNED)*`touch PWNED2`"), tmp_path)
    assert hostile.returncode == 0 and parse_listing(hostile.stdout).files == ()
    assert not list(tmp_path.rglob("PWNED*"))


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")
def test_listing_command_under_busybox(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for applet in ("sh", "stat", "date", "head"):
        (bin_dir / applet).symlink_to(str(shutil.which("busybox")))
    data = tmp_path / "d"
    data.mkdir()
    (data / "a b.dump").write_bytes(b"12345")
    res = subprocess.run([str(bin_dir / "sh"), "-c", listing_command(str(data), "*.dump")],
                         capture_output=True, text=True, env={"PATH": str(bin_dir)}, check=False, timeout=30)
    assert res.returncode == 0, res.stderr
    assert [(f.name, f.size) for f in parse_listing(res.stdout).files] == [("a b.dump", 5)]


def test_missing_directory_and_record_exit_3(tmp_path: Path) -> None:
    assert _sh(listing_command(str(tmp_path / "gone"), "*"), tmp_path).returncode == 3
    assert _sh(record_command(str(tmp_path / "gone.txt")), tmp_path).returncode == 3
    record = tmp_path / "restore test.txt"
    record.write_text("2026-10-09\n" + "".join(f"line {i}\n" for i in range(50)))
    res = _sh(record_command(str(record)), tmp_path)
    assert res.returncode == 0 and parse_restore_record(res.stdout).date == "2026-10-09"
    assert res.stdout.count("\n") == 20
