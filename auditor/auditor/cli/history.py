"""``auditor history`` (runs over time, one measurement over time, ingest, rebuild, prune) and
``auditor diff`` (what got worse between two runs).

The store is ``--db URL`` (any SQLAlchemy URL, e.g. ``postgresql+psycopg://...``), else
``$AUDITOR_HISTORY_DB``, else ``history.sqlite`` in the agent's state directory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from auditor.cli._common import EXIT_FINDINGS, EXIT_OK, STATUS_STYLE, console_out

if TYPE_CHECKING:
    from auditor.history import HistoryStore, RunInfo, SeriesPoint

F = TypeVar("F", bound=Callable[..., Any])


def _db_option(func: F) -> F:
    return click.option(
        "--db", "db", default=None, metavar="URL", envvar="AUDITOR_HISTORY_DB",
        help="History store: a SQLAlchemy URL (default $AUDITOR_HISTORY_DB, else "
        "sqlite:///<state dir>/history.sqlite).",
    )(func)


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(func)


def _key_option(func: F) -> F:
    return click.option(
        "--key", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
        help="Public key to pin when verifying bundles (PEM); default: the key in each bundle.",
    )(func)


def _settings(ctx: click.Context, db: str | None, as_json: bool) -> tuple[str | None, bool]:
    """A subcommand's --db/--json, falling back to the group's."""
    parent = ctx.find_object(dict) or {}
    return db or parent.get("db"), as_json or bool(parent.get("json"))


def _open(db: str | None) -> HistoryStore:
    from auditor.history import open_store

    return open_store(db)


def _dump(doc: Any) -> None:
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2))


@click.group(invoke_without_command=True)
@_db_option
@_json_option
@click.option("--school", default=None, help="Only runs of this school code.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Newest N runs only.")
@click.option("--check", default=None,
              help="Print this check's measured value over time (or a fact measurement such as "
              "bandwidth.goodput.median).")
@click.option("--target", default=None, help="With --check: only this target.")
@click.pass_context
def history(ctx: click.Context, db: str | None, as_json: bool, school: str | None, limit: int | None,
            check: str | None, target: str | None) -> None:
    """List stored audit runs, or one measurement over time (--check)."""
    ctx.ensure_object(dict)
    ctx.obj.update(db=db, json=as_json)
    if ctx.invoked_subcommand is not None:
        if check or target or school or limit:
            raise click.UsageError("--check, --target, --school and --limit go without a subcommand")
        return
    if target and not check:
        raise click.UsageError("--target needs --check")
    with _open(db) as store:
        if check:
            _print_series(store, check, target, school, as_json)
        else:
            _print_runs(store, store.runs(school=school, limit=limit), as_json)


def _score_text(run: RunInfo) -> str:
    lines = []
    for s in run.scores:
        if s.score_possible is not None and s.score_total is not None:
            lines.append(f"{s.score_total:g}/{s.score_possible:g} points")
        else:
            lines.append(f"{s.items_pass}/{s.items_total} items pass")
    return "\n".join(lines)


def _print_runs(store: HistoryStore, runs: list[RunInfo], as_json: bool) -> None:
    if as_json:
        _dump({"store": store.label, "runs": [r.to_json() for r in runs]})
        return
    console = console_out()
    if not runs:
        console.print(f"no runs in the history store {escape(store.label)}; add some with: "
                      "auditor history ingest BUNDLE...")
        return
    table = Table(title=f"Audit runs ({escape(store.label)})", show_lines=True)
    for col in ("run", "started (UTC)", "school", "profiles", "score", "pass", "fail", "error", "other",
                "verified"):
        table.add_column(col, overflow="fold")
    for r in runs:
        other = sum(n for s, n in r.counts.items() if s not in {"pass", "fail", "error"})
        key = "pinned key" if r.key_pinned else "trusted key"
        verified = f"yes, {key}" if r.verified else "[red]no[/]"
        table.add_row(r.run_id[:8], f"{r.started_at:%Y-%m-%d %H:%M}",
                      escape(f"{r.school_code} {r.school_name}"),
                      escape("\n".join(s.profile for s in r.scores)), _score_text(r),
                      f"[green]{r.counts['pass']}[/]", f"[red]{r.counts['fail']}[/]",
                      f"[magenta]{r.counts['error']}[/]", str(other), verified)
    console.print(table)


def _print_series(store: HistoryStore, check: str, target: str | None, school: str | None,
                  as_json: bool) -> None:
    from auditor.history import RunNotFound

    points = store.series(check, target, school)
    if not points:
        raise RunNotFound(_no_series(store, check, target))
    if as_json:
        _dump({"check": check, "target": target, "points": [p.to_json() for p in points]})
        return
    table = Table(title=escape(check + (f" {target}" if target else "")))
    for col in ("started (UTC)", "run", "school", "target", "measured", "threshold", "status"):
        table.add_column(col, overflow="fold")
    for p in points:
        table.add_row(*_series_row(p))
    console_out().print(table)


def _series_row(p: SeriesPoint) -> tuple[str, ...]:
    unit = f" {p.unit}" if p.unit else ""
    measured = "—" if p.measured is None else f"{p.measured:g}{unit}"
    threshold = "—" if p.threshold is None else f"{p.threshold:g}{unit}"
    status = "—" if p.status is None else f"[{STATUS_STYLE.get(p.status, '')}]{p.status}[/]"
    return (f"{p.started_at:%Y-%m-%d %H:%M}", p.run_id[:8], escape(p.school_code), escape(p.target),
            escape(measured), escape(threshold), status)


def _no_series(store: HistoryStore, check: str, target: str | None) -> str:
    import difflib

    names = store.names()
    if check not in names:
        close = difflib.get_close_matches(check, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"--check {check}: no such check or measurement in the history store{hint}"
    targets = store.targets(check)
    return f"--target {target}: {check} has no such target; known: {', '.join(targets[:20])}"


@history.command("ingest")
@click.argument("bundles", nargs=-1, required=True, type=click.Path(path_type=Path))
@_db_option
@_json_option
@_key_option
@click.pass_context
def ingest(ctx: click.Context, bundles: tuple[Path, ...], db: str | None, as_json: bool,
           key: Path | None) -> None:
    """Verify report bundles and add them to the store (again: no duplicate)."""
    from auditor.history import BundleRefused

    db, as_json = _settings(ctx, db, as_json)
    done, refused = [], []
    with _open(db) as store:
        for bundle in bundles:
            try:
                done.append(store.ingest(bundle, key))
            except BundleRefused as exc:
                refused.append((bundle, str(exc)))
    if as_json:
        _dump({"ingested": [{"bundle": str(r.bundle), "already_ingested": r.already_ingested,
                             "run": r.run.to_json()} for r in done],
               "refused": [{"bundle": str(b), "why": why} for b, why in refused]})
    else:
        for r in done:
            click.echo(r.message)
    _refusals(refused, len(bundles))


def _refusals(refused: list[tuple[Path, str]], total: int) -> None:
    from auditor.history import BundleRefused

    for _bundle, why in refused:
        click.echo(f"refused: {why}", err=True)
    if refused:
        raise BundleRefused(f"{len(refused)} of {total} bundle(s) refused; nothing of them was stored")


@history.command("rebuild")
@click.argument("directory", type=click.Path(path_type=Path))
@_db_option
@_json_option
@_key_option
@click.pass_context
def rebuild(ctx: click.Context, directory: Path, db: str | None, as_json: bool, key: Path | None) -> None:
    """Drop the store and re-ingest every bundle found under DIRECTORY."""
    db, as_json = _settings(ctx, db, as_json)
    with _open(db) as store:
        result = store.rebuild(directory, key)
    if as_json:
        _dump({"ingested": [str(r.bundle) for r in result.ingested],
               "refused": [{"bundle": str(b), "why": why} for b, why in result.refused]})
    else:
        click.echo(f"rebuilt from {directory}: {len(result.ingested)} bundle(s) ingested")
    _refusals(result.refused, len(result.ingested) + len(result.refused))


@history.command("prune")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Keep the newest N runs of each school.")
@click.option("--keep-days", type=click.IntRange(min=0), default=None,
              help="Keep the runs of the last D days.")
@click.option("--delete-bundles", is_flag=True,
              help="Also delete the pruned runs' bundle directories (only if still the same bundle).")
@_db_option
@_json_option
@click.pass_context
def prune(ctx: click.Context, keep: int | None, keep_days: int | None, delete_bundles: bool,
          db: str | None, as_json: bool) -> None:
    """Remove old runs from the store (a run is kept if either rule keeps it)."""
    db, as_json = _settings(ctx, db, as_json)
    with _open(db) as store:
        result = store.prune(keep=keep, keep_days=keep_days, delete_bundles=delete_bundles)
    if as_json:
        _dump({"removed": [r.run_id for r in result.removed], "bundles_deleted": result.bundles_deleted,
               "bundles_kept": [{"bundle": b, "why": why} for b, why in result.bundles_kept]})
        return
    for r in result.removed:
        click.echo(f"removed run {r.run_id} ({r.school_code}, {r.started_at:%Y-%m-%d %H:%M} UTC)")
    for path in result.bundles_deleted:
        click.echo(f"deleted bundle {path}")
    for path, why in result.bundles_kept:
        click.echo(f"bundle {path} not deleted: {why}")
    click.echo(f"{len(result.removed)} run(s) removed")


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b", required=False)
@click.option("--drop-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.10,
              show_default=True, help="Report goodput medians that fell by more than this fraction.")
@_db_option
@_json_option
@_key_option
def diff(run_a: str, run_b: str | None, drop_fraction: float, db: str | None, as_json: bool,
         key: Path | None) -> None:
    """Show what got worse from RUN_A to RUN_B (ids, id prefixes or bundle directories).

    With one RUN, compare it with the previous run of the same school and profiles.
    Exit 0: no regressions; 1: regressions found; 2: bad input."""
    from auditor.history import RunNotFound
    from auditor.history.diff import diff_runs

    with _open(db) as store:
        later = store.resolve(run_b or run_a, key)
        if run_b is None:
            earlier = store.previous_comparable(later.run_id)
            if earlier is None:
                raise RunNotFound(f"run {later.run_id} has no earlier run of {later.school_code} with "
                                  "the same profiles in the store; name both runs")
        else:
            earlier = store.resolve(run_a, key)
        result = diff_runs(store, earlier, later, drop_fraction)
    if as_json:
        _dump(result.to_json())
    else:
        result.render(console_out())
    sys.exit(EXIT_FINDINGS if result.regressions else EXIT_OK)
