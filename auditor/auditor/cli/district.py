"""``auditor district``: the district server (init, enroll, request, serve, and their friends).

Every subcommand works on the district at ``--home`` (default ``$AUDITOR_DISTRICT_HOME`` or
``~/.local/share/campus-auditor/district``), whose ``district.yaml`` names the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from auditor.cli._common import console_out, err_console
from auditor.cli.services import auditor_command, district_writable, emit, print_option, unit_dir_option

if TYPE_CHECKING:
    from auditor.district.service import District

F = TypeVar("F", bound=Callable[..., Any])


def _home(ctx: click.Context) -> Path | None:
    home: Path | None = (ctx.find_object(dict) or {}).get("home")
    return home


def _open(ctx: click.Context) -> District:
    from auditor.district.config import load_config
    from auditor.district.db import open_database
    from auditor.district.service import District

    config = load_config(_home(ctx))
    return District(open_database(config.db), config)


def _duration(text: str) -> timedelta:
    units = {"m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise click.BadParameter(f"{text!r}: write a number and m, h or d, e.g. 2h")
    return timedelta(seconds=float(text[:-1]) * units[text[-1]])


@click.group()
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=None,
    envvar="AUDITOR_DISTRICT_HOME",
    help="The district's directory (default $AUDITOR_DISTRICT_HOME or "
    "~/.local/share/campus-auditor/district).",
)
@click.pass_context
def district(ctx: click.Context, home: Path | None) -> None:
    """Run a district server: enrol schools' agents, request remote checks, collect their bundles."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


@district.command()
@click.option(
    "--db",
    required=True,
    metavar="URL",
    help="SQLAlchemy URL: sqlite:///district.db or postgresql+psycopg://user@host/db.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where uploaded bundles are kept (default: HOME/data; shared by every server process).",
)
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=64, show_default=True)
@click.option(
    "--stale-days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="A school whose last audit is older is highlighted.",
)
@click.pass_context
def init(ctx: click.Context, db: str, data_dir: Path | None, max_upload_mb: float, stale_days: int) -> None:
    """Create the district (configuration, database schema) and print an admin token."""
    from auditor.district.config import DistrictConfig, config_path, default_home, save_config
    from auditor.district.db import open_database
    from auditor.district.service import District

    home = (_home(ctx) or default_home()).resolve()
    if config_path(home).exists():
        raise click.UsageError(
            f"{config_path(home)} exists: this district is initialised "
            "(auditor district admin-token mints another admin token)"
        )
    if db.startswith("sqlite:///") and not db.startswith("sqlite:////"):
        db = "sqlite:///" + str(
            Path(db[len("sqlite:///") :]).resolve()
        )  # absolute: servers may run elsewhere
    config = DistrictConfig(
        db=db,
        data_dir=(data_dir or home / "data").resolve(),
        max_upload_mb=max_upload_mb,
        stale_days=stale_days,
    )
    database = open_database(config.db)
    token = District(database, config).new_admin_token("district init")
    database.close()
    path = save_config(home, config)
    err_console.print(f"district initialised: {path} (database {database.label})")
    err_console.print("admin token (shown once; for the dashboard and /v1/admin; keep it secret):")
    click.echo(token)


@district.command("admin-token")
@click.option("--label", default="admin", show_default=True)
@click.pass_context
def admin_token(ctx: click.Context, label: str) -> None:
    """Mint another admin token."""
    d = _open(ctx)
    click.echo(d.new_admin_token(label))
    d.db.close()


@district.command()
@click.option("--school", "code", required=True, help="The school code (as in its inventory's school.code).")
@click.option("--name", default=None, help="The school's name (shown until its first audit arrives).")
@click.option(
    "--hours",
    type=click.FloatRange(min=0.0001),
    default=None,
    help="Token lifetime (default: district.yaml token_hours, 72).",
)
@click.option(
    "--kind",
    type=click.Choice(["school", "district"]),
    default="school",
    show_default=True,
    help="district: a member district forwarding to this (city) server.",
)
@click.pass_context
def enroll(ctx: click.Context, code: str, name: str | None, hours: float | None, kind: str) -> None:
    """Print a one-time enrolment token for a school (or a member district)."""
    d = _open(ctx)
    token, expires = d.enrolment_token(code, kind, name, hours)
    d.db.close()
    err_console.print(f"enrolment token for {code} (one use, expires {expires:%Y-%m-%d %H:%M} UTC):")
    click.echo(token)


