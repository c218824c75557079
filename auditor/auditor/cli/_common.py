"""What every command module shares: exit codes, the error console, common options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK

__all__ = ["EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK"]

F = TypeVar("F", bound=Callable[..., Any])
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skipped": "yellow",
                "manual": "cyan", "waived": "blue", "not_applicable": "dim"}

err_console = Console(stderr=True, soft_wrap=True)  # messages name paths: never break them


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


def _split_formats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not names:
        raise click.BadParameter("name at least one format, e.g. html,md")
    return names


def format_options(func: F) -> F:
    """``--format`` (comma-separated renderer names) and ``--lang`` (zh or en)."""
    func = click.option(
        "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
        help="Language of the HTML and PDF renderings.")(func)
    return click.option(
        "--format", "formats", default="html,md", show_default=True, callback=_split_formats,
        help="Renderings to write, comma-separated: html (report.html and evidence-index.html), "
        "pdf, md, oscal (assessment-results.json), or any installed renderer's name.")(func)
