"""One scheduled audit of a school, start to finish.

1. Take the school's lock (a second run exits naming the running one).
2. Check the inventory's authorisation record, then audit into ``<out_root>/<stamp>`` (the bundle
   appears there only once it is signed: see ``auditor.bundle.staged_bundle``). The report carries
   the regressions since the previous comparable run (``before_sign``). Bandwidth tests follow
   the timetable: in lessons they are deferred (the report names the next free window) unless the
   schedule allows class hours.
3. Ingest the bundle into the history store; apply the retention.
4. Write the Prometheus textfile, send notices on regressions or failure, log every step as JSON.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from auditor.attest import default_store
from auditor.engine import RunOptions
from auditor.errors import AuditorError, SecretError
from auditor.history import open_store
from auditor.history.diff import regressions_hook
from auditor.history.store import HistoryStore
from auditor.inventory import LoadedInventory, check_authorisation, load_inventory
from auditor.paths import state_dir
from auditor.plugins import load_plugins
from auditor.profile import load_profile
from auditor.runner import run_audit
from auditor.scheduling import logs, metrics, notify
from auditor.scheduling.config import ScheduleConfig, load_notify
from auditor.scheduling.lock import SchoolLock
from auditor.secrets import SecretRef, SecretResolver
from auditor.signing import PUBLIC_NAME, default_key_dir, load_signer
from auditor.smcrypto import load_sm2_signer


@dataclass
class ScheduledResult:
    """What a scheduled run did."""

    exit_status: int
    bundle: Path | None = None
    report: dict[str, Any] | None = None
    failure: str | None = None
    problems: list[str] = field(default_factory=list)  # notices not delivered, store warnings
    metrics_file: Path | None = None


def secret_refs(value: Any) -> list[SecretRef]:
    """Every credential reference in a model (an inventory, the notification settings)."""
    if isinstance(value, SecretRef):
        return [value]
    if isinstance(value, BaseModel):
        return [r for name in type(value).model_fields for r in secret_refs(getattr(value, name))]
    if isinstance(value, list | tuple):
        return [r for item in value for r in secret_refs(item)]
    return []


def known_secrets(loaded: LoadedInventory) -> SecretResolver:
    """A resolver that already holds every credential of the inventory, so logs can mask them."""
    resolver = SecretResolver(loaded.inventory.secrets_file)
    for ref in secret_refs(loaded.inventory):
        try:
            resolver.resolve(ref, "inventory")
        except SecretError:
            continue  # the audit itself reports it
    return resolver


def scheduled_run(cfg: ScheduleConfig) -> ScheduledResult:
    """Run ``cfg``'s audit once; never raises for an audit problem (it becomes the result)."""
    state = state_dir()
    with SchoolLock(state / "locks" / f"{cfg.school}.lock"):
        resolvers: list[SecretResolver] = []
        log = logs.setup(state / "logs", resolvers)
        logs.event(log, "run.start", f"scheduled audit of {cfg.school} starts", cfg.school)
        started = time.monotonic()
        result = _audit(cfg, resolvers, log)
        duration = time.monotonic() - started
        _after(cfg, result, duration, log)
        return result


