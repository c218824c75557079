"""``auditor schedule``: install a school's scheduled audit, see its state, run it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table

from auditor.cli._common import audit_lock, console_out, err_console, key_dir_option, monitor_dir
from auditor.errors import InputError


@click.group()
def schedule() -> None:
    """Scheduled audits (systemd timers) with history, regressions, metrics and notices."""


@schedule.command("install")
@click.option("--inventory", "-i", "inventory_path", required=True,
              type=click.Path(path_type=Path, exists=True))
@click.option("--profile", "-p", "profiles", multiple=True, required=True, help="Repeat for several.")
@click.option("--every", type=click.Choice(["daily", "weekly"]), default="weekly", show_default=True)
@click.option("--at", "at", default=None,
              help="'HH:MM' or 'Day HH:MM' in the school's time zone (inventory schedule.timezone); "
              "default Sat 02:00 weekly, 02:00 daily.")
@click.option("--out-root", type=click.Path(path_type=Path), default=None,
              help="Where bundles go (default <state dir>/audits/<school>).")
@click.option("--keep", type=click.IntRange(1), default=None, help="Keep the newest N runs in the history.")
@click.option("--keep-days", type=click.IntRange(1), default=None, help="Keep runs of the last D days.")
@click.option("--delete-bundles", is_flag=True, help="Also delete pruned bundles from disk.")
@click.option("--notify", "notify_path", type=click.Path(path_type=Path, exists=True), default=None,
              help="Notification settings (YAML: email and/or webhook).")
@click.option("--metrics-dir", type=click.Path(path_type=Path), default=None,
              help="node_exporter textfile directory (default <state dir>/metrics).")
@click.option("--format", "formats", default="html,md", show_default=True)
@click.option("--allow-class-hours", is_flag=True, help="Let bandwidth tests run in lessons (not advised).")
@click.option("--print", "print_only", is_flag=True,
              help="Show the units and the schedule file; install nothing.")
@click.option("--unit-dir", type=click.Path(path_type=Path), default=None,
              help="Write the units here instead of /etc/systemd/system (and /etc/tmpfiles.d).")
@key_dir_option
def install(inventory_path: Path, profiles: tuple[str, ...], every: str, at: str | None,
            out_root: Path | None,
            keep: int | None, keep_days: int | None, delete_bundles: bool, notify_path: Path | None,
            metrics_dir: Path | None, formats: str, allow_class_hours: bool, print_only: bool,
            unit_dir: Path | None, key_dir: Path | None) -> None:
    """Write the school's schedule and its systemd service and timer (hardened).

    The service will not see this shell's environment: the key directory, the attestation store
    and the history store in force now are recorded in the schedule, and the credential variables
    the inventory and the notification file name must be put in the school's environment file
    (install says which are missing from it).
    """
    import os
    import shutil

    from auditor.attest import default_store
    from auditor.inventory import load_inventory
    from auditor.paths import state_dir
    from auditor.profile import load_profile
    from auditor.scheduling import units
    from auditor.scheduling.config import ScheduleConfig, default_at, load_notify, schedule_path
    from auditor.signing import default_key_dir

    loaded = load_inventory(inventory_path)
    school = loaded.inventory.school.code
    if not school:
        raise InputError(f"{inventory_path}: school.code is needed to name the schedule")
    for name in profiles:
        load_profile(name)
    notify = load_notify(notify_path) if notify_path is not None else None
    state = state_dir().resolve()
    cfg = ScheduleConfig.model_validate(dict(
        school=school, inventory=inventory_path.resolve(), profiles=list(profiles), every=every,
        at=at or default_at(every), timezone=loaded.inventory.schedule.timezone,
        out_root=(out_root or state / "audits" / school).resolve(),
        formats=[f.strip() for f in formats.split(",") if f.strip()], keep=keep, keep_days=keep_days,
        delete_bundles=delete_bundles, notify=notify_path.resolve() if notify_path else None,
        metrics_dir=metrics_dir.resolve() if metrics_dir else None, allow_class_hours=allow_class_hours,
        key_dir=(key_dir or default_key_dir()).resolve(), attestations=default_store().resolve(),
        history_db=os.environ.get("AUDITOR_HISTORY_DB") or None))
    units.on_calendar(cfg.every, cfg.at, cfg.timezone)  # a daily schedule with a day fails here
    auditor = shutil.which("auditor") or str(Path(sys.argv[0]).resolve())
    rendered = units.render(cfg, auditor, state)
    text = yaml.safe_dump(cfg.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    if print_only:
        for name, body in {**rendered.files(school), str(schedule_path(school)): text}.items():
            click.echo(f"# {name}\n{body}")
        return
    path = schedule_path(school)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text, encoding="utf-8")
    for directory in units.writable_paths(cfg, state):  # ReadWritePaths= must exist when it starts
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    kwargs = {"unit_dir": unit_dir, "tmpfiles_dir": unit_dir} if unit_dir else {}
    written = units.install(rendered, school, **kwargs)
    click.echo(f"schedule: {path}")
    for target in written.values():
        click.echo(f"wrote {target}")
    _tell_missing_variables(school, loaded, notify)
    if not units.systemd_running():
        click.echo("systemd is not running here: enable it later with "
                   f"systemctl enable --now campus-auditor@{school}.timer")


def _tell_missing_variables(school: str, loaded: Any, notify: Any) -> None:
    """Name the credential variables (``{env: NAME}``) the service will not find in the school's
    environment file, and warn when that file is readable by others."""
    from auditor.cli.services import tell_missing
    from auditor.scheduling.config import env_file
    from auditor.scheduling.run import secret_refs

    names = sorted({ref.env for ref in [*secret_refs(loaded.inventory), *secret_refs(notify)] if ref.env})
    tell_missing(names, env_file(school))


@schedule.command("run")
@click.option("--school", required=True, help="The school code of an installed schedule.")
def run_cmd(school: str) -> None:
    """Run a school's scheduled audit now (what the timer starts)."""
    from auditor.scheduling.config import find_schedule
    from auditor.scheduling.run import scheduled_run

    with audit_lock(monitor_dir(), f"auditor schedule run: audit of {school}"):
        result = scheduled_run(find_schedule(school))
    if result.bundle is not None:
        click.echo(f"{school}: signed bundle {result.bundle} (exit {result.exit_status})")
        regress = (result.report or {}).get("regressions") or {}
        for item in regress.get("items", []):
            click.echo(f"  regressed {item['kind']} {item['subject']}: {item['detail']}")
    if result.failure:
        err_console.print(f"[red]{school}: the audit did not complete[/]: {result.failure}")
    for problem in result.problems:
        err_console.print(f"[yellow]warning[/]: {problem}")
    sys.exit(result.exit_status)


