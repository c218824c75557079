"""``auditor alerts``: tell people when a school's connection, audit, jobs or the district's
certificates need them.

``auditor alerts check`` reads the district's database: each school's monitoring state (live,
degraded, down or silent: ``auditor.alerts.monitoring``) and the rules of ``auditor.alerts.rules``
(throughput against the contract, reach loss, audit regressions, expiring certificates, jobs not
picked up); the alert engine sends what is due to the channels of the alerts file (DingTalk,
Feishu and WeCom robots, email, a webhook), recovery messages included. Run it every minute or
two from a timer. ``auditor alerts ack`` stops a firing alert's reminders (the dashboard can do
it too); ``auditor alerts log`` prints every delivery recorded.

The alerts file is ``--alerts``, else the ``alerts_file`` of the district's ``district.yaml``;
the state lives beside it unless ``--state`` says otherwise (the dashboard looks beside it).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from auditor.cli._common import console_out
from auditor.cli.services import alerts_install

_ALERTS = click.option("--alerts", "alerts_file", type=click.Path(path_type=Path, dir_okay=False),
                       default=None, help="The alerts file (channels and rules); default: the "
                       "alerts_file of district.yaml.")
_STATE = click.option("--state", "state_dir", type=click.Path(path_type=Path, file_okay=False),
                      default=None, help="Where the alert state and delivery log live "
                      "(default: beside the alerts file, where the dashboard looks).")
_HOME = click.option("--home", type=click.Path(path_type=Path), default=None, envvar="AUDITOR_DISTRICT_HOME",
                     help="The district's directory (default $AUDITOR_DISTRICT_HOME).")


def _alerts_file(alerts_file: Path | None, home: Path | None) -> Path:
    if alerts_file is not None:
        return alerts_file
    from auditor.district.config import config_path, load_config
    from auditor.errors import InputError

    named = load_config(home).alerts_file
    if named is None:
        raise InputError(f"name the alerts file with --alerts, or set alerts_file in {config_path(home)}")
    return named


@click.group()
def alerts() -> None:
    """Alerts about schools' connections, audits and jobs, delivered to chat robots, email and
    webhooks."""


@alerts.command()
@_ALERTS
@_STATE
@_HOME
@click.option("--link", default=None, help="The dashboard's base URL, for links in the messages.")
def check(alerts_file: Path | None, state_dir: Path | None, home: Path | None, link: str | None) -> None:
    """Evaluate every rule against the district now and deliver the alerts that are due."""
    from auditor.alerts.dispatch import Alerter
    from auditor.alerts.monitoring import RULES, evaluations, states
    from auditor.alerts.rules import Sources, View, evaluate
    from auditor.district.config import default_home, load_config
    from auditor.district.db import open_database
    from auditor.district.monitoring import overview

    config = load_config(home)
    path = alerts_file or config.alerts_file or _alerts_file(None, home)  # the last one explains
    alerter = Alerter.from_file(path, state_dir or path.parent)
    cfg = alerter.cfg
    db = open_database(config.db)
    try:
        now = dt.datetime.now(dt.UTC)
        rows = []
        if set(RULES.values()) & set(cfg.rules):
            rows = overview(db, config.monitoring, now.replace(tzinfo=None))
        found = evaluations(rows, link, cfg.rules, lang=cfg.lang, monitoring=config.monitoring, tz=cfg.zone)
        view = View(now, cfg.lang, cfg.zone, link)
        found += evaluate(cfg, Sources(db, config, home or default_home(), path.parent, view))
    finally:
        db.close()
    done = alerter.run(now, found)
    for code, state in sorted(states(rows).items()):
        console_out().print(f"{code} {state}")
    for ev in found:
        if ev.firing:
            console_out().print(f"firing {ev.rule}/{ev.subject}", markup=False, soft_wrap=True)
    for d in done:
        console_out().print(f"sent {d.alert_kind} {d.alert_key} to {d.channel} ({d.kind}): "
                            f"{'ok' if d.ok else 'FAILED ' + d.message}", markup=False, soft_wrap=True)


@alerts.command()
@_ALERTS
@_STATE
@_HOME
@click.argument("rule")
@click.argument("subject", metavar="SCHOOL")
@click.option("--by", required=True, help="Who acknowledges it.")
def ack(alerts_file: Path | None, state_dir: Path | None, home: Path | None, rule: str, subject: str,
        by: str) -> None:
    """Acknowledge a firing alert: no more reminders; its recovery is still sent. SCHOOL is the
    alert's subject: a school code, or what the check printed after the rule
    (CODE/UPLINK/DIRECTION, a certificate's path)."""
    from auditor.alerts.dispatch import Alerter

    path = _alerts_file(alerts_file, home)
    alerter = Alerter.from_file(path, state_dir or path.parent)
    alerter.ack(rule, subject, dt.datetime.now(dt.UTC), by)
    console_out().print(f"acknowledged {rule}/{subject} by {by}", markup=False)


@alerts.command()
@_ALERTS
@_STATE
@_HOME
def log(alerts_file: Path | None, state_dir: Path | None, home: Path | None) -> None:
    """Every delivery recorded, oldest first, as JSON lines (secrets masked)."""
    from auditor.alerts.dispatch import Alerter

    path = _alerts_file(alerts_file, home)
    alerter = Alerter.from_file(path, state_dir or path.parent)
    for d in alerter.deliveries():
        click.echo(json.dumps(d.to_dict(), ensure_ascii=False))


alerts.add_command(alerts_install)  # `auditor alerts install`: the timer that runs `check`
