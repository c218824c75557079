"""One audit run end to end: inventory + profiles → probes → checks → signed bundle."""

from __future__ import annotations

import asyncio
import json
import platform
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from auditor.attest import Attestation, authorisation_entry, load_store
from auditor.bundle import prepare_out_dir, select_renderers, staged_bundle, write_bundle
from auditor.context import RunContext
from auditor.engine import (
    Plan,
    RunOptions,
    TaskCallback,
    derive_indicators,
    evaluate_checks,
    execute,
    exit_status,
    make_plan,
    number_findings,
    score,
)
from auditor.evidence import EvidenceStore
from auditor.evidence_index import build_evidence_index
from auditor.inventory import LoadedInventory, audit_clock
from auditor.messages import both, define, english, msg
from auditor.model import Finding, IndicatorResult, JsonDict
from auditor.plugins import FactIndex, Plugins, RenderOptions
from auditor.profile import LoadedProfile
from auditor.remediation import change_scripts
from auditor.secrets import SecretResolver
from auditor.signing import Signer, signing_entry
from auditor.topology import build_topology
from auditor.waivers import apply_waivers, load_waivers, split_active

REPORT_SCHEMA = "campus-auditor/report"
REPORT_SCHEMA_VERSION = "1.2"  # 1.1: finding ids, indicator → findings, evidence_index; 1.2: monitoring

define({
    "runner.inventory_evidence": ("本次审计所用的资产清单（只含凭据引用）",
                                  "the site inventory this audit ran with (credential references only)"),
    "runner.attestation_evidence": ("{by}（{role}）对 {target} 的证明记录",
                                    "attestation of {target} by {by} ({role})"),
    "runner.attested_file": ("{target} 的证明材料 {name}", "evidence {name} for {target}"),
    "runner.change_script": ("{device} 的整改脚本（含回退命令；口令与密钥为待填占位符）",
                             "change script for {device} (with its rollback; passwords and keys are "
                             "placeholders to fill in)"),
}, recoverable=True)


def agent_version() -> str:
    try:
        return version("campus-auditor")
    except PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunResult:
    """What a run produced: the report document, where it is, and the exit status."""

    report: JsonDict
    out: Path
    exit_status: int
    findings: list[Finding] = field(default_factory=list)
    indicators: list[IndicatorResult] = field(default_factory=list)


