"""One audit of a school at a time: an exclusive ``flock`` on ``<state>/locks/<school>.lock``.

The kernel drops the lock when its holder dies (even by SIGKILL), so a stale lock file never
blocks the next run; the file's text only says who holds it, for the message a second run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

from auditor.errors import InputError


class LockHeld(InputError):
    """Another audit of the same school is running."""


class SchoolLock:
    """``with SchoolLock(path): ...`` holds the school's lock, or raises LockHeld naming the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> SchoolLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise LockHeld(f"another audit of this school is running ({holder}; lock {self.path}); "
                           "wait for it to finish") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 "command": " ".join(sys.argv)}).encode())
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return "holder unknown"
    return f"pid {info.get('pid', '?')} since {info.get('since', '?')}: {info.get('command', '?')}"
