"""``auditor lab``: the demo school made of network namespaces (registered as a CLI entry point)."""

from __future__ import annotations

import click

from auditor.errors import InputError


@click.group()
def lab() -> None:
    """The built-in demo school made of network namespaces (needs root)."""


@lab.command("up")
@click.option("--prefix", default="ca", show_default=True)
def lab_up(prefix: str) -> None:
    """Build the demo school (idempotent)."""
    from auditor.lab import school  # noqa: PLC0415 - the lab loads only when its command runs
    from auditor.lab.base import LabError  # noqa: PLC0415

    try:
        info = school.up(prefix)
    except LabError as exc:
        raise InputError(f"lab up: {exc}") from None
    click.echo(f"demo school {prefix!r} is up; run the auditor in namespace {info.agent_ns}")
    click.echo(f"its inventory: {info.state_dir / 'site.yaml'} (secrets and known_hosts beside it)")


@lab.command("down")
@click.option("--prefix", default="ca", show_default=True)
def lab_down(prefix: str) -> None:
    """Tear the demo school down completely."""
    from auditor.lab import school  # noqa: PLC0415
    from auditor.lab.base import LabError  # noqa: PLC0415

    try:
        school.down(prefix)
    except LabError as exc:
        raise InputError(f"lab down: {exc}") from None
    click.echo(f"demo school {prefix!r} is down")


