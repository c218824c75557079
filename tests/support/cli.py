"""Run the installed ``auditor`` command as a user would (a child process)."""

from __future__ import annotations

import os
import subprocess

from tests.support.paths import AUDITOR


def run_cli(*args: str, env: dict[str, str] | None = None, netns: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``auditor ARGS`` (optionally inside a network namespace) and capture its output."""
    argv = [AUDITOR, *args]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                          check=False)
