"""What every command module shares: exit codes, the error console, common options."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from auditor.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_UNTRUSTED, InputError

if TYPE_CHECKING:
    from auditor.trust import TrustedKeys

__all__ = ["EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "EXIT_UNTRUSTED"]

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



def pin_options(func: F) -> F:
    """``--key FILE`` (repeatable) and ``--trusted-keys DIR``: which signers to trust."""
    func = click.option(
        "--trusted-keys", "trusted_dir", type=click.Path(path_type=Path), default=None,
        help="Directory of trusted PEM public keys (*.pub, *.pem): every signature must be by one "
        "of them (instead of the trust store).")(func)
    return click.option(
        "--key", "keys", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
        help="Public key to pin (PEM, a file from outside the bundle): the agent's Ed25519 key, its "
        "SM2 key, or both (repeat). Without --key or --trusted-keys the trust store decides "
        "(auditor keys list).")(func)


def pins(keys: tuple[Path, ...],
         trusted_dir: Path | None) -> tuple[Path | None, Path | None, TrustedKeys | None]:
    """The pinned Ed25519 and SM2 keys and the trusted set (None: the trust store) of the options."""
    from auditor.bundle import split_pinned_keys
    from auditor.trust import load_trusted_keys

    if keys and trusted_dir is not None:
        raise InputError("give --key or --trusted-keys, not both")
    trusted = load_trusted_keys(trusted_dir) if trusted_dir is not None else None
    return (*split_pinned_keys(keys), trusted)


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
        help="Language of the renderings (every label, heading and sheet name).")(func)
    return click.option(
        "--format", "formats", default="html,md", show_default=True, callback=_split_formats,
        help="Renderings to write, comma-separated: html (report.html and evidence-index.html), "
        "pdf, md, oscal (assessment-results.json), xlsx, docx, csv (findings.csv), or any "
        "installed renderer's name.")(func)


AUDIT_LOCK_WAIT_S = 600.0  # a monitoring round lasts a minute or two at most


@contextlib.contextmanager
def audit_lock(monitor_dir: Path, what: str, wait_s: float = AUDIT_LOCK_WAIT_S) -> Iterator[None]:
    """Hold the box's bandwidth lock (``<monitor state>/throughput.lock``) for an audit when a
    monitor keeps its state in ``monitor_dir`` (none there: no monitor on this box, no lock), so
    the audit's bandwidth tests and a monitoring test never run at once. Waits up to ``wait_s``
    for a monitoring test to end; past that, an InputError saying who holds it."""
    from auditor.probes._bandwidth_lock import LOCK_NAME, bandwidth_lock, holder

    if not monitor_dir.is_dir():
        yield
        return
    with bandwidth_lock(monitor_dir, wait_s=wait_s, what=what) as held:
        if not held:
            raise InputError(f"{monitor_dir / LOCK_NAME}: another bandwidth test has held it for "
                             f"{wait_s:.0f} s ({holder(monitor_dir)}); try again when it ends")
        yield


def monitor_dir() -> Path:
    """Where ``auditor monitor run`` keeps its state by default: ``$AUDITOR_MONITOR_DIR``, else
    ``monitor/`` in the state directory."""
    import os

    from auditor.paths import state_dir

    env = os.environ.get("AUDITOR_MONITOR_DIR")
    return (Path(env) if env else state_dir() / "monitor").resolve()
