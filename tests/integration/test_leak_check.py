"""The session-end check finds what a test leaves behind: a process, a listening socket, a thread."""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest

from tests.support import leaks


def test_what_is_left_running_is_named(pytestconfig: pytest.Config) -> None:
    baseline = leaks.left_behind(pytestconfig, grace_s=0)  # what earlier tests of this process still hold
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-running", daemon=True)
    proc = subprocess.Popen(["sleep", "60"])
    listener = socket.socket()
    try:
        thread.start()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        found = set(leaks.left_behind(pytestconfig, grace_s=0)) - set(baseline)
        assert {f"process {proc.pid}: sleep 60", f"listening socket 127.0.0.1:{port}",
                "thread left-running"} <= found
    finally:
        proc.kill()
        proc.wait()
        listener.close()
        stop.set()
        thread.join()
    assert not set(leaks.left_behind(pytestconfig)) - set(baseline)
