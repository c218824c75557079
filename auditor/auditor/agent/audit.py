"""Running a district job as a local audit, on the school's own terms.

The audit uses this school's inventory, credentials, signing keys and attestations; the district
only names profiles and a time window. Bandwidth tests during lessons: a job asking for them
(``allow_class_hours``) gets them only when this agent's own configuration allows it. Otherwise,
when the job's window reaches past the next free window, the job is deferred to it; when it does
not, the audit runs now and the engine defers the bandwidth tests (reported as skipped, with the
next free window), as it does for any audit in class hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.agent.config import AgentConfig
from auditor.errors import AuditorError
from auditor.wire.errors import AgentError


@dataclass(frozen=True)
class Decision:
    refusal: str | None = None
    run_at: datetime | None = None
    why: str | None = None
    allow_class_hours: bool = False


def _refusal(config: AgentConfig, job: dict[str, Any]) -> str | None:
    if config.inventory is None:
        return "this agent has no inventory configured (agent.yaml: inventory)"
    refused = [
        p for p in job.get("profiles") or [] if config.profiles is not None and p not in config.profiles
    ]
    if refused:
        return f"this school's agent does not run {', '.join(refused)} for the district"
    return None


def plan_job(config: AgentConfig, job: dict[str, Any], now: datetime) -> Decision:
    """Run now (and whether bandwidth tests may run in lessons), defer, or refuse the job."""
    from auditor.inventory import load_inventory  # noqa: PLC0415
    from auditor.timetable import in_class_hours, next_free_window  # noqa: PLC0415

    refusal = _refusal(config, job)
    if refusal or config.inventory is None:
        return Decision(refusal=refusal)
    allow = bool(job.get("allow_class_hours")) and config.allow_class_hours
    try:
        inventory = load_inventory(config.inventory).inventory
        period = in_class_hours(inventory.schedule, now)
    except AuditorError as exc:  # an inventory error is the school's to fix: report it, do not crash
        return Decision(refusal=f"inventory: {exc}")
    if inventory.school.code != config.member:
        return Decision(
            refusal=f"the inventory is of school {inventory.school.code}, but this agent is "
            f"enrolled as {config.member}"
        )
    if period is None or allow:
        return Decision(allow_class_hours=allow)
    end = _time(job.get("not_after"))
    free = next_free_window(inventory.schedule, now)
    if end is not None and free is not None and free <= end:
        return Decision(run_at=free, why=f"class hours ({period}); deferred to the next free window")
    return Decision(allow_class_hours=False)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # the server speaks UTC


def run_job(config: AgentConfig, job: dict[str, Any], work: Path, allow_class_hours: bool) -> Path:
    """Run the audit the job asks for; returns the signed bundle directory."""
    from auditor.engine import RunOptions, check_probe_setting  # noqa: PLC0415
    from auditor.inventory import check_authorisation, load_inventory  # noqa: PLC0415
    from auditor.plugins import load_plugins  # noqa: PLC0415
    from auditor.profile import load_profile  # noqa: PLC0415
    from auditor.runner import run_audit  # noqa: PLC0415
    from auditor.signing import load_signer  # noqa: PLC0415
    from auditor.smcrypto import load_sm2_signer  # noqa: PLC0415

    if config.inventory is None:
        raise AgentError("this agent has no inventory configured")
    inventory = load_inventory(config.inventory)
    check_authorisation(inventory)  # the district's job does not replace the school's permission
    profiles = [load_profile(name) for name in job["profiles"]]
    plugins = load_plugins()
    for probe, settings in config.probe_overrides.items():  # a misspelt override is never ignored
        for key, value in settings.items():
            check_probe_setting(plugins, probe, key, value, f"agent.yaml probe_overrides.{probe}.{key}")
    options = RunOptions(
        allow_class_hours=allow_class_hours,
        concurrency=config.concurrency,
        probe_overrides=config.probe_overrides,
        attestations=config.attestations,
        formats=tuple(config.formats),
    )
    out = work / "bundle"
    work.mkdir(parents=True, exist_ok=True)
    run_audit(
        inventory,
        profiles,
        plugins,
        load_signer(config.key_dir),
        out,
        options,
        sm2_signer=load_sm2_signer(config.key_dir),
    )
    return out