@district.command()
@click.option("--school", "code", required=True)
@click.option("--profile", "-p", "profiles", multiple=True, required=True, help="Profile to run; repeat.")
@click.option("--within", default=None, help="Window from now, e.g. 2h or 3d (default: no end).")
@click.option("--not-before", type=click.DateTime(), default=None, help="UTC start of the window.")
@click.option(
    "--allow-class-hours",
    is_flag=True,
    help="Ask for bandwidth tests during lessons (honoured only if the school's agent allows it).",
)
@click.pass_context
def request(
    ctx: click.Context,
    code: str,
    profiles: tuple[str, ...],
    within: str | None,
    not_before: datetime | None,
    allow_class_hours: bool,
) -> None:
    """Request a remote check: the school's agent runs these profiles at its next poll."""
    from auditor.district.app import check_profiles

    check_profiles(list(profiles))
    start = not_before.replace(tzinfo=UTC) if not_before else None
    end = ((start or datetime.now(UTC)) + _duration(within)) if within else None
    d = _open(ctx)
    job = d.create_job(code, list(profiles), start, end, allow_class_hours)
    d.db.close()
    err_console.print(
        f"job for {code}: {', '.join(job.profiles)}"
        + (f", window until {job.not_after:%Y-%m-%d %H:%M} UTC" if job.not_after else "")
    )
    click.echo(job.id)


@district.command()
@click.option("--listen", default="0.0.0.0:8443", show_default=True)
@click.option("--tls-cert", type=click.Path(path_type=Path), default=None)
@click.option("--tls-key", type=click.Path(path_type=Path), default=None)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes (stateless; use PostgreSQL for more than one).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--graceful-timeout",
    type=click.IntRange(0, 3600),
    default=30,
    show_default=True,
    help="Seconds in-flight requests get to finish on SIGTERM.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    listen: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    workers: int,
    log_level: str,
    graceful_timeout: int,
) -> None:
    """Serve the API and the dashboard (HTTPS; plain HTTP only on a loopback address)."""
    from auditor.district.server import serve as run

    run(_home(ctx), listen, tls_cert, tls_key, workers, log_level, graceful_timeout)


@district.command()
@click.option("--host", "hosts", multiple=True, required=True, help="DNS name or IP of the server; repeat.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Default: HOME/tls.")
@click.pass_context
def tls(ctx: click.Context, hosts: tuple[str, ...], out: Path | None) -> None:
    """Create a district CA (once) and a server certificate for HOSTs; agents pin the CA."""
    from auditor.district.config import default_home
    from auditor.district.tlsgen import make_tls

    ca, cert, key = make_tls(out or (_home(ctx) or default_home()) / "tls", list(hosts))
    err_console.print(f"CA (give to agents: --ca): {ca}\nserver certificate: {cert}\nserver key: {key}")
    click.echo(ca)


@district.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schools(ctx: click.Context, as_json: bool) -> None:
    """Members, their active keys and latest runs."""
    from rich.table import Table

    from auditor.district.views import overview

    d = _open(ctx)
    members = d.members()
    latest = {r.code: r for r in overview(d.db, d.config.stale_days)}
    d.db.close()
    if as_json:
        click.echo(json.dumps([m.model_dump(mode="json") for m in members], ensure_ascii=False, indent=2))
        return
    table = Table(title="members")
    for col in ("code", "kind", "name", "active key", "latest run", "stale"):
        table.add_column(col, overflow="fold")
    for m in members:
        row = latest.get(m.code)
        when = f"{row.started_at:%Y-%m-%d %H:%M}" if row and row.started_at else "—"
        table.add_row(
            m.code,
            m.kind,
            m.name or (row.name if row else "") or "",
            m.active_key or "—",
            when,
            "yes" if row and row.stale else "",
        )
    console_out().print(table)