@schedule.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per schedule, one per line.")
def status(as_json: bool) -> None:
    """Installed schedules: next run, last run, and whether its bandwidth tests were deferred
    (and until when)."""
    import json

    from auditor.scheduling.config import load_schedule, schedules_dir

    files = sorted(schedules_dir().glob("*.yaml"))
    if not files:
        if not as_json:
            click.echo(f"no schedules in {schedules_dir()} (auditor schedule install ...)")
        return
    rows = [_status_row(load_schedule(path)) for path in files]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title="Scheduled audits")
    for col in ("school", "when", "next run", "last run", "exit", "deferred"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["school"], row["when"], row["next_run"], row["last_run"] or "never",
                      "" if row["exit"] is None else str(row["exit"]), "; ".join(row["deferred"]) or "no")
    console_out().print(table)


def _status_row(cfg: Any) -> dict[str, Any]:
    from auditor.errors import AuditorError
    from auditor.history import open_store
    from auditor.scheduling.units import on_calendar

    calendar = on_calendar(cfg.every, cfg.at, cfg.timezone)
    row: dict[str, Any] = {"school": cfg.school, "when": f"{cfg.every} {cfg.at} {cfg.timezone}",
                           "calendar": calendar, "next_run": _next(calendar), "last_run": None, "exit": None,
                           "bundle": None, "deferred": []}
    try:
        with open_store(cfg.history_db) as store:
            runs = store.runs(school=cfg.school, limit=1)
    except AuditorError as exc:
        return {**row, "last_run": f"history store: {exc}"}
    if runs:
        row.update(last_run=runs[0].to_json()["started_at"], exit=runs[0].exit_status,
                   bundle=runs[0].bundle_path, deferred=_deferred(Path(runs[0].bundle_path)))
    return row


def _next(calendar: str) -> str:
    """When systemd will next start the timer (``systemd-analyze calendar``), else the expression."""
    import subprocess

    try:
        done = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True,
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return calendar
    for line in done.stdout.splitlines():
        if "Next elapse:" in line:
            return line.split("Next elapse:", 1)[1].strip()
    return calendar


def _deferred(bundle: Path) -> list[str]:
    """Why the run's bandwidth tests were deferred, and when the next free window starts."""
    import json

    try:
        report = json.loads((bundle / "report.json").read_bytes())
    except (OSError, ValueError):
        return ["bundle not readable"]
    reasons = {f["error"].split("; run then", 1)[0] for f in report.get("facts", [])
               if f.get("status") == "skipped" and str(f.get("error") or "").startswith("deferred:")}
    return sorted(reasons)
