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

    def __init__(self, quiet: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.elapsed:>5.0f}s"), console=err_console, disable=quiet,
            transient=False,
        )
        self.task = self.progress.add_task("planning", total=None)
        self.running: list[str] = []

    def set_total(self, total: int) -> None:
        self.progress.update(self.task, total=total, description="probing")

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
@click.option("--attestations", "attestations", type=click.Path(path_type=Path), default=None,
              help="Attestation store (default $AUDITOR_ATTESTATIONS or "
              "~/.local/share/campus-auditor/attestations).")
@click.option("--waivers", type=click.Path(path_type=Path), default=None,
              help="Waiver file (YAML).")
@_key_dir_option
def run(inventory_path: Path, profile_names: tuple[str, ...], out: Path, allow_class_hours: bool,
        sets: tuple[str, ...], concurrency: int, quiet: bool, attestations: Path | None,
        waivers: Path | None, key_dir: Path | None) -> None:
    """Run an audit and write a signed report bundle to OUT."""
    from auditor.attest import default_store
    from auditor.engine import RunOptions
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
                         probe_overrides=_parse_sets(sets),
                         attestations=attestations or default_store(), waivers=waivers)
    progress = _Progress(quiet)
    started = time.monotonic()
    with progress.progress:
        result = run_audit(inventory, profiles, plugins, signer, out, options, progress,
                           on_plan=lambda plan: progress.set_total(len(plan.tasks)))
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
        if i["status"] == "manual" and not i["checks"]:
            continue  # listed under "still needed" below
        style = STATUS_STYLE.get(i["status"], "")
        ind.add_row(i["profile"], i["indicator"], f"[{style}]{i['status']}[/]", _short(i["reason"]))
    console.print(ind)
    _print_scores(console, report)
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning[/]: {warning}")
    for f in report["findings"]:
        if f["status"] in {"error", "fail"}:
            console.print(f"[{STATUS_STYLE[f['status']]}]{f['status']}[/] {f['target']}: {f['message']}")
    counts = ", ".join(f"{n} {s}" for s, n in report["summary"]["findings"].items())
    console.print(f"\n{counts}. Signed report: {out}/report.json ({seconds:.1f} s)")


def _print_scores(console: Console, report: dict[str, Any]) -> None:
    for sc in report.get("scores", []):
        table = Table(title=f"Score: {sc['profile']}  {sc['total']:g} / {sc['possible']:g}")
        for col in ("指标", "points", "earned", "lost", "lost by"):
            table.add_column(col, overflow="fold")
        for top in sc["groups"]:
            table.add_row(f"[bold]{top['number'] or ''}{top['title']}[/]", f"{top['points']:g}",
                          f"{top['earned']:g}", f"{top['lost']:g}", top["override"] or "")
            for sub in top["groups"]:
                lost_by = ", ".join(f"{x['number']} ({x['status']})" for x in sub["lost_by"])
                table.add_row(f"  {sub['title']}", f"{sub['points']:g}", f"{sub['earned']:g}",
                              f"{sub['lost']:g}", lost_by)
        console.print(table)
    needed = [i for i in report["indicators"] if i["status"] == "manual"]
    if needed:
        console.print(f"Still needed: {len(needed)} item(s) await an attestation "
                      "(auditor attest ITEM --evidence FILE --by NAME --role ROLE); see report.md")


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


@cli.command()
@click.argument("item")
@click.option("--evidence", "evidence", multiple=True, required=True,
              type=click.Path(path_type=Path), help="Evidence document; repeat for several.")
@click.option("--by", "by", required=True, help="Who attests.")
@click.option("--role", required=True, help="Their role (e.g. 信息中心主任).")
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day the attestation counts (YYYY-MM-DD).")
@click.option("--note", default=None, help="Free text.")
@click.option("--profile", "profile_name", default=None,
              help="Profile name or YAML file the item belongs to (default: the built-in ones).")
@click.option("--store", type=click.Path(path_type=Path), default=None,
              help="Attestation store (default $AUDITOR_ATTESTATIONS or "
              "~/.local/share/campus-auditor/attestations).")
def attest(item: str, evidence: tuple[Path, ...], by: str, role: str, expires: Any,
           note: str | None, profile_name: str | None, store: Path | None) -> None:
    """Record that BY attests ITEM ([PROFILE:]ITEM, or a dimension's id for its full-points rule)."""
    from auditor.attest import default_store, record
    from auditor.profile import builtin_profiles, load_profile

    profile_id, _, target = item.rpartition(":")
    names = [profile_name] if profile_name else [profile_id] if profile_id else builtin_profiles()
    known = False
    for name in names:
        prof = load_profile(name).profile
        if profile_id and prof.id != profile_id:
            continue
        known = known or prof.item(target) is not None or any(
            g.id == target and g.override_rule for _p, g in prof.walk_groups())
    if not known:
        raise InputError(f"attest: {item!r} is not an item or starred dimension of "
                         f"{', '.join(names)}; see `auditor profiles --items`")
    path, att = record(store or default_store(), item, list(evidence), by, role,
                       expires.date() if expires else None, note)
    files = ", ".join(f"{e.name} ({e.sha256[:12]}…)" for e in att.evidence)
    click.echo(f"recorded {path}: {item} attested by {by} ({role}); evidence {files}")


@cli.command("score")
@click.argument("report", type=click.Path(path_type=Path, exists=True))
def score_cmd(report: Path) -> None:
    """Print the score table of a saved report (a bundle directory or its report.json)."""
    import json

    path = report / "report.json" if report.is_dir() else report
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise InputError(f"{path}: not a readable report.json") from None
    from auditor.runner import REPORT_SCHEMA

    if not isinstance(doc, dict) or doc.get("schema") != REPORT_SCHEMA:
        raise InputError(f"{path}: not a campus-auditor report (no \"schema\": \"{REPORT_SCHEMA}\")")
    console = Console() if Console().is_terminal else Console(width=160)
    if not doc.get("scores"):
        click.echo(f"{path}: no point-scored profile in this report")
    _print_scores(console, doc)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("schemas"))
def schema(directory: Path) -> None:
    """Write JSON Schemas of the inventory, profile, waiver and attestation files."""
    from auditor.schemas import write_schemas

    for path in write_schemas(directory):
        click.echo(f"wrote {path}")


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
@click.option("--items", is_flag=True, help="Also list every item id (for attest and waivers).")
def profiles(items: bool) -> None:
    """List the built-in profiles (frameworks and levels)."""
    from auditor.profile import builtin_profiles, load_profile

    for name in builtin_profiles():
        prof = load_profile(name).profile
        level = f" level {prof.level}" if prof.level else ""
        count = sum(1 for _ in prof.walk_items())
        click.echo(f"{name:30} {prof.title}{level} ({count} items, scoring: {prof.scoring})")
        if items:
            for _chain, item in prof.walk_items():
                how = "measured" if item.checks else "attested"
                click.echo(f"    {item.id:40} {how:9} {item.text[:60]}")


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
    click.echo(f"its inventory: {info.state_dir / 'site.yaml'} (secrets and known_hosts beside it)")


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


def _register_subcommands() -> None:
    from auditor.wifi_cli import wifi

    cli.add_command(wifi)


_register_subcommands()


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
