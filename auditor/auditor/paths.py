"""Default locations of the agent's files, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def user_path(override_env: str, xdg_env: str, xdg_default: str, *parts: str) -> Path:
    """``$override_env`` if set, else ``$xdg_env`` (or ``~/xdg_default``) joined with ``parts``."""
    override = os.environ.get(override_env)
    if override:
        return Path(override)
    base = os.environ.get(xdg_env) or str(Path.home() / xdg_default)
    return Path(base).joinpath("campus-auditor", *parts)


def state_dir() -> Path:
    """The agent's own state: known_hosts, archived device configurations, Wi-Fi surveys.

    ``$AUDITOR_STATE_DIR`` if set, else ``$XDG_STATE_HOME/campus-auditor`` (``~/.local/state``).
    """
    return user_path("AUDITOR_STATE_DIR", "XDG_STATE_HOME", ".local/state")
