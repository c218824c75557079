"""Synthetic signed report bundles for the history tests and ``bench/history_bench.py``.

The template is the demo school's real report (``tests/data/history/demo-report.json.gz``, a
copy of one ``scripts/demo.sh`` run). ``Synth`` edits it the way a later run would differ (a
slower classroom, a new open port, a changed configuration, a failed check...), keeping the
edited facts, findings and summary consistent, and writes a bundle that ``auditor verify``
accepts: every artifact the report lists is written (the device configurations as recorded,
the other evidence as filler of the recorded size), and it is signed with ``write_bundle``.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from auditor.bundle import write_bundle
from auditor.signing import Ed25519Signer
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "history"
BASE_TIME = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
CISCO_CONFIG = "evidence/devices/access-cisco/show-running-config.txt"


@cache
def _template_text() -> bytes:
    return gzip.decompress((DATA / "demo-report.json.gz").read_bytes())


def template() -> dict[str, Any]:
    """A fresh copy of the demo report."""
    return dict(json.loads(_template_text()))


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Synth:
    """One synthetic run: the demo report, edited."""

    def __init__(self, started: datetime = BASE_TIME, run_id: str | None = None,
                 report: dict[str, Any] | None = None) -> None:
        self.report = copy.deepcopy(report) if report is not None else template()
        self.files: dict[str, bytes] = {}
        run = self.report["run"]
        run["id"] = run_id or str(uuid.uuid4())
        run["started_at"] = _iso(started)
        run["finished_at"] = _iso(started + timedelta(minutes=3))

    @property
    def run_id(self) -> str:
        return str(self.report["run"]["id"])

    # -- lookups ---------------------------------------------------------------------------

    def fact(self, fact_id: str) -> dict[str, Any]:
        return next(f for f in self.report["facts"] if f["id"] == fact_id)

    def finding(self, check: str, target: str) -> dict[str, Any]:
        return next(f for f in self.report["findings"] if f["check"] == check and f["target"] == target)

    # -- edits -----------------------------------------------------------------------------

    def set_finding(self, check: str, target: str, status: str, message: str | None = None,
                    measured: float | None = None) -> Synth:
        f = self.finding(check, target)
        f["status"] = status
        if measured is not None:
            f["measured"] = measured
        f["message"] = message or f"{target}: {status} (synthetic)"
        return self

    def set_goodput(self, subject: str, mbps: float) -> Synth:
        """Every run of a link measured at ``mbps``; its finding judged against its threshold."""
        data = self.fact(f"bandwidth.goodput:{subject}")["data"]
        data.update(median_mbps=mbps, min_mbps=mbps, max_mbps=mbps)
        for run in data["runs"]:
            run["goodput_mbps"] = mbps
        for f in self.report["findings"]:
            if f["target"] == subject and f["check"].startswith("bandwidth."):
                ok = mbps >= f["threshold"]
                self.set_finding(f["check"], subject, "pass" if ok else "fail",
                                 f"{subject}: median goodput {mbps:g} Mbit/s {'≥' if ok else '<'} "
                                 f"{f['threshold']:g} Mbit/s", measured=mbps)
        return self

    def set_threshold(self, check: str, target: str, threshold: float) -> Synth:
        f = self.finding(check, target)
        f["threshold"] = threshold
        if f["measured"] is not None:
            f["status"] = "pass" if f["measured"] >= threshold else "fail"
        return self

    def remove_open_port(self, host: str, port: int) -> Synth:
        data = self.fact(f"services.ports:{host}")["data"]
        data["open"] = [p for p in data["open"] if p["port"] != port]
        for p in data["scanned"]:
            if p["port"] == port and p["proto"] == "tcp":
                p["state"] = "closed"
        return self

    def add_open_port(self, host: str, port: int, service: str) -> Synth:
        data = self.fact(f"services.ports:{host}")["data"]
        data["open"].append({"method": "table", "port": port, "product": None, "proto": "tcp",
                             "service": service, "version": None})
        for p in data["scanned"]:
            if p["port"] == port and p["proto"] == "tcp":
                p["state"] = "open"
        return self

    def change_config(self, device: str, path: str, extra: str) -> Synth:
        """Append lines to a device's masked configuration; ``device.config_changed`` fails."""
        old = (self.files.get(path) or (DATA / path).read_bytes()).decode()
        body, end, _rest = old.rpartition("\nend")
        new = (body + "\n" + extra.rstrip("\n") + end + _rest if end else old + "\n" + extra).encode()
        self.files[path] = new
        data = self.fact(f"device.config:device/{device}")["data"]
        previous = data["config_sha256"]
        data.update(config_sha256=hashlib.sha256(new).hexdigest(), previous_sha256=previous, changed=True)
        return self.set_finding("device.config_changed", f"device/{device}", "fail",
                                f"{device}: configuration changed since the last audit")

    def add_unknown_host(self, segment: str, ip: str, mac: str) -> Synth:
        target = f"segment/{segment}"
        self.fact(f"discovery.hosts:{target}")["data"]["hosts"].append({"ip": ip, "mac": mac, "vendor": None})
        f = self.finding("discovery.unknown_hosts", target)
        f["lines"] = [*f["lines"], f"{ip} {mac}"]
        f["measured"] = float(len(f["lines"]))
        f["status"] = "fail"
        return self

    def add_attestation(self, target: str, expires: str | None, expired: bool = False) -> Synth:
        self.report["attestations"].append({
            "target": target, "by": "王老师", "role": "信息中心主任", "at": "2026-01-05T08:00:00+00:00",
            "expires": expires, "note": None, "expired": expired, "applies_to_this_run": True,
            "record": f"evidence/attestations/{target}.yaml", "evidence": []})
        return self

    def add_waiver(self, check: str, target: str, start: str, expires: str, in_force: bool) -> Synth:
        self.report["waivers"].append({
            "check": check, "target": target, "item": None, "reason": "replacement ordered",
            "approver": "校长", "start": start, "expires": expires, "risk": "medium", "in_force": in_force})
        return self

    def set_indicator(self, profile: str, indicator: str, status: str) -> Synth:
        item = next(i for i in self.report["indicators"]
                    if i["profile"] == profile and i["indicator"] == indicator)
        item["status"] = status
        return self

    def set_group_score(self, profile: str, group_id: str, earned: float) -> Synth:
        score = next(s for s in self.report["scores"] if s["profile"] == profile)
        stack = list(score["groups"])
        while stack:
            group = stack.pop()
            if group["id"] == group_id:
                delta = earned - group["earned"]
                group.update(earned=earned, lost=group["points"] - earned)
                score["total"] += delta
                return self
            stack += group["groups"]
        raise KeyError(group_id)

    # -- writing ---------------------------------------------------------------------------

    def write(self, out: Path, signer: Ed25519Signer, link_from: Path | None = None) -> Path:
        """Write the signed bundle to ``out`` (created). With ``link_from`` (a bundle written by
        this class from the same template), unedited evidence is hard-linked from there."""
        out.mkdir(parents=True)
        report = self.report
        for artifact in report["artifacts"]:
            self._evidence(out, artifact, link_from)
        report["summary"]["findings"] = dict(sorted(Counter(f["status"] for f in report["findings"]).items()))
        report["signing"] = {"algorithm": "ed25519", "key_fingerprint": signer.keyid,
                             "public_key_pem": signer.public_key_pem().decode()}
        write_bundle(out, report, [], signer)
        return out

    def _evidence(self, out: Path, artifact: dict[str, Any], link_from: Path | None) -> None:
        rel = artifact["path"]
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if link_from is not None and rel not in self.files and (link_from / rel).is_file():
            os.link(link_from / rel, target)
            artifact.update(sha256=_digest_of(link_from / rel), size=target.stat().st_size)
            return
        data = self.files.get(rel) or _recorded(rel, int(artifact["size"]))
        target.write_bytes(data)
        artifact.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