def run_audit(
    inventory: LoadedInventory,
    profiles: Sequence[LoadedProfile],
    plugins: Plugins,
    signer: Signer,
    out: Path,
    options: RunOptions,
    on_event: TaskCallback = lambda _t, _e: None,
    on_plan: Callable[[Plan], None] = lambda _p: None,
    sm2_signer: Signer | None = None,
    before_sign: Callable[[JsonDict], JsonDict] | None = None,
) -> RunResult:
    """Plan, probe, check, sign. Input problems raise InputError before anything is probed.

    ``before_sign`` may add to the finished report before it is rendered and signed (the
    scheduled run adds the regressions since the previous comparable run).
    """
    select_renderers(plugins.renderers, options.formats)  # a bad --format fails before probing
    plan = make_plan(inventory.inventory, profiles, plugins, options)
    on_plan(plan)
    today = audit_clock(inventory.inventory, options.now).date()  # the stated clock (school's zone)
    atts = load_store(options.attestations) if options.attestations else []
    waiver_file = load_waivers(options.waivers) if options.waivers else None
    waivers, warnings = split_active(waiver_file.waivers if waiver_file else [], today)
    prepare_out_dir(out)
    secrets = SecretResolver(inventory.inventory.secrets_file)
    with staged_bundle(out, secrets) as staging:  # appears at out only when complete
        store = staging.store
        store.put("inventory/" + inventory.path.name, inventory.raw, "application/yaml",
                  english("runner.inventory_evidence"))
        authorisation = authorisation_entry(inventory, store, options.now)
        ctx = RunContext(inventory=inventory.inventory, evidence=store, secrets=secrets)
        started = _now()
        facts = asyncio.run(execute(plan, plugins, ctx, options.concurrency, on_event))
        findings_by_run = number_findings(
            {k: apply_waivers(v, waivers)
             for k, v in evaluate_checks(plan, plugins, inventory.inventory, facts).items()})
        attested = [a for _p, a in atts]
        indicators = derive_indicators(profiles, plan, findings_by_run, attested, today, waivers)
        scores = score(profiles, indicators, attested, today)
        findings = [f for fs in findings_by_run.values() for f in fs]
        status = exit_status(findings_by_run)
        attestation_json = _store_attestations(store, atts, options.attestations, today, profiles)
        report = _report(
            run_id=str(uuid.uuid4()), started=started, inventory=inventory, profiles=profiles,
            plan=plan, plugins=plugins, facts=facts, findings=findings, indicators=indicators,
            ctx=ctx, signer=signer, options=options, status=status,
        )
        if sm2_signer is not None:
            report["signing"]["sm2"] = signing_entry(sm2_signer)
        report["scores"] = [sc.to_json() for sc in scores]
        report["attestations"] = attestation_json
        report["waivers"] = [{**w.to_json(), "in_force": w in waivers}
                             for w in (waiver_file.waivers if waiver_file else [])]
        report["warnings"] = warnings + [f"attestation for {a['target']} by {a['by']} expired on "
                                         f"{a['expires']}: not counted" for a in attestation_json
                                         if a["expired"]]
        report["authorisation"] = authorisation
        report["remediation"] = _store_change_scripts(store, report)
        report["evidence_index"] = build_evidence_index(report)
        # The bandwidth trend of earlier runs: {} here; the history hook (before_sign, from
        # auditor.history.trend) fills it, so the signed report holds it.
        report["bandwidth_history"] = {}
        # The monitoring timeline: "not read" here; auditor run's hook (auditor.monitor.report_summary)
        # replaces it with what the agent's monitor measured before the audit, or why there is none.
        report["monitoring"] = {"status": "no_data", "reason": "not_read",
                                "text": both(msg("monitoring.not_read")), "window": None, "source": {}}
        if before_sign is not None:
            report = before_sign(report)
        report = _mask(report, secrets)
        renderers = select_renderers(plugins.renderers, options.formats)
        write_bundle(staging.dir, report, renderers, signer, RenderOptions(lang=options.lang), sm2=sm2_signer)
    return RunResult(report, out, status, findings, indicators)


def _store_attestations(store: EvidenceStore, atts: list[tuple[Path, Attestation]],
                        root: Path | None, today: date,
                        profiles: Sequence[LoadedProfile]) -> list[JsonDict]:
    """Copy attestation records and their evidence into the bundle; describe them."""
    out = []
    for path, att in atts:
        record = store.put(f"attestations/{path.name}", path.read_bytes(), "application/yaml",
                           english("runner.attestation_evidence", target=att.target, by=att.by,
                                   role=att.role))
        evidence = []
        for ev in att.evidence:
            assert root is not None
            copy = store.put(f"attestations/files/{ev.sha256[:16]}-{ev.name}",
                             (root / "files" / ev.sha256).read_bytes(), "application/octet-stream",
                             english("runner.attested_file", name=ev.name, target=att.target))
            evidence.append({"name": ev.name, "sha256": ev.sha256, "artifact": copy.path})
        known = any(lp.profile.item(att.target.split(":")[-1]) is not None
                    or any(g.id == att.target.split(":")[-1] for _p, g in lp.profile.walk_groups())
                    for lp in profiles)
        out.append({"target": att.target, "by": att.by, "role": att.role,
                    "at": att.at.isoformat(), "expires": att.expires.isoformat() if att.expires else None,
                    "note": att.note, "expired": att.expired(today), "applies_to_this_run": known,
                    "record": record.path, "evidence": evidence})
    return out