@district.command()
@click.option("--school", default=None)
@click.pass_context
def jobs(ctx: click.Context, school: str | None) -> None:
    """Remote checks and their state."""
    d = _open(ctx)
    for job in d.jobs(school):
        click.echo(
            f"{job.id}  {job.school}  {job.status:8}  {','.join(job.profiles)}  "
            f"{job.bundle_digest[:12] if job.bundle_digest else ''}  {job.message or ''}"
        )
    d.db.close()


@district.command("prune-samples")
@click.pass_context
def prune_samples(ctx: click.Context) -> None:
    """Delete monitoring samples past their retention (district.yaml: monitoring.raw_days, default
    90, and monitoring.hourly_days for the hourly roll-ups, default 3 years). Run it daily."""
    from auditor.district.monitoring import retention

    d = _open(ctx)
    done = retention(d.db, d.config.monitoring)
    d.db.close()
    click.echo(" ".join(f"{table}={n}" for table, n in done.items()))


@district.command("install-timers")
@click.option("--at", "at", default="03:30", show_default=True,
              help="When prune-samples runs (HH:MM, daily, the machine's time).")
@print_option
@unit_dir_option
@click.pass_context
def install_timers(ctx: click.Context, at: str, print_only: bool, unit_dir: Path | None) -> None:
    """Install a systemd timer running prune-samples daily (hardened, no capabilities). Alerts have
    their own: auditor alerts install."""
    from auditor.scheduling.services import PRUNE, prune_units

    home, writable = district_writable(_home(ctx))
    emit(prune_units(auditor_command(), home, at, writable), print_only, unit_dir, f"{PRUNE}.timer")


@district.command("revoke-key")
@click.argument("fingerprint")
@click.option("--reason", required=True)
@click.pass_context
def revoke_key(ctx: click.Context, fingerprint: str, reason: str) -> None:
    """Revoke a key: its later requests and bundles are refused; its earlier runs stay, marked."""
    d = _open(ctx)
    key = d.revoke(fingerprint, reason)
    d.db.close()
    click.echo(f"revoked {key.fingerprint} of {key.member}; enrol the school again with a new token")


@district.command()
@click.option("--out", type=click.Path(path_type=Path), default=None)
def openapi(out: Path | None) -> None:
    """Print (or write) the API's OpenAPI document."""
    from auditor.district.app import openapi as doc

    text = json.dumps(doc(), ensure_ascii=False, indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@district.command("join-parent")
@click.argument("url")
@click.option("--token", required=True, help="Enrolment token from the parent (kind district).")
@click.option("--ca", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.pass_context
def join_parent(ctx: click.Context, url: str, token: str, ca: Path) -> None:
    """Enrol this district at a higher-level (city) server, to forward verified runs to it."""
    from auditor.agent.enrol import enrol
    from auditor.district.config import Parent, default_home, load_config, save_config

    home = (_home(ctx) or default_home()).resolve()
    config = load_config(home)
    agent = enrol(home / "parent", url, token, ca, home / "keys")
    config.parent = Parent(url=url, ca=agent.ca or ca.resolve(), code=agent.member)
    save_config(home, config)
    err_console.print(f"enrolled at {url} as {agent.member}; forward runs with: auditor district forward")


@district.command()
@click.pass_context
def forward(ctx: click.Context) -> None:
    """Forward every run not yet forwarded to the parent (city) server, original signatures kept."""
    from auditor.district.config import default_home
    from auditor.district.federation import forward as send
    from auditor.signing import load_signer
    from auditor.wire.client import SignedClient
    from auditor.wire.errors import DistrictError

    d = _open(ctx)
    parent = d.config.parent
    if parent is None:
        raise DistrictError("no parent server: run auditor district join-parent URL --token T --ca CA")
    home = (_home(ctx) or default_home()).resolve()
    client = SignedClient(parent.url, parent.ca, load_signer(home / "keys"), parent.code)
    try:
        result = send(d, client)
    finally:
        client.close()
        d.db.close()
    err_console.print(
        f"forwarded {len(result.forwarded)} run(s); refused by the parent: {len(result.refused)}"
    )
    for digest, why in result.refused:
        err_console.print(f"  {digest[:12]}…: {why}")
