"""``auditor monitor``: light measurements between audits (run, install), and what they show (status).

``run`` measures on the inventory's schedule (``monitoring:``), keeps every sample in
``--state`` (default ``$AUDITOR_MONITOR_DIR`` or ``monitor/`` in the state directory) and, when the
agent is enrolled (``--home``, as ``auditor agent``), forwards them to the district. ``install``
writes the systemd service that runs it all day.
"""

from __future__ import annotations

import json
import re
import signal
import socket
from pathlib import Path
from types import FrameType

import click

from auditor.cli._common import err_console
from auditor.cli.services import auditor_command, emit, print_option, unit_dir_option

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90s``, ``10m``, ``2h``, ``1d`` (or a bare number of seconds) → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise click.BadParameter(f"{text!r}: a duration such as 90s, 10m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _state(state: Path | None) -> Path:
    from auditor.paths import state_dir

    return (state or state_dir() / "monitor").resolve()


state_option = click.option(
    "--state", type=click.Path(path_type=Path, file_okay=False), default=None, envvar="AUDITOR_MONITOR_DIR",
    help="Where samples and the upload queue are kept (default $AUDITOR_MONITOR_DIR or STATE_DIR/monitor).")


@click.group()
def monitor() -> None:
    """Measure the school's connection between audits (reach, DNS, throughput) and forward it."""


@monitor.command("run")
@click.option("--inventory", "-i", "inventory_path",
              type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The school's inventory (default: the enrolled agent's).")
@click.option("--home", type=click.Path(path_type=Path), default=None, envvar="AUDITOR_AGENT_HOME",
              help="The enrolled agent's directory (default $AUDITOR_AGENT_HOME or STATE_DIR/agent); "
                   "without an enrolment samples are kept locally only.")
@state_option
@click.option("--once", is_flag=True, help="One round (reach, DNS, heartbeat, due tests, upload), then exit.")
@click.option("--for", "for_", default=None, help="Run for this long (90s, 10m, 2h, 1d), then exit.")
@click.option("--seed", default=None, help="Seed of the random test times (default: school and agent).")
@click.option("--test-now", is_flag=True,
              help="Start with a throughput test of every uplink (still within the budget, never in "
                   "a lesson unless the inventory allows it, never beside another test).")
def run_cmd(inventory_path: Path | None, home: Path | None, state: Path | None, once: bool,
            for_: str | None, seed: str | None, test_now: bool) -> None:
    """Measure on the inventory's schedule until stopped (SIGTERM or Ctrl-C)."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from auditor.agent.config import CONFIG_NAME, default_home, load_agent_config
    from auditor.errors import InputError
    from auditor.inventory import check_scope, load_inventory
    from auditor.monitor.forward import SignedUploader, district_endpoint
    from auditor.monitor.loop import Monitor, run
    from auditor.monitor.store import Store

    agent_home = (home or default_home()).resolve()
    config = load_agent_config(agent_home) if (agent_home / CONFIG_NAME).exists() else None
    path = inventory_path or (config.inventory if config else None)
    if path is None:
        raise InputError("auditor monitor run: give the inventory (-i site.yaml); this agent is not "
                         "enrolled with one")
    loaded = load_inventory(path)
    check_scope(loaded)
    directory = _state(state)
    store = Store(directory)
    uploader = None
    district = None
    if config is not None:
        uploader = SignedUploader(config.server, config.ca, config.key_dir, config.member)
        district = district_endpoint(config.server)
    else:
        err_console.print(f"not enrolled ({agent_home / CONFIG_NAME} missing): samples are kept in "
                          f"{directory} and sent once the agent is enrolled")
    mon = Monitor(loaded.inventory, store, directory, agent=socket.gethostname(), uploader=uploader,
                  district=district, seed=seed)
    stopping = {"now": False}

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    until = None if for_ is None else datetime.now(UTC) + timedelta(seconds=parse_duration(for_))

    async def _sleep(seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while not stopping["now"] and (left := end - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(min(left, 0.5))

    try:
        reports = asyncio.run(run(mon, lambda: datetime.now(UTC), _sleep, once=once, until=until,
                                  stop=lambda: stopping["now"], test_now=test_now))
    finally:
        if uploader is not None:
            uploader.close()
        store.close()
    last = reports[-1]
    if test_now:
        click.echo(f"throughput test {reports[0].tests[0]}")
    click.echo(f"{len(reports)} rounds; last: {last.samples} samples, tests {last.tests or 'none due'}, "
               f"{last.uploaded} batches uploaded" + (f", upload error: {last.upload_error}"
                                                       if last.upload_error else ""))


@monitor.command("status")
@state_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_cmd(state: Path | None, as_json: bool) -> None:
    """What the monitor measured: endpoints, DNS, throughput vs the contract, budget, queue."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from auditor.errors import InputError
    from auditor.monitor.status import render, status
    from auditor.monitor.store import DB_NAME, Store

    directory = _state(state)
    if not (directory / DB_NAME).exists():
        raise InputError(f"{directory}: no monitoring data yet; start it with: "
                         "auditor monitor run -i site.yaml")
    store = Store(directory)
    try:
        now = datetime.now(UTC)
        month = now.astimezone(ZoneInfo(store.get_meta("timezone") or "UTC")).strftime("%Y-%m")
        doc = status(store, now, month)
    finally:
        store.close()
    click.echo(json.dumps(doc, indent=1, ensure_ascii=False) if as_json else render(doc))


@monitor.command("install")
@click.option("--inventory", "-i", "inventory_path",
              type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="The school's inventory (default: the enrolled agent's).")
@click.option("--home", type=click.Path(path_type=Path), default=None, envvar="AUDITOR_AGENT_HOME",
              help="The enrolled agent's directory (default $AUDITOR_AGENT_HOME or STATE_DIR/agent).")
@state_option
@print_option
@unit_dir_option
def install_cmd(inventory_path: Path | None, home: Path | None, state: Path | None, print_only: bool,
                unit_dir: Path | None) -> None:
    """Install "auditor monitor run" as a hardened systemd service, campus-auditor-monitor.service
    (or run the monitor inside the agent's service instead: auditor agent install --monitor)."""
    from auditor.agent.config import CONFIG_NAME, default_home, load_agent_config
    from auditor.errors import InputError
    from auditor.inventory import check_scope, load_inventory
    from auditor.paths import state_dir
    from auditor.scheduling.services import MONITOR, monitor_service

    agent_home = (home or default_home()).resolve()
    config = load_agent_config(agent_home) if (agent_home / CONFIG_NAME).exists() else None
    path = inventory_path or (config.inventory if config else None)
    if path is None:
        raise InputError("auditor monitor install: give the inventory (-i site.yaml); this agent is not "
                         "enrolled with one")
    check_scope(load_inventory(path))  # a mistake is named now, not in the journal at the first start
    directory = _state(state)
    unit = monitor_service(auditor_command(), path.resolve(), agent_home, directory, state_dir().resolve())
    emit({f"{MONITOR}.service": unit}, print_only, unit_dir, f"{MONITOR}.service", [directory])
    if config is None and not print_only:
        err_console.print(f"[yellow]note[/]: not enrolled ({agent_home / CONFIG_NAME} missing): samples are "
                          "kept locally until the agent is enrolled")
