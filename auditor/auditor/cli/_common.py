"""What every command module shares: exit codes, the error console, common options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
F = TypeVar("F", bound=Callable[..., Any])
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skipped": "yellow",
                "manual": "cyan", "waived": "blue", "not_applicable": "dim"}

err_console = Console(stderr=True)


def key_dir_option(func: F) -> F:
    return click.option(
        "--key-dir", type=click.Path(path_type=Path), default=None,
        help="Directory of the agent's signing key (default $AUDITOR_KEY_DIR or "
        "~/.config/campus-auditor/keys).",
    )(func)



def console_out() -> Console:
    """A console for tables on stdout (wide when not a terminal, so pipes keep whole rows)."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def short(reason: str, limit: int = 160) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"
