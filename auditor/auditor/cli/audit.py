"""``auditor run``, ``verify`` and ``score``: audit a site, check a bundle, show its points."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from auditor.cli._common import (
    AUDIT_LOCK_WAIT_S,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNTRUSTED,
    STATUS_STYLE,
    audit_lock,
    console_out,
    err_console,
    format_options,
    key_dir_option,
    monitor_dir,
    pin_options,
    pins,
    short,
)
from auditor.errors import InputError, VerificationError

if TYPE_CHECKING:
    from auditor.plugins import Plugins, ProbeTask
    from auditor.profile import LoadedProfile


def _parse_sets(values: tuple[str, ...], plugins: Plugins) -> dict[str, dict[str, Any]]:
    """The ``--set PROBE.SETTING=VALUE`` overrides by probe; an unknown probe or setting, or a
    value the setting's model rejects, is an InputError naming the option (nothing has run)."""
    from auditor.engine import check_probe_setting

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
        check_probe_setting(plugins, probe, key, value, f"--set {item!r}")
        out.setdefault(probe, {})[key] = value
    return out


def _waiver_names(profiles: Sequence[LoadedProfile]) -> set[str]:
    """What a waiver's ``item`` may name in this run: each loaded profile's item ids, bare and as
    ``PROFILE:ITEM``."""
    return {name for lp in profiles for _chain, item in lp.profile.walk_items()
            for name in (item.id, f"{lp.profile.id}:{item.id}")}


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



@click.command()
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
@format_options
@click.option("--history/--no-history", default=True, show_default=True,
              help="Verify the bundle and ingest it into the history store afterwards.")
@click.option("--history-db", default=None, metavar="URL", envvar="AUDITOR_HISTORY_DB",
              help="History store (default $AUDITOR_HISTORY_DB or the state directory's SQLite file).")
@click.option("--monitor-state", "monitor_state", type=click.Path(path_type=Path, file_okay=False),
              default=None, envvar="AUDITOR_MONITOR_DIR",
              help="The monitor's directory (as 'auditor monitor run --state'), whose samples of the days "
              "before the audit the report's monitoring timeline shows (default $AUDITOR_MONITOR_DIR or "
              "STATE_DIR/monitor).")
@click.option("--monitor-days", type=click.IntRange(1, 31), default=7, show_default=True,
              help="Days of monitoring the report shows: calendar days in the school's time zone, the "
              "audit's own day (until it started) the last.")
@click.option("--lock-wait", type=click.FloatRange(0, 86400), default=AUDIT_LOCK_WAIT_S, show_default=True,
              help="Seconds to wait for a monitoring throughput test to end (the box's bandwidth lock, "
              "in the monitor's directory) before giving up.")
@key_dir_option
def run(inventory_path: Path, profile_names: tuple[str, ...], out: Path, allow_class_hours: bool,
        sets: tuple[str, ...], concurrency: int, quiet: bool, attestations: Path | None,
        waivers: Path | None, formats: tuple[str, ...], lang: str, history: bool,
        history_db: str | None, monitor_state: Path | None, monitor_days: int, lock_wait: float,
        key_dir: Path | None) -> None:
    """Run an audit and write a signed report bundle to OUT."""
    from auditor.attest import default_store
    from auditor.engine import RunOptions
    from auditor.history.diff import regressions_hook
    from auditor.inventory import check_authorisation, load_inventory
    from auditor.monitor.report_summary import monitoring_hook
    from auditor.plugins import load_plugins
    from auditor.profile import load_profile
    from auditor.runner import run_audit
    from auditor.signing import PUBLIC_NAME, default_key_dir, load_signer
    from auditor.smcrypto import load_sm2_signer
    from auditor.waivers import load_waivers

    inventory = load_inventory(inventory_path)
    check_authorisation(inventory)  # a current written authorisation, before anything else
    profiles = [load_profile(name) for name in profile_names]
    plugins = load_plugins()
    overrides = _parse_sets(sets, plugins)  # names checked against what is installed
    if waivers is not None:  # every waiver names an installed check and an item of these profiles
        load_waivers(waivers, checks=plugins.checks.names(), items=_waiver_names(profiles))
    signer = load_signer(key_dir or default_key_dir())
    sm2_signer = load_sm2_signer(key_dir or default_key_dir())
    options = RunOptions(allow_class_hours=allow_class_hours, concurrency=concurrency,
                         probe_overrides=overrides,
                         attestations=attestations or default_store(), waivers=waivers,
                         formats=formats, lang=lang)
    monitoring_dir = (monitor_state or monitor_dir()).resolve()  # also where the bandwidth lock is
    # before signing: the regressions and bandwidth trend (history), the monitoring timeline
    hooks = [*([regressions_hook(out, history_db, _warn)] if history else []),
             monitoring_hook(inventory.inventory, monitoring_dir, monitor_days, _warn)]
    progress = _Progress(quiet)
    started = time.monotonic()
    school = inventory.inventory.school.code or inventory.inventory.school.name
    with audit_lock(monitoring_dir, f"auditor run: audit of {school}", lock_wait), progress.progress:
        result = run_audit(inventory, profiles, plugins, signer, out, options, progress,
                           on_plan=lambda plan: progress.set_total(len(plan.tasks)),
                           sm2_signer=sm2_signer, before_sign=_chain(hooks))
    _print_summary(result.report, time.monotonic() - started, out)
    if history:  # signed with this agent's own key a moment ago: that key is pinned
        _ingest(out, history_db, (key_dir or default_key_dir()) / PUBLIC_NAME)
    sys.exit(result.exit_status)