@cache
def _digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def _recorded(rel: str, size: int) -> bytes:
    """The recorded file where the template ships it, else filler of the recorded size."""
    shipped = DATA / rel
    if shipped.is_file():
        return shipped.read_bytes()
    line = f"synthetic evidence standing in for {rel}\n".encode()
    return (line * (size // len(line) + 1))[:size]


def baseline(started: datetime = BASE_TIME) -> Synth:
    """The demo report without the web server's telnet port (so a later run can open it)."""
    return Synth(started).remove_open_port("host/web", 23)


def regressed(base: Synth, started: datetime) -> Synth:
    """The four planted regressions the diff tests expect, on top of ``base``: classroom 101's
    downstream goodput down to 60 Mbit/s (now failing), telnet newly open on the web server,
    access-cisco's configuration changed (``device.config_changed`` fails, and the baseline
    profile's item goes from error to fail), and student-db's backup no longer fresh."""
    later = Synth(started, report=base.report)
    later.files = dict(base.files)
    later.set_goodput("classroom/room101/downstream", 60.0)
    later.add_open_port("host/web", 23, "telnet")
    later.change_config("access-cisco", CISCO_CONFIG, "banner motd ^C changed by the integrator ^C\n")
    later.set_indicator("campus-auditor-baseline", "baseline.devices.config-changes", "fail")
    later.set_finding("backup.fresh", "backup/student-db", "fail", "student-db: newest dump 40 h old",
                      measured=40.0)
    return later

