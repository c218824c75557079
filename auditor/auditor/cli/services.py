"""Installing the units of what runs between audits (``auditor monitor install``, ``auditor agent
install``, ``auditor district install-timers``, ``auditor alerts install``): what they share, and
the alerts command itself (registered in ``auditor.cli.alerts``)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from auditor.cli._common import err_console

print_option = click.option("--print", "print_only", is_flag=True, help="Show the units; install nothing.")
unit_dir_option = click.option("--unit-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                               help="Write the units here instead of /etc/systemd/system.")


def auditor_command() -> str:
    """The ``auditor`` the units start: the one on PATH, else the one running now."""
    return shutil.which("auditor") or str(Path(sys.argv[0]).resolve())


def emit(files: dict[str, str], print_only: bool, unit_dir: Path | None, start: str,
         writable: Sequence[Path] = ()) -> None:
    """Print the units (``--print``), or create the directories they write and install them, then
    say how to start ``start``."""
    from auditor.scheduling.services import write_units
    from auditor.scheduling.units import UNIT_DIR

    if print_only:
        for name, body in files.items():
            click.echo(f"# {name}\n{body}")
        return
    for directory in writable:  # ReadWritePaths= must exist when the unit starts
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for target in write_units(files, unit_dir or UNIT_DIR):
        click.echo(f"wrote {target}")
    click.echo(f"start it with: systemctl daemon-reload && systemctl enable --now {start}")


def env_names(value: Any) -> list[str]:
    """The variables the credential references (``{env: NAME}``) of a model name."""
    from pydantic import BaseModel

    from auditor.secrets import SecretRef

    if isinstance(value, SecretRef):
        return [value.env] if value.env else []
    if isinstance(value, BaseModel):
        return [n for field in type(value).model_fields for n in env_names(getattr(value, field))]
    if isinstance(value, dict):
        return [n for item in value.values() for n in env_names(item)]
    if isinstance(value, list | tuple):
        return [n for item in value for n in env_names(item)]
    return []


def tell_missing(names: list[str], env_file: Path) -> None:
    """Name the variables the service will not find in its environment file."""
    from auditor.scheduling.config import read_env_file

    have = read_env_file(env_file)
    missing = sorted({n for n in names if n not in have})
    if missing:
        err_console.print(f"[yellow]note[/]: the service does not see this shell's variables; put "
                          f"{', '.join(missing)} in {env_file} (NAME=value lines, chmod 600)", soft_wrap=True)
    if env_file.exists() and env_file.stat().st_mode & 0o077:
        err_console.print(f"[yellow]warning[/]: {env_file} holds credentials but others can read it: "
                          f"chmod 600 {env_file}", soft_wrap=True)


def district_writable(home: Path | None) -> tuple[Path, list[Path]]:
    """The district's home and what its timers write there: a SQLite database's directory."""
    from auditor.district.config import default_home, load_config
    from auditor.scheduling.services import sqlite_directory

    district_home = (home or default_home()).resolve()
    config = load_config(district_home)
    directory = sqlite_directory(config.db)
    return district_home, [directory] if directory is not None else []


@click.command("install")
@click.option("--alerts", "alerts_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              required=True, help="The alerts file (channels and rules).")
@click.option("--state", "state_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where the alert state and delivery log live (default: beside the alerts file).")
@click.option("--home", type=click.Path(path_type=Path), default=None, envvar="AUDITOR_DISTRICT_HOME",
              help="The district's directory (default $AUDITOR_DISTRICT_HOME).")
@click.option("--link", default=None, help="The dashboard's base URL, for links in the messages.")
@click.option("--every", "minutes", type=click.IntRange(1, 30), default=2, show_default=True,
              help="Minutes between checks.")
@print_option
@unit_dir_option
def alerts_install(alerts_file: Path, state_dir: Path | None, home: Path | None, link: str | None,
                   minutes: int, print_only: bool, unit_dir: Path | None) -> None:
    """Install a systemd timer running 'auditor alerts check' every few minutes (hardened, no
    capabilities); its credentials come from ALERT_STATE/alerts.env."""
    from auditor.alerts.config import load_alerts
    from auditor.scheduling.services import ALERTS, alerts_units

    alerts_file = alerts_file.resolve()
    cfg = load_alerts(alerts_file)  # a mistake is named now, not at the first check
    state = (state_dir or alerts_file.parent).resolve()
    district_home, writable = district_writable(home)
    files = alerts_units(auditor_command(), alerts_file, district_home, state, link, minutes, writable)
    emit(files, print_only, unit_dir, f"{ALERTS}.timer", [state])
    if not print_only:
        tell_missing(env_names(cfg), state / "alerts.env")