_Hook = Callable[[dict[str, Any]], dict[str, Any]]


def _chain(hooks: Sequence[_Hook]) -> _Hook:
    """One ``before_sign`` hook that applies ``hooks`` in order."""

    def hook(report: dict[str, Any]) -> dict[str, Any]:
        for each in hooks:
            report = each(report)
        return report

    return hook


def _warn(text: str) -> None:
    err_console.print(f"[yellow]warning[/]: {text}")


def _ingest(out: Path, url: str | None, key: Path) -> None:
    """Store the new bundle in the history store; a store problem is a warning, not a lost audit."""
    from auditor.errors import AuditorError
    from auditor.history import open_store

    try:
        with open_store(url) as store:
            result = store.ingest(out, key)
    except AuditorError as exc:
        err_console.print(f"[yellow]warning[/]: the bundle was not added to the history store: {exc}")
        return
    err_console.print(f"history: {result.message}")



def _print_summary(report: dict[str, Any], seconds: float, out: Path) -> None:
    console = console_out()
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
        ind.add_row(i["profile"], i["indicator"], f"[{style}]{i['status']}[/]", short(i["reason"]))
    console.print(ind)
    _print_scores(console, report)
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning[/]: {warning}")
    for f in report["findings"]:
        if f["status"] in {"error", "fail"}:
            console.print(f"[{STATUS_STYLE[f['status']]}]{f['status']}[/] {f['target']}: {f['message']}")
    regress = report.get("regressions")
    if regress:
        items = regress["items"]
        since = f"{regress['previous_run'][:8]} ({regress['previous_started_at']})"
        console.print(f"\nsince the previous run {since}: {len(items)} regression(s), "
                      f"{len(regress['fixed'])} fixed")
        for item in items:
            console.print(f"  [red]regressed[/] {item['kind']} {item['subject']}: {item['detail']}")
    monitoring = report.get("monitoring") or {}
    if monitoring.get("status") == "data":
        src = monitoring["source"]["in_window"]
        console.print(f"monitoring: {monitoring['window']['days']} days before the audit, "
                      f"{sum(src.values())} samples; see the report's monitoring timeline")
    elif monitoring.get("text"):
        console.print(f"monitoring: {monitoring['text']['en']}")
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



@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@pin_options
def verify(bundle: Path, keys: tuple[Path, ...], trusted_dir: Path | None) -> None:
    """Verify a report bundle offline: signatures (Ed25519, and SM2 when present), report and
    every evidence file (SHA-256, and SM3 when listed), and that a trusted key signed it.

    Exit 0: intact and signed by a trusted key; 1: not intact (each problem named); 4: intact,
    but the signer is not trusted (a key inside the bundle proves nothing about who signed it)."""
    from datetime import UTC, datetime

    from auditor.bundle import verify_bundle

    try:
        result = verify_bundle(bundle, *pins(keys, trusted_dir), now=datetime.now(UTC))
    except VerificationError as exc:
        click.echo(f"FAILED: {bundle}: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    if not result.ok:
        click.echo(f"FAILED: {bundle}: {len(result.problems)} problem(s):", err=True)
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        if result.untrusted:
            click.echo(f"  and the signer is not trusted: {result.untrusted_keys()}", err=True)
        sys.exit(EXIT_FINDINGS)
    sm2 = f" and SM2 signature by {result.sm2_keyid}" if result.sm2_keyid else ""
    intact = (f"signature by {result.keyid}{sm2}; report and {result.files_checked} listed files "
              f"intact; verified {', '.join(result.algorithms)} signatures and "
              f"{', '.join(d.upper().replace('SHA', 'SHA-') for d in result.digests)} digests")
    if result.untrusted:
        click.echo(f"UNTRUSTED: {bundle}: {result.untrusted_text()}")
        click.echo(f"  {intact}")
        click.echo("  if the school confirms this fingerprint (read it to them, do not take it from the "
                   f"bundle alone): auditor keys trust {bundle / 'agent-ed25519.pub'}"
                   + (f" {bundle / 'agent-sm2.pub'}" if result.sm2_keyid else ""))
        sys.exit(EXIT_UNTRUSTED)
    click.echo(f"OK: {bundle}: {intact}; signer trusted ({result.trust_source})")
    sys.exit(EXIT_OK)


@click.command("score")
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
    console = console_out()
    if not doc.get("scores"):
        click.echo(f"{path}: no point-scored profile in this report")
    _print_scores(console, doc)


