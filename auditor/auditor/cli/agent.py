"""``auditor agent``: the school side of district mode (enrol, run, install, status, rotate-key).

The agent's files live in ``--home`` (default ``$AUDITOR_AGENT_HOME`` or ``agent/`` in the state
directory): ``agent.yaml``, the pinned district CA, the outbox of bundles, and job records.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from auditor.cli._common import err_console, key_dir_option
from auditor.cli.services import auditor_command, emit, env_names, print_option, tell_missing, unit_dir_option

if TYPE_CHECKING:
    from auditor.agent.config import AgentConfig
    from auditor.agent.loop import Agent


def _home(ctx: click.Context) -> Path:
    from auditor.agent.config import default_home

    home: Path | None = (ctx.find_object(dict) or {}).get("home")
    return (home or default_home()).resolve()


@click.group()
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    envvar="AUDITOR_AGENT_HOME",
    help="The agent's directory (default $AUDITOR_AGENT_HOME or STATE_DIR/agent).",
)
@click.pass_context
def agent(ctx: click.Context, home: Path | None) -> None:
    """The school's agent: enrol with the district, then run its remote checks (outgoing connections only)."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


@agent.command()
@click.argument("url")
@click.option("--token", required=True, help="The one-time token from: auditor district enroll.")
@click.option(
    "--ca",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="The district's CA certificate (PEM); the server must present a certificate it signed.",
)
@click.option(
    "--inventory",
    "-i",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="This school's inventory, used for every remote check.",
)
@click.option(
    "--allow-class-hours",
    is_flag=True,
    help="Let the district's jobs run bandwidth tests during lessons when they ask to.",
)
@click.option(
    "--upload-rate-kbps",
    type=click.FloatRange(min=1),
    default=None,
    help="Cap the upload rate (kbit/s), so uploads never crowd the school's uplink.",
)
@key_dir_option
@click.pass_context
def enroll(
    ctx: click.Context,
    url: str,
    token: str,
    ca: Path | None,
    inventory: Path | None,
    allow_class_hours: bool,
    upload_rate_kbps: float | None,
    key_dir: Path | None,
) -> None:
    """Enrol this agent at the district server URL (creates the signing key if there is none)."""
    from auditor.agent.enrol import enrol
    from auditor.signing import default_key_dir

    home = _home(ctx)
    config = enrol(
        home,
        url,
        token,
        ca,
        (key_dir or default_key_dir()).resolve(),
        inventory,
        allow_class_hours,
        upload_rate_kbps,
    )
    err_console.print(f"enrolled as {config.member} at {url}; configuration: {home / 'agent.yaml'}")


LOCK_WAIT_S = 600  # a monitoring round lasts seconds (bounded): one holding the lock longer is stuck
RETRY_S = 300

monitor_state_option = click.option(
    "--monitor-state",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    envvar="AUDITOR_MONITOR_DIR",
    help="The monitor's state directory (default $AUDITOR_MONITOR_DIR or STATE_DIR/monitor): its samples "
    "with --monitor; whenever it exists, its bandwidth lock is held while a job's audit runs.",
)


def _monitor_state(state: Path | None) -> Path:
    from auditor.paths import state_dir

    return (state or state_dir() / "monitor").resolve()


