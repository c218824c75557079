"""Backup listings: the parser on recorded GNU and busybox output; the remote commands in a real sh."""

from __future__ import annotations

import pytest

from auditor.errors import ProbeError
from auditor.probes.backups import glob_word
from auditor.probes.parsers.file_listing import (
    ListingParseError,
    parse_listing,
    parse_restore_record,
    record_day,
)
from tests.support.paths import DATA

BACKUPS = DATA / "backups"


def _read(name: str) -> str:
    return (BACKUPS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["gnu-coreutils.txt", "busybox.txt"])
def test_recorded_listing(name: str) -> None:
    listing = parse_listing(_read(name))
    assert listing.remote_time > 1_700_000_000
    names = [f.name for f in listing.files]
    assert len(names) == 10
    assert "db-20261117 manual copy.sql.gz" in names and "db-2026'full.sql.gz" in names
    for absent in ("db-latest.sql.gz", "db-inprogress.sql.gz", "README.txt"):
        assert absent not in names
    assert not any("\n" in n for n in names)
    mtimes = [f.mtime for f in listing.files]
    assert mtimes == sorted(mtimes)  # oldest first
    newest = listing.newest()
    assert newest is not None and newest.name == "db-20261118.sql.gz" and newest.size == 0
    sparse = next(f for f in listing.files if f.name == "db-2026'full.sql.gz")
    assert sparse.size == 5 * 1024**3 and sparse == listing.files[0]
    assert {f.name: f.to_json() for f in listing.files}["db-20261111.sql.gz"]["size"] == 1052675


def test_gnu_and_busybox_agree() -> None:
    assert parse_listing(_read("gnu-coreutils.txt")).files == parse_listing(_read("busybox.txt")).files


def test_bracket_pattern_and_empty_directory() -> None:
    bracket = parse_listing(_read("busybox-bracket.txt"))
    assert [f.name for f in bracket.files] == [f"db-2026111{i}.sql.gz" for i in (1, 2, 3)]
    empty = parse_listing(_read("gnu-no-match.txt"))
    assert empty.files == () and empty.newest() is None and empty.remote_time > 0


@pytest.mark.parametrize(("text", "needle"), [
    ("", "empty output"),
    ("Welcome to the NAS\n1795479228\n", "line 1"),
    ("1795479228\n1024 1794334201\n", "line 2"),
    ("1795479228\n1024 1794334201 db.gz\n-rw-r--r-- 1 root root 0 Nov 24 x\n", "line 3"),
    ("1795479228\n1024 1794334201 ../etc/db.gz\n", "outside the directory"),
])
def test_listing_rejects_unexpected_output(text: str, needle: str) -> None:
    with pytest.raises(ListingParseError, match=needle):
        parse_listing(text)


def test_restore_record_dates() -> None:
    plain = parse_restore_record("2026-10-09\nRestored SIS dump db-20261008 to a test VM; rows verified.\n")
    assert plain.date == "2026-10-09" and "rows verified" in plain.text
    assert record_day(plain.date).isoformat() == "2026-10-09"
    stamped = parse_restore_record("\ufeff2026-10-09T15:30:00+08:00 \nok\n")
    assert stamped.date == "2026-10-09T15:30:00+08:00" and record_day(stamped.date).day == 9
    assert not stamped.text.startswith("\ufeff")
    long = parse_restore_record("2026-10-09\n" + "x" * 500)
    assert len(long.text) == 200


@pytest.mark.parametrize("text", ["", "\nlast restore 2026-10-09\n", "09/10/2026\n", "2026-13-01\n",
                                  "restore tested yesterday\n"])
def test_restore_record_without_iso_date_is_rejected(text: str) -> None:
    with pytest.raises(ListingParseError, match="first line"):
        parse_restore_record(text)


# --------------------------------------------------------- the commands in a real POSIX sh


def test_glob_word_quotes_everything_but_glob_characters() -> None:
    assert glob_word("db-*.sql.gz") == "db-*.sql.gz"
    assert glob_word("my dump ?.tar") == "'my dump '?.tar"
    assert glob_word("db-2026[0-9].gz") == "db-2026[0-9].gz"
    assert glob_word("a[$(x)]*") == "'a[$(x)]'*"  # not a simple bracket expression: literal
    for bad in ("../*", "/etc/*", "a\nb"):
        with pytest.raises(ProbeError, match="without '/'"):
            glob_word(bad)


