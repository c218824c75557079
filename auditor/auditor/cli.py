"""The ``auditor`` command. The only place that turns errors into exit codes.

Exit codes: 0 every check passed (or ``verify``: bundle intact); 1 some check failed, errored
or was skipped (``verify``: bundle altered or unverifiable); 2 bad input or usage;
3 internal error.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from auditor.errors import AuditorError, InputError, VerificationError
from auditor.plugins import ProbeTask

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
F = TypeVar("F", bound=Callable[..., Any])
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "skipped": "yellow",
                "manual": "cyan", "waived": "blue", "not_applicable": "dim"}

err_console = Console(stderr=True)


def _key_dir_option(func: F) -> F:
    return click.option(
        "--key-dir", type=click.Path(path_type=Path), default=None,
        help="Directory of the agent's signing key (default $AUDITOR_KEY_DIR or "
        "~/.config/campus-auditor/keys).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="campus-auditor")
def cli() -> None:
    """Audit a school network against the Beijing smart-campus criteria and GB/T 22239."""


def _parse_sets(values: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in values:
        name, eq, raw = item.partition("=")
        probe, dot, key = name.rpartition(".")
        if not eq or not dot or not probe or not key:
            raise InputError(f"--set {item!r}: write PROBE.SETTING=VALUE, e.g. iperf3.bandwidth.runs=1")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise InputError(f"--set {item!r}: value is not valid YAML") from None
        out.setdefault(probe, {})[key] = value
    return out


class _Progress:
    """Shows probe tasks starting and finishing."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.elapsed:>5.0f}s"), console=err_console, disable=quiet,
            transient=False,
        )
        self.task = self.progress.add_task("probing", total=total)
        self.running: list[str] = []

    def __call__(self, task: ProbeTask, event: str) -> None:
        if event == "start":
            self.running.append(task.target)
        elif event in {"done", "refused"}:
            if task.target in self.running:
                self.running.remove(task.target)
            self.progress.advance(self.task)
            if event == "refused":
                self.progress.console.print(f"  [yellow]not run[/]: {task.probe} {task.target}")
        shown = ", ".join(self.running[:3]) + (" …" if len(self.running) > 3 else "")
        self.progress.update(self.task, description=f"probing {shown}" if shown else "probing")


@cli.command()
@click.option("--inventory", "-i", "inventory_path", required=True,
              type=click.Path(path_type=Path), help="Site inventory (YAML).")
@click.option("--profile", "-p", "profile_names", multiple=True, required=True,
              help="Profile name or YAML file; repeat to evaluate several.")
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path),
              help="New directory for the signed report bundle.")
@click.option("--allow-class-hours", is_flag=True,
              help="Run bandwidth tests even during the inventory's class hours.")