@agent.command()
@click.option("--once", is_flag=True, help="One cycle (upload the queue, poll once, run jobs), then exit.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 60),
    default=None,
    help="Long-poll seconds (default agent.yaml poll_wait_s, 30).",
)
@click.option(
    "--monitor",
    "with_monitor",
    is_flag=True,
    help="Also measure the school's connection between audits (as auditor monitor run), in this "
    "process, with the agent's enrolment and inventory; --once: one round.",
)
@monitor_state_option
@click.option(
    "--lock-wait",
    type=click.FloatRange(0, 3600),
    default=LOCK_WAIT_S,
    show_default=True,
    help="Seconds a job waits for a monitoring throughput test to end before it is deferred.",
)
@click.pass_context
def run(ctx: click.Context, once: bool, wait: float | None, with_monitor: bool,
        monitor_state: Path | None, lock_wait: float) -> None:
    """Poll the district for jobs, run them, upload their bundles (until SIGTERM).

    A job's audit and a monitoring throughput test never run at once on this box: the audit holds
    the monitor's bandwidth lock (STATE/throughput.lock) while it runs, with --monitor or whenever
    the monitor's state directory exists."""
    from auditor.agent.config import load_agent_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    home = _home(ctx)
    config = load_agent_config(home)
    if wait is not None:
        config = config.model_copy(update={"poll_wait_s": wait})
    lock_dir = _monitor_state(monitor_state)
    monitoring = MonitorThread(config, lock_dir, once) if with_monitor else None  # the inventory checked now
    locking = with_monitor or lock_dir.is_dir()
    worker = _exclusive_agent(home, config, lock_dir if locking else None, lock_wait)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    if monitoring is not None:
        monitoring.start(worker.stop)
    try:
        if once:
            report = worker.cycle(config.poll_wait_s)
            err_console.print(
                f"uploaded {report.uploaded}, jobs run {report.jobs_run}, "
                f"waiting in the outbox {report.waiting}"
                + (" (server unreachable)" if report.server_down else "")
            )
            status = 1 if report.waiting else 0
        else:
            worker.run_forever()
    finally:
        if monitoring is not None:
            if not once:
                worker.stop.set()  # the agent ended (stopped, or failed): so does the monitor
            monitoring.thread.join()
        worker.close()
    if monitoring is not None:
        err_console.print(monitoring.outcome())
    sys.exit(status)


def _exclusive_agent(home: Path, config: AgentConfig, lock_dir: Path | None, lock_wait: float) -> Agent:
    """The agent, each job run while it holds the bandwidth lock in ``lock_dir`` (None: no lock).

    The whole job, not only its bandwidth tests: the engine has no hook around its iperf3 tasks
    (they run anywhere in the audit, beside other probes), and the audit's scans and device reads
    share the box and its uplink with a monitoring test, which would measure them. A test due
    meanwhile waits (``busy``) for the monitor's next round, and is recorded missed after its
    grace. A job that cannot get the lock within ``lock_wait`` seconds (a monitoring round lasts
    seconds) is deferred by RETRY_S, saying who holds it."""
    from auditor.agent.loop import Agent
    from auditor.probes._bandwidth_lock import LOCK_NAME, bandwidth_lock, holder

    class ExclusiveAgent(Agent):
        def handle(self, job: dict[str, Any]) -> bool:
            if lock_dir is None:
                return super().handle(job)
            with bandwidth_lock(lock_dir, wait_s=lock_wait, stop=self.stop,
                                what=f"auditor agent: district job {job['id']}") as held:
                if held:
                    return super().handle(job)
                who = holder(lock_dir)
            if self.stop.is_set():
                return False  # stopping: the district offers the job again when its lease ends
            later = datetime.now(UTC) + timedelta(seconds=RETRY_S)
            self._note(job["id"], job=job, status="deferred", run_at=later.isoformat(),
                       message=f"another bandwidth test holds {lock_dir / LOCK_NAME} ({who}); "
                       f"tried again at {later:%H:%M} UTC")
            return False

    return ExclusiveAgent(home, config)