def _audit(cfg: ScheduleConfig, resolvers: list[SecretResolver], log: logging.Logger) -> ScheduledResult:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    final = cfg.out_root / stamp
    problems: list[str] = []
    try:
        loaded = load_inventory(cfg.inventory)
        resolvers.append(known_secrets(loaded))
        check_authorisation(loaded)  # a schedule audits only with a current authorisation
        profiles = [load_profile(p) for p in cfg.profiles]
        keys = cfg.key_dir or default_key_dir()
        options = RunOptions(allow_class_hours=cfg.allow_class_hours,
                             attestations=cfg.attestations or default_store(), formats=tuple(cfg.formats))
        cfg.out_root.mkdir(parents=True, exist_ok=True)
        run = run_audit(loaded, profiles, load_plugins(), load_signer(keys), final, options,
                        sm2_signer=load_sm2_signer(keys),
                        before_sign=regressions_hook(final, cfg.history_db, problems.append))
    except AuditorError as exc:
        logs.event(log, "run.failed", f"{cfg.school}: {exc}", cfg.school, level=logging.ERROR)
        return ScheduledResult(2, failure=str(exc), problems=problems)
    except Exception as exc:  # a bug must still be reported and notified, not only crash
        logs.event(log, "run.failed", f"{cfg.school}: internal error {type(exc).__name__}: {exc}",
                   cfg.school, level=logging.ERROR)
        return ScheduledResult(3, failure=f"internal error: {type(exc).__name__}: {exc}", problems=problems)
    run_id = run.report["run"]["id"]
    logs.event(log, "run.done", f"{cfg.school}: bundle {final} ({run.report['summary']['findings']})",
               cfg.school, run_id)
    return ScheduledResult(run.exit_status, final, run.report, problems=problems)


def _after(cfg: ScheduleConfig, result: ScheduledResult, duration: float, log: logging.Logger) -> None:
    last_success = None
    try:
        with open_store(cfg.history_db) as store:
            if result.bundle is not None:
                # signed with this school's own key a moment ago: that key is pinned
                store.ingest(result.bundle, (cfg.key_dir or default_key_dir()) / PUBLIC_NAME)
                if cfg.keep or cfg.keep_days:  # this school's runs, and only bundles under its root
                    pruned = store.prune(cfg.keep, cfg.keep_days, cfg.delete_bundles, school=cfg.school,
                                         bundles_under=cfg.out_root)
                    logs.event(log, "history.prune", f"retention removed {len(pruned.removed)} run(s), "
                               f"deleted {len(pruned.bundles_deleted)} bundle(s)", cfg.school)
            last_success = _last_success(store, cfg.school)
    except AuditorError as exc:
        result.problems.append(f"history store: {exc}")
    regressions = len(((result.report or {}).get("regressions") or {}).get("items", []))
    reg = metrics.registry_for(result.report, cfg.school, duration, result.exit_status, regressions,
                               last_success)
    try:
        result.metrics_file = metrics.write_metrics(cfg.metrics_dir or state_dir() / "metrics", cfg.school,
                                                    reg)
    except OSError as exc:  # the notice and the log matter more than the textfile
        where = exc.filename or cfg.metrics_dir or state_dir() / "metrics"
        result.problems.append(f"metrics not written: {where}: {exc.strerror or exc}")
    _notify(cfg, result, log)
    for problem in result.problems:
        logs.event(log, "run.warning", problem, cfg.school, level=logging.WARNING)
    logs.event(log, "run.end", f"{cfg.school}: exit {result.exit_status}, {regressions} regression(s), "
               f"{duration:.1f} s", cfg.school)


def _last_success(store: HistoryStore, school: str) -> float | None:
    """When the school's newest stored run (a signed report) ended, as Unix time: the same value
    after a failed run, so an alert on its age keeps working."""
    runs = store.runs(school=school, limit=1)
    if not runs:
        return None
    when = runs[0].finished_at or runs[0].started_at
    return when.replace(tzinfo=UTC).timestamp()


def _notify(cfg: ScheduleConfig, result: ScheduledResult, log: logging.Logger) -> None:
    if cfg.notify is None:
        return
    notice = notify.build_notice(cfg.school, result.report, result.bundle, result.failure)
    if notice is None:
        return
    try:
        settings = load_notify(cfg.notify)
    except AuditorError as exc:
        result.problems.append(f"notifications not sent: {exc}")
        return
    kind = "failure" if result.failure else "regression"
    failed = notify.deliver(settings, cfg.notify.parent, notice, kind)
    result.problems += [f"notice not delivered: {p}" for p in failed]
    if not failed:
        logs.event(log, "notify.sent", f"{kind} notice sent: {notice.subject}", cfg.school)