@click.option("--set", "sets", multiple=True, metavar="PROBE.SETTING=VALUE",
              help="Override a probe setting, e.g. iperf3.bandwidth.runs=1.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Probe tasks running at once (tasks sharing a bottleneck never overlap).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@_key_dir_option
def run(inventory_path: Path, profile_names: tuple[str, ...], out: Path, allow_class_hours: bool,
        sets: tuple[str, ...], concurrency: int, quiet: bool, key_dir: Path | None) -> None:
    """Run an audit and write a signed report bundle to OUT."""
    from auditor.engine import RunOptions, make_plan
    from auditor.inventory import load_inventory
    from auditor.plugins import load_plugins
    from auditor.profile import load_profile
    from auditor.runner import run_audit
    from auditor.signing import default_key_dir, load_signer

    inventory = load_inventory(inventory_path)
    profiles = [load_profile(name) for name in profile_names]
    signer = load_signer(key_dir or default_key_dir())
    plugins = load_plugins()
    options = RunOptions(allow_class_hours=allow_class_hours, concurrency=concurrency,
                         probe_overrides=_parse_sets(sets))
    total = len(make_plan(inventory.inventory, profiles, plugins, options).tasks)
    progress = _Progress(total, quiet)
    started = time.monotonic()
    with progress.progress:
        result = run_audit(inventory, profiles, plugins, signer, out, options, progress)
    _print_summary(result.report, time.monotonic() - started, out)
    sys.exit(result.exit_status)


def _print_summary(report: dict[str, Any], seconds: float, out: Path) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    table = Table(title="Findings", show_lines=False)
    for col in ("check", "target", "status", "measured", "threshold"):
        table.add_column(col, overflow="fold")
    for f in report["findings"]:
        style = STATUS_STYLE.get(f["status"], "")
        unit = f" {f['unit']}" if f["unit"] else ""
        measured = "—" if f["measured"] is None else f"{f['measured']:.1f}{unit}"
        threshold = "—" if f["threshold"] is None else f"{f['threshold']:g}{unit}"
        table.add_row(f["check"], f["target"], f"[{style}]{f['status']}[/]", measured, threshold)
    console.print(table)
    ind = Table(title="Indicators")
    for col in ("profile", "indicator", "status", "why"):
        ind.add_column(col, overflow="fold")
    for i in report["indicators"]:
        style = STATUS_STYLE.get(i["status"], "")
        ind.add_row(i["profile"], i["indicator"], f"[{style}]{i['status']}[/]", _short(i["reason"]))
    console.print(ind)
    for f in report["findings"]:
        if f["status"] in {"error", "fail"}:
            console.print(f"[{STATUS_STYLE[f['status']]}]{f['status']}[/] {f['target']}: {f['message']}")
    counts = ", ".join(f"{n} {s}" for s, n in report["summary"]["findings"].items())
    console.print(f"\n{counts}. Signed report: {out}/report.json ({seconds:.1f} s)")


def _short(reason: str, limit: int = 160) -> str:
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--key", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Public key to pin (PEM). Without it the key shipped in the bundle is used.")
def verify(bundle: Path, key: Path | None) -> None:
    """Verify a report bundle offline: signature, report and every evidence file."""
    from auditor.bundle import verify_bundle

    try:
        result = verify_bundle(bundle, key)
    except VerificationError as exc:
        click.echo(f"FAILED: {bundle}: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    if result.ok:
        pinned = "pinned key" if result.pinned else "key shipped in the bundle (pass --key to pin)"
        click.echo(f"OK: {bundle}: signature by {result.keyid} ({pinned}); "
                   f"report and {result.files_checked} listed files intact")
        sys.exit(EXIT_OK)
    click.echo(f"FAILED: {bundle}: {len(result.problems)} problem(s):", err=True)
    for problem in result.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(EXIT_FINDINGS)


@cli.group()
def keys() -> None:
    """Manage the agent's Ed25519 signing key."""


@keys.command("init")
@_key_dir_option
def keys_init(key_dir: Path | None) -> None:
    """Create the signing key (private key mode 0600) if it does not exist."""
    from auditor.signing import default_key_dir, init_keys

    directory = key_dir or default_key_dir()
    public, fpr, created = init_keys(directory)
    click.echo(f"{'created' if created else 'exists'}: {public} ({fpr})")


@keys.command("show")
@_key_dir_option
def keys_show(key_dir: Path | None) -> None:
    """Print the public key's fingerprint."""
    from auditor.signing import default_key_dir, load_signer

    click.echo(load_signer(key_dir or default_key_dir()).keyid)


@cli.command()
def probes() -> None:
    """List the installed probes."""
    from auditor.plugins import load_plugins

    for name, probe in load_plugins().probes.items():
        click.echo(f"{name:24} {probe.description}")


@cli.command()
def checks() -> None:
    """List the installed checks."""
    from auditor.plugins import load_plugins

    for name, check in load_plugins().checks.items():
        click.echo(f"{name:30} {check.meta.title_en}")


@cli.command()
def profiles() -> None:
    """List the built-in profiles."""
    from auditor.profile import builtin_profiles, load_profile

    for name in builtin_profiles():
        click.echo(f"{name:30} {load_profile(name).profile.title}")


@cli.command()
@click.argument("inventory", type=click.Path(path_type=Path))
def validate(inventory: Path) -> None:
    """Check an inventory file and report every problem with its line."""
    from auditor.inventory import load_inventory

    inv = load_inventory(inventory).inventory
    click.echo(f"OK: {inventory}: {inv.school.name}, {len(inv.classrooms)} classrooms, "
               f"{len(inv.devices)} devices")


@cli.group()
def lab() -> None:
    """The built-in demo school made of network namespaces (needs root)."""


@lab.command("up")
@click.option("--prefix", default="ca", show_default=True)
def lab_up(prefix: str) -> None:
    """Build the demo school (idempotent)."""
    from auditor.lab import school

    try:
        info = school.up(prefix)
    except school.LabError as exc:
        raise InputError(f"lab up: {exc}") from None
    click.echo(f"demo school {prefix!r} is up; run the auditor in namespace {info.agent_ns}")


@lab.command("down")
@click.option("--prefix", default="ca", show_default=True)
def lab_down(prefix: str) -> None:
    """Tear the demo school down completely."""
    from auditor.lab import school

    try:
        school.down(prefix)
    except school.LabError as exc:
        raise InputError(f"lab down: {exc}") from None
    click.echo(f"demo school {prefix!r} is down")


def main() -> None:
    """Console-script entry point."""
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
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("AUDITOR_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set AUDITOR_DEBUG=1 for details)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