class MonitorThread:
    """``auditor monitor run`` in a thread of the agent's process, with the agent's enrolment
    (server, CA, key, member) and inventory. It stops when the agent's ``stop`` is set and sets
    it when it fails, so the service ends (and systemd restarts it) rather than run half."""

    def __init__(self, config: AgentConfig, state: Path, once: bool) -> None:
        from auditor.errors import InputError
        from auditor.inventory import check_scope, load_inventory

        if config.inventory is None:
            raise InputError("auditor agent run --monitor: this agent has no inventory (agent.yaml "
                             "inventory; enrol with -i site.yaml)")
        loaded = load_inventory(config.inventory)
        check_scope(loaded)
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.inventory, self.config, self.state, self.once = loaded.inventory, config, state, once
        self.stop = threading.Event()
        self.error: Exception | None = None
        self.reports: list[Any] = []
        self.thread = threading.Thread(target=self._main, name="monitor")

    def start(self, stop: threading.Event) -> None:
        self.stop = stop
        self.thread.start()

    def _main(self) -> None:
        import asyncio

        try:
            self.reports = asyncio.run(self._run())
        except Exception as exc:  # handed to the main thread, which ends the command with it
            self.error = exc
            self.stop.set()

    async def _run(self) -> list[Any]:
        import socket

        from auditor.monitor.forward import SignedUploader, district_endpoint
        from auditor.monitor.loop import Monitor, run
        from auditor.monitor.store import Store

        store = Store(self.state)
        uploader = SignedUploader(self.config.server, self.config.ca, self.config.key_dir, self.config.member)
        try:
            mon = Monitor(self.inventory, store, self.state, agent=socket.gethostname(), uploader=uploader,
                          district=district_endpoint(self.config.server))
            return await run(mon, lambda: datetime.now(UTC), self._sleep, once=self.once,
                             stop=self.stop.is_set)
        finally:
            uploader.close()
            store.close()

    async def _sleep(self, seconds: float) -> None:
        import asyncio

        end = asyncio.get_running_loop().time() + seconds
        while not self.stop.is_set() and (left := end - asyncio.get_running_loop().time()) > 0:
            await asyncio.sleep(min(left, 0.5))

    def outcome(self) -> str:
        """The monitor's last round, for the agent's output; its error, raised, if it failed."""
        if self.error is not None:
            raise self.error
        last = self.reports[-1]
        return (f"monitor: {len(self.reports)} rounds; last: {last.samples} samples, tests "
                f"{last.tests or 'none due'}, {last.uploaded} batches uploaded"
                + (f", upload error: {last.upload_error}" if last.upload_error else ""))


@agent.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Enrolment, and the bundles waiting in the outbox."""
    from auditor.agent.config import load_agent_config
    from auditor.agent.outbox import Outbox

    home = _home(ctx)
    config = load_agent_config(home)
    click.echo(f"school {config.member} at {config.server} (key dir {config.key_dir})")
    outbox = Outbox(home)
    entries = outbox.entries()
    click.echo(f"outbox: {len(entries)} bundle(s) waiting")
    for e in entries:
        click.echo(
            f"  {e.meta.digest[:12]}  {e.meta.size} bytes  attempts {e.meta.attempts}  "
            f"{e.meta.last_error or ''}"
        )
    rejected = sorted(outbox.rejected.iterdir())
    if rejected:
        click.echo(f"rejected: {len(rejected)} (see {outbox.rejected})")


@agent.command("rotate-key")
@click.pass_context
def rotate_key(ctx: click.Context) -> None:
    """Replace the agent's signing key (the district pins the new one)."""
    from auditor.agent.config import load_agent_config
    from auditor.agent.enrol import rotate

    old, new = rotate(load_agent_config(_home(ctx)))
    err_console.print(f"rotated: {old} → {new}")


@agent.command()
@click.option(
    "--monitor",
    "with_monitor",
    is_flag=True,
    help="Run the monitor inside the agent's service (auditor agent run --monitor): one service for "
    "the box, instead of campus-auditor-monitor.service beside it.",
)
@monitor_state_option
@print_option
@unit_dir_option
@click.pass_context
def install(ctx: click.Context, with_monitor: bool, monitor_state: Path | None, print_only: bool,
            unit_dir: Path | None) -> None:
    """Install ``auditor agent run`` as a hardened systemd service, campus-auditor-agent.service.

    The service does not see this shell's variables: the credentials the inventory names
    ({env: ...}) go in HOME/agent.env (install says which are missing)."""
    from auditor.agent.config import load_agent_config
    from auditor.inventory import check_scope, load_inventory
    from auditor.paths import state_dir
    from auditor.scheduling.services import AGENT, agent_service

    home = _home(ctx)
    config = load_agent_config(home)
    loaded = load_inventory(config.inventory) if config.inventory is not None else None
    if with_monitor:  # as auditor monitor run: every target inside the scope, named now
        if loaded is None:
            raise click.UsageError("--monitor: this agent has no inventory (agent.yaml inventory; "
                                   "enrol with -i)")
        check_scope(loaded)
    directory, root = _monitor_state(monitor_state), state_dir().resolve()
    unit = agent_service(auditor_command(), home, root, directory, monitor=with_monitor)
    emit({f"{AGENT}.service": unit}, print_only, unit_dir, f"{AGENT}.service", [home, root, directory])
    if not print_only and loaded is not None:
        tell_missing(env_names(loaded.inventory), home / "agent.env")
