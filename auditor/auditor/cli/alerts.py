"""``auditor alerts``: tell people when a school's connection goes down, silent or degraded.

``auditor alerts check`` reads the district's monitoring overview (each school live, degraded,
down or silent), turns it into the alert rules' evaluations (``auditor.alerts.monitoring``) and
lets the alert engine send what is due to the channels of ``alerts.yaml`` (DingTalk, Feishu and
WeCom robots, email, a webhook), recovery messages included; run it every minute or two from a
timer. ``auditor alerts ack`` stops a firing alert's reminders; ``auditor alerts log`` prints
every delivery recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from auditor.cli._common import console_out

_ALERTS = click.option("--alerts", "alerts_file", type=click.Path(path_type=Path, dir_okay=False),
                       required=True, help="The alerts file (channels and rules).")
_STATE = click.option("--state", "state_dir", type=click.Path(path_type=Path, file_okay=False),
                      default=None, help="Where the alert state and delivery log live "
                      "(default: beside the alerts file).")


@click.group()
def alerts() -> None:
    """Alerts about schools' connections, delivered to chat robots, email and webhooks."""


@alerts.command()
@_ALERTS
@_STATE
@click.option("--home", type=click.Path(path_type=Path), default=None, envvar="AUDITOR_DISTRICT_HOME",
              help="The district's directory (default $AUDITOR_DISTRICT_HOME).")
@click.option("--link", default=None, help="The dashboard's base URL, for links in the messages.")
def check(alerts_file: Path, state_dir: Path | None, home: Path | None, link: str | None) -> None:
    """Evaluate every school's monitoring state now and deliver the alerts that are due."""
    from auditor.alerts.dispatch import Alerter
    from auditor.alerts.monitoring import evaluations, states
    from auditor.district.config import load_config
    from auditor.district.db import open_database
    from auditor.district.monitoring import overview

    alerter = Alerter.from_file(alerts_file, state_dir or alerts_file.parent)
    config = load_config(home)
    db = open_database(config.db)
    try:
        now = dt.datetime.now(dt.UTC)
        rows = overview(db, config.monitoring, now.replace(tzinfo=None))
    finally:
        db.close()
    done = alerter.run(now, evaluations(rows, link, alerter.cfg.rules))
    for code, state in sorted(states(rows).items()):
        console_out().print(f"{code} {state}")
    for d in done:
        console_out().print(f"sent {d.alert_kind} {d.alert_key} to {d.channel} ({d.kind}): "
                          f"{'ok' if d.ok else 'FAILED ' + d.message}")


@alerts.command()
@_ALERTS
@_STATE
@click.argument("rule")
@click.argument("school")
@click.option("--by", required=True, help="Who acknowledges it.")
def ack(alerts_file: Path, state_dir: Path | None, rule: str, school: str, by: str) -> None:
    """Acknowledge a firing alert: no more reminders; its recovery is still sent."""
    from auditor.alerts.dispatch import Alerter

    alerter = Alerter.from_file(alerts_file, state_dir or alerts_file.parent)
    alerter.ack(rule, school, dt.datetime.now(dt.UTC), by)
    console_out().print(f"acknowledged {rule}/{school} by {by}")


@alerts.command()
@_ALERTS
@_STATE
def log(alerts_file: Path, state_dir: Path | None) -> None:
    """Every delivery recorded, oldest first, as JSON lines (secrets masked)."""
    from auditor.alerts.dispatch import Alerter

    alerter = Alerter.from_file(alerts_file, state_dir or alerts_file.parent)
    for d in alerter.deliveries():
        click.echo(json.dumps(d.to_dict(), ensure_ascii=False))
