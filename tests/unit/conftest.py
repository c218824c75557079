"""The unit tier is pure: a test here that starts a process or opens a network connection fails,
naming what it tried (such a test belongs in tests/integration)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest


class NotAUnitTest(AssertionError):
    """A unit test reached for the world outside the process."""


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def no_process(self: Any, args: Any, *_a: Any, **_k: Any) -> None:
        raise NotAUnitTest(f"a unit test started a process ({args!r}); move it to tests/integration")

    def no_network(self: socket.socket, address: Any, *_a: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
            raise NotAUnitTest(f"a unit test opened a connection to {address!r}; move it to "
                               "tests/integration")
        raise NotAUnitTest(f"a unit test used a socket ({address!r})")

    monkeypatch.setattr(subprocess.Popen, "__init__", no_process)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "bind", no_network)
    yield
