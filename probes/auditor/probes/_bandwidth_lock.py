"""One bandwidth test at a time on this box: an exclusive ``flock`` on ``<dir>/throughput.lock``.

The monitor's throughput tests take it without waiting (a test that finds it held is tried again
later); an audit the agent runs takes it for as long as it runs, waiting for a monitoring test to
end (those are bounded in seconds and bytes). So an audit's iperf3 and a monitoring test never share
the uplink or the CPU, and neither measures the other. The directory is the monitor's state
directory. ``flock`` locks belong to the open file, so two holders in one process (the agent and
its monitor thread) exclude each other as two processes do, and the kernel releases the lock of a
holder that dies, even by SIGKILL. The file says who holds it, for the message of one that waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "throughput.lock"


def _acquire(fd: int, wait_s: float, poll_s: float, stop: threading.Event | None) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop.is_set()):
                return False
            if stop is not None:
                stop.wait(min(poll_s, left))
            else:
                time.sleep(min(poll_s, left))
            continue
        return True


@contextlib.contextmanager
def bandwidth_lock(directory: Path, *, wait_s: float = 0, poll_s: float = 0.5,
                   stop: threading.Event | None = None, what: str = "") -> Iterator[bool]:
    """Hold ``<directory>/throughput.lock``: yields True when held, False when another holder kept
    it for ``wait_s`` seconds (0: do not wait) or ``stop`` was set while waiting."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _acquire(fd, wait_s, poll_s, stop):
            yield False
            return
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                      "what": what}, ensure_ascii=False).encode(), 0)
            yield True
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder(directory: Path) -> str:
    """Who holds the lock, as its file says (pid, since when, what), for a message."""
    try:
        text = (directory / LOCK_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return "holder unknown"
    if text.isdigit():  # the monitor's own format: the pid alone
        return f"pid {text}"
    try:
        info = json.loads(text)
    except ValueError:
        return "holder unknown"
    if not isinstance(info, dict):
        return "holder unknown"
    return f"pid {info.get('pid', '?')} since {info.get('since', '?')}" + \
        (f": {info['what']}" if info.get("what") else "")
