"""The assessor's evidence index: every control point → verdict → checks → evidence files.

Built from the report itself (a pure function of the report's indicators, findings and
attestations), stored in the signed report as ``evidence_index`` and rendered as
``evidence-index.html``. An assessor follows any verdict to the findings that decided it, and
each finding to the exact files (with their digests) and configuration lines it relied on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.model import JsonDict


def _attestations_for(attestations: Iterable[JsonDict], profile: str, item: str) -> list[JsonDict]:
    out = []
    for att in attestations:
        target = str(att.get("target", ""))
        prof, _, ident = target.rpartition(":")
        if ident == item and prof in {"", profile}:
            out.append({"by": att["by"], "role": att["role"], "at": att["at"],
                        "expires": att.get("expires"), "expired": att.get("expired", False),
                        "record": att["record"],
                        "evidence": [e["artifact"] for e in att.get("evidence", [])]})
    return out


def build_evidence_index(report: JsonDict) -> list[JsonDict]:
    """One entry per evaluated item (GB/T 22239 control point or Beijing monitoring point)."""
    findings: dict[str, JsonDict] = {f["id"]: f for f in report.get("findings", []) if f.get("id")}
    attestations = report.get("attestations", [])
    index: list[JsonDict] = []
    for ind in report.get("indicators", []):
        ids = [i for i in ind.get("findings", []) if i in findings]
        artifacts: list[str] = []
        for fid in ids:
            for path in findings[fid].get("artifacts", []):
                if path not in artifacts:
                    artifacts.append(path)
        atts = _attestations_for(attestations, ind["profile"], ind["indicator"])
        index.append({
            "profile": ind["profile"], "item": ind["indicator"], "number": ind.get("number"),
            "path": ind.get("path", []), "title": ind["title"], "status": ind["status"],
            "verdict": ind.get("verdict"), "reason": ind.get("reason"),
            "checks": ind.get("checks", []), "manual": ind.get("manual", []),
            "findings": ids, "artifacts": artifacts, "attestations": atts,
        })
    return index


def artifact_table(report: JsonDict) -> dict[str, Any]:
    """Artifact path → its entry (path, sha256, sm3 when present, size, description)."""
    return {a["path"]: a for a in report.get("artifacts", [])}


def upgrade_report(report: JsonDict) -> JsonDict:
    """A report of schema 1.0 (no finding ids, no indicator → findings links) in 1.1's shape,
    so that older signed bundles can be rendered again. A copy; 1.1 reports come back as they are.

    Indicators of a 1.0 report are linked to every finding of their checks (1.0 did not record
    which parameter set decided an item, so this can over-link when two profiles ran one check
    with different thresholds).
    """
    findings = report.get("findings", [])
    if all(f.get("id") for f in findings) and all("findings" in i for i in report.get("indicators", [])):
        return report
    numbered = [{**f, "id": f.get("id") or f"F{n:04d}"} for n, f in enumerate(findings, start=1)]
    by_check: dict[str, list[str]] = {}
    for f in numbered:
        by_check.setdefault(f["check"], []).append(f["id"])
    indicators = [i if "findings" in i else
                  {**i, "findings": [fid for c in i.get("checks", []) for fid in by_check.get(c, [])]}
                  for i in report.get("indicators", [])]
    out = {**report, "findings": numbered, "indicators": indicators}
    out["evidence_index"] = build_evidence_index(out)
    return out
