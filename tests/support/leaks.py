"""What a test session must not leave behind: child processes, listening sockets, running
threads, network namespaces. ``remember`` notes what existed before; ``left_behind`` lists what is
new at the end (each with enough to find the test that started it).
"""

from __future__ import annotations

import subprocess
import threading
import time

import psutil
import pytest

_KEY = pytest.StashKey[dict[str, set[str]]]()
_FROM_WORKERS: list[str] = []  # what the xdist workers reported (the controller process)
_GRACE_S = 5.0  # processes being reaped, servers shutting down


def _namespaces() -> set[str]:
    try:
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _children() -> set[str]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            found.add(f"process {child.pid}: {' '.join(child.cmdline())[:200]}")
        except psutil.NoSuchProcess:
            continue
    return found


def _listening() -> set[str]:
    return {f"listening socket {c.laddr.ip}:{c.laddr.port}"
            for c in psutil.Process().net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def _threads() -> set[str]:
    return {f"thread {t.name}" for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.name.startswith("pytest")}


def _state(config: pytest.Config) -> dict[str, set[str]]:
    """Namespaces are machine-wide: the xdist controller (or a plain run) checks them, once every
    worker is done. Processes, sockets and threads belong to a process: each worker checks its own."""
    state: dict[str, set[str]] = {}
    worker = hasattr(config, "workerinput")
    if not worker:
        state["namespaces"] = {f"network namespace {n}" for n in _namespaces()}
    if worker or not config.pluginmanager.hasplugin("dsession"):
        state.update(processes=_children(), sockets=_listening(), threads=_threads())
    return state


def remember(config: pytest.Config) -> None:
    config.stash[_KEY] = _state(config)


def left_behind(config: pytest.Config, grace_s: float = _GRACE_S) -> list[str]:
    """What exists now and did not at the start of the session (after a short grace period)."""
    before = config.stash.get(_KEY, {})
    deadline = time.monotonic() + grace_s
    while True:
        now = _state(config)
        new = sorted(item for kind, items in now.items() for item in items - before.get(kind, set()))
        if not new or time.monotonic() > deadline:
            return new
        time.sleep(0.25)


def add_from_worker(node: object) -> None:
    """In the xdist controller: what a worker reported when it went down."""
    output = getattr(node, "workeroutput", None) or {}
    worker = (getattr(node, "workerinput", None) or {}).get("workerid", "a worker")
    _FROM_WORKERS.extend(f"{item} ({worker})" for item in output.get("leaks", ()))


def from_workers(_config: pytest.Config) -> list[str]:
    return list(_FROM_WORKERS)
