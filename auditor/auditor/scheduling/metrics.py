"""Prometheus metrics of a run, as a node_exporter textfile-collector file.

Written with prometheus_client's own text exposition (``write_to_textfile`` writes a temporary
file and renames it, so node_exporter never reads half a file).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from auditor.facts import FactKind


def registry_for(report: dict[str, Any] | None, school: str, duration_s: float, exit_status: int,
                 regressions: int, last_success: float | None) -> CollectorRegistry:
    """The metrics of one run (``report`` None when the run failed before writing one)."""
    reg = CollectorRegistry()
    labels = {"school": school}
    Gauge("campus_auditor_run_duration_seconds", "Wall time of the last audit run", ["school"],
          registry=reg).labels(**labels).set(duration_s)
    Gauge("campus_auditor_last_run_exit_status", "Exit status of the last run (0 all passed, 1 "
          "findings, 2 input, 3 internal)", ["school"], registry=reg).labels(**labels).set(exit_status)
    Gauge("campus_auditor_last_run_timestamp_seconds", "When the last run ended (Unix time)",
          ["school"], registry=reg).labels(**labels).set(time.time())
    if last_success is not None:
        Gauge("campus_auditor_last_success_timestamp_seconds", "When a run last produced a signed "
              "report (Unix time)", ["school"], registry=reg).labels(**labels).set(last_success)
    Gauge("campus_auditor_regressions", "Regressions since the previous comparable run", ["school"],
          registry=reg).labels(**labels).set(regressions)
    if report is not None:
        _report_metrics(reg, report, school)
    return reg


def _report_metrics(reg: CollectorRegistry, report: dict[str, Any], school: str) -> None:
    score = Gauge("campus_auditor_score_points", "Points earned per point-scored profile",
                  ["school", "profile"], registry=reg)
    possible = Gauge("campus_auditor_score_possible_points", "Points possible per profile",
                     ["school", "profile"], registry=reg)
    for sc in report.get("scores", []):
        score.labels(school, sc["profile"]).set(sc["total"])
        possible.labels(school, sc["profile"]).set(sc["possible"])
    items = Gauge("campus_auditor_items", "Profile items by status", ["school", "profile", "status"],
                  registry=reg)
    by_item = Counter((i["profile"], i["status"]) for i in report.get("indicators", []))
    for (profile, status), n in by_item.items():
        items.labels(school, profile, status).set(n)
    findings = Gauge("campus_auditor_findings", "Findings by status and severity",
                     ["school", "status", "severity"], registry=reg)
    by_finding = Counter((f["status"], f["severity"]) for f in report.get("findings", []))
    for (status, severity), n in by_finding.items():
        findings.labels(school, status, severity).set(n)
    goodput = Gauge("campus_auditor_goodput_mbps", "Median goodput per link and direction (Mbit/s)",
                    ["school", "link", "direction"], registry=reg)
    for fact in report.get("facts", []):
        if fact.get("kind") == FactKind.BANDWIDTH_GOODPUT and fact.get("status") == "ok":
            subject = fact["subject"].rsplit("/", 1)
            goodput.labels(school, subject[0], subject[-1]).set(fact["data"]["median_mbps"])


def write_metrics(directory: Path, school: str, reg: CollectorRegistry) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"campus_auditor_{school.replace('-', '_').replace('.', '_')}.prom"
    write_to_textfile(str(path), reg)
    return path
