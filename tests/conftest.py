"""The test suite's root: tiers by folder, a home of its own, and nothing left behind.

* ``tests/unit``: pure (no subprocess, socket, server, browser or database; the guard in
  ``tests/unit/conftest.py`` fails a unit test that tries); ``tests/integration``: CLI
  subprocesses, servers on loopback, PostgreSQL, Chromium; ``tests/lab``: network namespaces,
  root. Every test is marked with its tier (``-m unit`` / ``integration`` / ``lab``).
* Every test session runs with its own ``HOME`` and auditor directories (keys, state,
  attestations, history), so no test reads or writes the user's real ones, whatever ran before.
* At the end of the session, any process, listening socket, thread or network namespace a test
  left behind fails the run (``tests/support/leaks.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import leaks

pytest_plugins = ["tests.support.pg", "tests.support.history_fixtures", "tests.support.schedules"]

TIERS = ("unit", "integration", "lab")
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.path)).resolve().relative_to(_HERE).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: a test lives in tests/unit, tests/integration "
                                    "or tests/lab")
        item.add_marker(tier)


def pytest_sessionstart(session: pytest.Session) -> None:
    home = Path(session.config._tmp_path_factory.mktemp("home", numbered=True))  # type: ignore[attr-defined]
    os.environ.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AUDITOR_STATE_DIR": str(home / "state"),
        "AUDITOR_KEY_DIR": str(home / "keys"),
        "AUDITOR_ATTESTATIONS": str(home / "attestations"),
        "AUDITOR_AGENT_HOME": str(home / "agent"),
        "AUDITOR_DISTRICT_HOME": str(home / "district"),
    })
    os.environ.pop("AUDITOR_HISTORY_DB", None)
    leaks.remember(session.config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    found = leaks.left_behind(session.config)
    if hasattr(session.config, "workerinput"):  # an xdist worker: its controller reports them
        session.config.workeroutput["leaks"] = found  # type: ignore[attr-defined]
        return
    found += leaks.from_workers(session.config)
    if found:
        session.config.get_terminal_writer().line(
            "left behind by the tests:\n  " + "\n  ".join(found), red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_testnodedown(node: object, error: object) -> None:
    """An xdist worker finished: keep what it found left behind."""
    leaks.add_from_worker(node)


@pytest.fixture()
def key_dir(tmp_path: Path) -> Path:
    """A fresh Ed25519 signing key made by ``auditor keys init``."""
    from tests.support.cli import run_cli

    out = tmp_path / "keys"
    res = run_cli("keys", "init", "--key-dir", str(out))
    assert res.returncode == 0, res.stderr
    return out
