"""Parse the backup-file listing the ``backup.files`` probe prints on a remote host.

The remote side is a POSIX ``sh`` script (see :func:`auditor.probes.backups.listing_command`)
that prints the host's clock, then one line per matching regular file from
``stat -c '%s %Y %n'`` (GNU coreutils and busybox print the same shape; BSD ``stat -f '%z %m %N'``
is the fallback and prints it too)::

    1795479128                     <- remote clock, seconds since the epoch (date +%s)
    3 1700000000 db-1.sql.gz       <- size in bytes, mtime (epoch seconds), name
    0 1795479128 db-2 copy.sql.gz  <- names may hold spaces; names with newlines are skipped remotely

The parser is pure and strict: any other line is an error, so a remote that prints something
unexpected (a different ``stat``, a login banner on stdout) never yields a made-up listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_CLOCK = re.compile(r"^[0-9]{1,12}$")
_ENTRY = re.compile(r"^([0-9]{1,20}) (-?[0-9]{1,12}) (.+)$")


class ListingParseError(ValueError):
    """The listing output does not have the expected shape."""


@dataclass(frozen=True)
class FileEntry:
    """One backup file: its name inside the directory, size in bytes and mtime (epoch seconds)."""

    name: str
    size: int
    mtime: int

    def to_json(self) -> dict[str, str | int]:
        return {"name": self.name, "size": self.size, "mtime": self.mtime}


@dataclass(frozen=True)
class Listing:
    """A directory listing: the remote clock when it was taken and the files, oldest first."""

    remote_time: int
    files: tuple[FileEntry, ...]

    def newest(self) -> FileEntry | None:
        return self.files[-1] if self.files else None


def parse_listing(text: str) -> Listing:
    """Parse the probe's listing output. Raises ListingParseError naming the offending line."""
    lines = [line for line in text.split("\n") if line != ""]
    if not lines:
        raise ListingParseError("empty output (expected the remote clock on the first line)")
    if not _CLOCK.fullmatch(lines[0].strip()):
        raise ListingParseError(f"line 1 is not the remote clock in epoch seconds: {lines[0][:80]!r}")
    files = []
    for number, line in enumerate(lines[1:], start=2):
        match = _ENTRY.fullmatch(line)
        if match is None:
            raise ListingParseError(f"line {number} is not 'SIZE MTIME NAME': {line[:80]!r}")
        size, mtime, name = match.groups()
        if "/" in name:
            raise ListingParseError(f"line {number} names a file outside the directory: {name[:80]!r}")
        files.append(FileEntry(name=name, size=int(size), mtime=int(mtime)))
    files.sort(key=lambda f: (f.mtime, f.name))
    return Listing(remote_time=int(lines[0].strip()), files=tuple(files))


@dataclass(frozen=True)
class RestoreRecord:
    """A restore-test record: the date on its first line and the start of its text."""

    date: str  # ISO 8601 as written: YYYY-MM-DD, or a full date-time
    text: str  # the first 200 characters of the file


def parse_restore_record(text: str) -> RestoreRecord:
    """Read a restore-test record whose first line is an ISO date or date-time.

    Raises ListingParseError when the first line is not one (the record then proves nothing).
    """
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if not first:
        raise ListingParseError("the first line is empty (expected the ISO date of the last restore test)")
    try:
        if len(first) == 10:
            parsed = date.fromisoformat(first).isoformat()
        else:
            parsed = datetime.fromisoformat(first).isoformat()
    except ValueError:
        raise ListingParseError(
            f"the first line {first[:40]!r} is not an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)") from None
    return RestoreRecord(date=parsed, text=text.lstrip("\ufeff")[:200])


def record_day(iso: str) -> date:
    """The calendar day of a record date written by :func:`parse_restore_record`."""
    return date.fromisoformat(iso) if len(iso) == 10 else datetime.fromisoformat(iso).date()
