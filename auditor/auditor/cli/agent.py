"""``auditor agent``: the school side of district mode (enrol, run, status, rotate-key).

The agent's files live in ``--home`` (default ``$AUDITOR_AGENT_HOME`` or ``agent/`` in the state
directory): ``agent.yaml``, the pinned district CA, the outbox of bundles, and job records.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from auditor.cli._common import err_console, key_dir_option


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


@agent.command()
@click.option("--once", is_flag=True, help="One cycle (upload the queue, poll once, run jobs), then exit.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 60),
    default=None,
    help="Long-poll seconds (default agent.yaml poll_wait_s, 30).",
)
@click.pass_context
def run(ctx: click.Context, once: bool, wait: float | None) -> None:
    """Poll the district for jobs, run them, upload their bundles (until SIGTERM)."""
    from auditor.agent.config import load_agent_config
    from auditor.agent.loop import Agent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    home = _home(ctx)
    config = load_agent_config(home)
    if wait is not None:
        config = config.model_copy(update={"poll_wait_s": wait})
    worker = Agent(home, config)

    def stop(_sig: int, _frame: FrameType | None) -> None:
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if once:
            report = worker.cycle(config.poll_wait_s)
            err_console.print(
                f"uploaded {report.uploaded}, jobs run {report.jobs_run}, "
                f"waiting in the outbox {report.waiting}"
                + (" (server unreachable)" if report.server_down else "")
            )
            sys.exit(1 if report.waiting else 0)
        worker.run_forever()
    finally:
        worker.close()


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
