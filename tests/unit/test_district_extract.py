"""Unpacking an uploaded archive (``auditor.district.bundles.safe_extract``): plain files and
folders are written as the archive has them, anything else and anything over the limits is
refused. Refusals through the server (links, devices, ``..``) are in ``test_district_api.py``."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from auditor.district.bundles import Limits, safe_extract
from auditor.wire.errors import BundleRejected

MTIME = 1_790_000_000


def _archive(path: Path, members: list[tuple[str, bytes | None]], gz: bool = True) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o4777  # the modes in the archive are not kept
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("gz", [True, False])
def test_files_and_folders_are_written_as_archived(tmp_path: Path, gz: bool) -> None:
    archive = _archive(
        tmp_path / "a.tar",
        [
            ("report.json", b"{}"),
            ("evidence", None),
            ("evidence/devices/sw1/config.txt", b"hostname sw1\n"),  # its folders not listed
            ("./evidence/devices/sw1/empty.txt", b""),
            ("report.json", b'{"second": true}'),  # a name given twice: the last copy, as tar does
        ],
        gz,
    )
    dest = tmp_path / "out"
    safe_extract(archive, dest, Limits(1 << 20, 100))
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert files == ["evidence/devices/sw1/config.txt", "evidence/devices/sw1/empty.txt", "report.json"]
    assert (dest / "report.json").read_bytes() == b'{"second": true}'
    config = dest / "evidence/devices/sw1/config.txt"
    assert config.read_bytes() == b"hostname sw1\n"
    assert config.stat().st_mtime == MTIME
    assert not config.stat().st_mode & (stat.S_ISUID | stat.S_IWGRP | stat.S_IWOTH)


@pytest.mark.parametrize(
    ("limits", "why"),
    [(Limits(1 << 20, 2), "more than 2 files"), (Limits(10, 100), "unpacks to more than 10 bytes")],
)
def test_limits(tmp_path: Path, limits: Limits, why: str) -> None:
    archive = _archive(tmp_path / "a.tar.gz", [("a.txt", b"123456"), ("b.txt", b"123456"), ("c", b"1")])
    with pytest.raises(BundleRejected, match=why):
        safe_extract(archive, tmp_path / "out", limits)


def test_a_file_where_a_folder_belongs_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.tar.gz", [("evidence", b"a file"), ("evidence/x.txt", b"x")])
    with pytest.raises(BundleRejected, match="not a readable tar archive"):
        safe_extract(archive, tmp_path / "out", Limits(1 << 20, 100))


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "a.tar", [("big.bin", os.urandom(64 * 1024))], gz=False)
    archive.write_bytes(archive.read_bytes()[: 32 * 1024])
    with pytest.raises(BundleRejected, match="not a readable tar archive"):
        safe_extract(archive, tmp_path / "out", Limits(1 << 20, 100))


def test_a_link_is_refused_before_anything_follows_it(tmp_path: Path) -> None:
    buf = tmp_path / "a.tar"
    with tarfile.open(buf, "w") as tar:
        link = tarfile.TarInfo("evidence")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "outside")
        tar.addfile(link)
        data = tarfile.TarInfo("evidence/x.txt")
        data.size = 1
        tar.addfile(data, io.BytesIO(b"x"))
    with pytest.raises(BundleRejected, match="symbolic link"):
        safe_extract(buf, tmp_path / "out", Limits(1 << 20, 100))
    assert not (tmp_path / "outside").exists()
