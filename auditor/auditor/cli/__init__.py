"""The ``auditor`` command. The only place that turns errors into exit codes.

One module per command group (``audit``: run/verify/score, ``standards``, ``keys``, ``wifi``,
...); this module builds the group from them, adds the groups other distributions register in the
``campus_auditor.cli`` entry-point group (the demo school's ``auditor lab``), and maps errors to
exit codes.

Exit codes (``auditor.errors``): 0 every check passed (or ``verify``: bundle intact); 1 some check
failed, errored or was skipped (``verify``: bundle altered or unverifiable); 2 bad input or usage;
3 internal error; 5 a service the command needs (database, server) is unavailable. An
``AuditorError`` ends the command with its class's ``exit_code``.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points

import click

from auditor.cli import (
    agent,
    alerts,
    audit,
    device,
    district,
    history,
    keys,
    monitor,
    reports,
    scheduling,
    standards,
    wifi,
)
from auditor.cli._common import EXIT_INPUT, EXIT_INTERNAL, err_console
from auditor.errors import AuditorError

CLI_GROUP = "campus_auditor.cli"  # as auditor.plugins.CLI_GROUP (not imported: it loads the models)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="campus-auditor")
def cli() -> None:
    """Audit a school network against the Beijing smart-campus criteria and GB/T 22239."""


for _command in (
    audit.run, audit.verify, audit.score_cmd, reports.report,
    standards.attest, standards.profiles, standards.schema, standards.validate,
    standards.probes, standards.checks,
    keys.keys, wifi.wifi, device.device, history.history, history.diff, district.district, agent.agent,
    scheduling.schedule, monitor.monitor, alerts.alerts,
):
    cli.add_command(_command)


def _add_registered_groups() -> None:
    """Command groups of other distributions; one that cannot load is named, the rest still work."""
    for ep in entry_points(group=CLI_GROUP):
        try:
            command = ep.load()
        except Exception as exc:  # a broken add-on must not take the auditor down with it
            err_console.print(f"warning: command group {ep.name!r} ({ep.value}) cannot load: {exc}")
            continue
        if isinstance(command, click.Command) and ep.name not in cli.commands:
            cli.add_command(command, ep.name)


def main() -> None:
    """Console-script entry point."""
    _add_registered_groups()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(EXIT_INPUT)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except AuditorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("AUDITOR_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set AUDITOR_DEBUG=1 for details)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