def _store_change_scripts(store: EvidenceStore, report: JsonDict) -> dict[str, str]:
    """One change script per device with a fixable failure (``remediation/<device>.txt``: the
    commands in its own syntax and their rollback, placeholders for every secret), listed and
    hashed with the evidence; device id → its path."""
    out = {}
    for device, script in sorted(change_scripts(report).items()):
        art = store.put(f"remediation/{device}.txt", script.encode("utf-8"), "text/plain",
                        english("runner.change_script", device=device))
        report["artifacts"].append(art.to_json())
        out[device] = art.path
    return out


def _mask(report: JsonDict, secrets: SecretResolver) -> JsonDict:
    """Belt and braces: no resolved credential may appear anywhere in the report."""
    text = json.dumps(report, ensure_ascii=False)
    masked = secrets.mask(text)
    return report if masked == text else dict(json.loads(masked))


def _report(
    *, run_id: str, started: str, inventory: LoadedInventory, profiles: Sequence[LoadedProfile],
    plan: Plan, plugins: Plugins, facts: FactIndex, findings: list[Finding],
    indicators: list[IndicatorResult], ctx: RunContext, signer: Signer, options: RunOptions,
    status: int,
) -> JsonDict:
    inv = inventory.inventory
    used_checks = sorted({run.check for run in plan.check_runs.values()})
    return {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_SCHEMA_VERSION,
        "run": {
            "id": run_id, "started_at": started, "finished_at": _now(),
            "agent": {"hostname": socket.gethostname(), "version": agent_version(),
                      "python": platform.python_version(), "platform": platform.platform()},
            "options": {"allow_class_hours": options.allow_class_hours,
                        "attestations": str(options.attestations) if options.attestations else None,
                        "waivers": str(options.waivers) if options.waivers else None,
                        "concurrency": options.concurrency,
                        "probe_overrides": {k: dict(v) for k, v in options.probe_overrides.items()},
                        "formats": list(options.formats), "lang": options.lang},
            "tool_versions": dict(sorted(ctx.tool_versions.items())),
        },
        "site": {
            "school": inv.school.model_dump(mode="json"),
            "scope": [str(n) for n in inv.scope.allow],
            "inventory_file": inventory.path.name,
            "inventory_sha256": inventory.sha256,
            **inv.report_site(),  # remediation deadlines and components, for report.xlsx/.docx, findings.csv
        },
        "profiles": [{"id": lp.profile.id, "title": lp.profile.title, "version": lp.profile.version,
                      "origin": lp.origin, "sha256": lp.sha256, "notes": lp.profile.notes}
                     for lp in profiles],
        "probe_settings": {k: v.model_dump(mode="json") for k, v in sorted(plan.settings.items())},
        "plan": [{"probe": p.task.probe, "target": p.task.target, "address": p.task.address,
                  "safety": p.task.safety.value,
                  "seconds": ctx.task_seconds.get(f"{p.task.probe} {p.task.target}"),
                  "refused": p.refusal[1] if p.refusal else None} for p in plan.tasks],
        "facts": [f.to_json() for f in sorted(facts, key=lambda f: f.id)],
        "checks": [plugins.checks.get(c).meta.to_json() for c in used_checks],
        "tailoring": [t.model_dump(mode="json") for t in inv.tailoring],
        "findings": [f.to_json() for f in findings],
        "indicators": [i.to_json() for i in indicators],
        "summary": {"findings": dict(sorted(Counter(f.status.value for f in findings).items())),
                    "indicators": dict(sorted(Counter(i.status.value for i in indicators).items())),
                    "exit_status": status},
        "topology": build_topology(inv, facts),
        "ssh_host_keys": ctx.shared["known-hosts"].summary() if "known-hosts" in ctx.shared else None,
        "artifacts": [a.to_json() for a in ctx.evidence.artifacts],
        "signing": signing_entry(signer),
    }
