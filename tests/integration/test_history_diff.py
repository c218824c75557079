"""Run-to-run regressions (``auditor.history.diff``) on real signed bundles in a real store.

The planted regressions (``tests/history_bundles.regressed``) must be named exactly, and
nothing else; a run compared with an equal one, or with a better one, has no regressions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from auditor.history import HistoryStore, RunInfo
from auditor.history.diff import RunDiff, diff_runs
from auditor.signing import Ed25519Signer
from tests.support.history_bundles import BASE_TIME, CISCO_CONFIG, Synth, baseline, regressed

WEEK = timedelta(days=7)
ROOM101 = "classroom/room101/downstream"


def _pair(store: HistoryStore, root: Path, signer: Ed25519Signer, a: Synth,
          b: Synth) -> tuple[RunInfo, RunInfo]:
    return (store.ingest(a.write(root / "a", signer)).run, store.ingest(b.write(root / "b", signer)).run)


def _diff(store: HistoryStore, root: Path, signer: Ed25519Signer, a: Synth, b: Synth,
          drop_fraction: float = 0.10) -> RunDiff:
    run_a, run_b = _pair(store, root, signer, a, b)
    return diff_runs(store, run_a.run_id, run_b.run_id, drop_fraction)


def _named(d: RunDiff) -> set[tuple[str, str]]:
    return {(r.kind, r.subject) for r in d.regressions}


def _later(a: Synth, started_after: timedelta = WEEK) -> Synth:
    later = Synth(BASE_TIME + started_after, report=a.report)
    later.files = dict(a.files)
    return later


def test_planted_regressions_are_named_exactly(store: HistoryStore, signer: Ed25519Signer,
                                               tmp_path: Path) -> None:
    a = baseline()
    d = _diff(store, tmp_path, signer, a, regressed(a, BASE_TIME + WEEK))
    assert _named(d) == {
        ("finding", f"bandwidth.classroom_goodput {ROOM101}"),
        ("goodput_drop", ROOM101),
        ("open_port", "inside host/web tcp/23 (telnet)"),
        ("config_changed", "access-cisco"),
        ("finding", "device.config_changed device/access-cisco"),
        ("finding", "backup.fresh backup/student-db"),
    }
    assert len(d.regressions) == 6
    drop = d.goodput_drops[0]
    assert (drop.median_a, drop.median_b, drop.status_b) == (95.604, 60.0, "fail")
    assert round(drop.fraction, 3) == 0.372
    assert [(p.host, p.port, p.service) for p in d.ports_opened] == [("host/web", 23, "telnet")]
    assert d.fixed == [] and d.scores == [] and d.ports_closed == [] and d.unknown_hosts == []
    assert d.expired == [] and d.notes == []
    # the baseline profile's config item goes error -> fail: a change, not a regression
    assert [(i.indicator, i.status_a, i.status_b) for i in d.indicators] == [
        ("baseline.devices.config-changes", "error", "fail")]
    change = d.configs[0]
    assert change.why_no_diff is None and change.diff is not None
    added = [line for line in change.diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in change.diff if line.startswith("-") and not line.startswith("---")]
    assert added == ["+banner motd ^C changed by the integrator ^C"] and removed == []


def test_equal_runs_have_no_regressions(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    d = _diff(store, tmp_path, signer, a, _later(a))
    assert d.regressions == [] and d.findings == [] and d.indicators == [] and d.scores == []
    assert d.goodput_drops == [] and d.ports_opened == [] and d.configs == [] and d.expired == []


def test_improvements_are_not_regressions(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    b = _later(a)
    for direction in ("downstream", "upstream"):
        b.set_goodput(f"classroom/room103/{direction}", 95.0)
    b.remove_open_port("host/web", 23)
    b.set_finding("backup.fresh", "backup/oa-files", "pass", measured=5.0)
    b.set_group_score("beijing-smart-campus-2023", "smart-env.facilities", 0.5)
    d = _diff(store, tmp_path, signer, a, b)
    assert d.regressions == []
    assert {(f.check, f.target) for f in d.fixed} == {
        ("bandwidth.classroom_goodput", "classroom/room103/downstream"),
        ("bandwidth.classroom_goodput", "classroom/room103/upstream"),
        ("backup.fresh", "backup/oa-files")}
    assert [p.port for p in d.ports_closed] == [23]
    assert {(s.group_id, s.earned_a, s.earned_b) for s in d.scores} == {
        ("", 0.0, 0.5), ("smart-env.facilities", 0.0, 0.5)}


def test_goodput_drop_while_still_passing(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    b = _later(a).set_goodput("uplink/district/downstream", 920.0)  # -3.8 %, threshold 900
    run_a, run_b = _pair(store, tmp_path, signer, a, b)
    assert diff_runs(store, run_a, run_b).regressions == []  # within the default 10 %
    d = diff_runs(store, run_a, run_b, drop_fraction=0.03)
    assert _named(d) == {("goodput_drop", "uplink/district/downstream")}
    assert d.goodput_drops[0].status_b == "pass"
    assert "now pass" in d.regressions[0].detail


def test_invalid_goodput_is_not_compared(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    b = _later(a)
    b.fact(f"bandwidth.goodput:{ROOM101}")["data"]["valid"] = False
    b.fact(f"bandwidth.goodput:{ROOM101}")["data"]["median_mbps"] = 50.0
    d = _diff(store, tmp_path, signer, a, b)
    assert d.regressions == [] and any("flagged invalid" in n for n in d.notes)


def test_stricter_threshold_is_a_regression_that_says_so(store: HistoryStore, signer: Ed25519Signer,
                                                          tmp_path: Path) -> None:
    a = Synth()
    b = _later(a).set_threshold("bandwidth.classroom_goodput", ROOM101, 96.0)
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("finding", f"bandwidth.classroom_goodput {ROOM101}")}
    change = d.findings[0]
    assert change.criterion_changed and change.measured_a == change.measured_b == 95.604
    assert "threshold changed 90 → 96 Mbit/s" in d.regressions[0].detail
    assert d.goodput_drops == []  # the link did not get slower


def test_looser_threshold_is_listed_not_counted(store: HistoryStore, signer: Ed25519Signer,
                                                tmp_path: Path) -> None:
    a = Synth()
    b = _later(a).set_threshold("bandwidth.classroom_goodput", ROOM101, 80.0)
    d = _diff(store, tmp_path, signer, a, b)
    assert d.regressions == []
    assert [(f.kind, f.threshold_a, f.threshold_b) for f in d.findings] == [("threshold", 90.0, 80.0)]


def test_one_check_twice_with_different_thresholds_pairs_by_threshold(
        store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    """Two profiles asking for different thresholds give two findings on one target."""
    a = Synth()
    strict = {**a.finding("bandwidth.classroom_goodput", ROOM101), "threshold": 95.0}
    a.report["findings"].append(strict)
    b = _later(a)
    b.report["findings"][-1] = {**strict, "status": "fail", "measured": 94.0}  # the strict one fails
    b.fact(f"bandwidth.goodput:{ROOM101}")["data"]["median_mbps"] = 94.0
    b.finding("bandwidth.classroom_goodput", ROOM101)["measured"] = 94.0  # the 90 one still passes
    d = _diff(store, tmp_path, signer, a, b)
    assert [(f.kind, f.threshold_a, f.threshold_b) for f in d.findings] == [("regressed", 95.0, 95.0)]
    assert not d.findings[0].criterion_changed


def test_new_failures_and_gone_findings(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    a.report["findings"] = [f for f in a.report["findings"] if f["target"] != "area/gym"]
    b = _later(a)
    b.report["findings"] = [*b.report["findings"], {**b.finding("wifi.signal", "area/teach-301"),
                                                    "target": "area/gym", "status": "fail"}]
    b.report["findings"] = [f for f in b.report["findings"] if f["target"] != "area/office-205"]
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("new_failure", "wifi.signal area/gym")}
    gone = {(f.check, f.target) for f in d.findings if f.kind == "gone"}
    assert gone == {(c, "area/office-205") for c in ("wifi.signal", "wifi.band_5ghz", "wifi.security",
                                                    "wifi.rogue")}


def test_new_unknown_host_and_lost_points(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth().set_group_score("beijing-smart-campus-2023", "smart-env.facilities", 1.5)
    b = _later(a).add_unknown_host("10.200.40.0/24", "10.200.40.99", "02:ca:28:00:00:63")
    b.set_group_score("beijing-smart-campus-2023", "smart-env.facilities", 1.0)
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("unknown_host", "10.200.40.0/24 10.200.40.99"),
                         ("score", "beijing-smart-campus-2023 total"),
                         ("score", "beijing-smart-campus-2023 smart-env.facilities")}
    assert [h.mac for h in d.unknown_hosts] == ["02:ca:28:00:00:63"]  # .66 and .77 were there before


def test_indicator_that_stops_passing_is_a_regression(store: HistoryStore, signer: Ed25519Signer,
                                                      tmp_path: Path) -> None:
    a = Synth().set_indicator("campus-auditor-baseline", "baseline.devices.config-changes", "pass")
    b = _later(a).set_indicator("campus-auditor-baseline", "baseline.devices.config-changes", "manual")
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("indicator", "campus-auditor-baseline baseline.devices.config-changes")}


def test_attestations_and_waivers_that_expired_between_runs(store: HistoryStore, signer: Ed25519Signer,
                                                            tmp_path: Path) -> None:
    a = Synth()
    a.add_attestation("smart-env.facilities.3", "2026-09-05")  # expires between the runs
    a.add_attestation("smart-env.terminals.1", "2026-09-05")  # expires, but renewed
    a.add_attestation("smart-env.iot.1", "2027-07-31")  # still valid
    a.add_waiver("backup.offsite", "backup/*", "2026-08-01", "2026-09-03", in_force=True)
    a.add_waiver("wifi.signal", "area/gym", "2026-08-01", "2026-12-31", in_force=True)
    b = Synth(BASE_TIME + WEEK)
    b.add_attestation("smart-env.facilities.3", "2026-09-05", expired=True)
    b.add_attestation("smart-env.terminals.1", "2026-09-05", expired=True)
    b.add_attestation("smart-env.terminals.1", "2027-09-05")
    b.add_attestation("smart-env.iot.1", "2027-07-31")
    b.add_waiver("backup.offsite", "backup/*", "2026-08-01", "2026-09-03", in_force=False)
    b.add_waiver("wifi.signal", "area/gym", "2026-08-01", "2026-12-31", in_force=True)
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("attestation_expired", "smart-env.facilities.3 (by 王老师)"),
                         ("waiver_expired", "backup.offsite backup/*")}
    assert {e.expires.isoformat() for e in d.expired} == {"2026-09-05", "2026-09-03"}


def test_expiry_follows_the_later_runs_own_verdict(store: HistoryStore, signer: Ed25519Signer,
                                                   tmp_path: Path) -> None:
    """The agent judges expiry by its local date: 02:00 in Beijing on the 6th is still the 5th in
    UTC, yet an attestation that expired on the 5th no longer counted in that run."""
    a = Synth().add_attestation("smart-env.facilities.3", "2026-09-05")
    b = Synth(datetime.fromisoformat("2026-09-06T02:00:00+08:00"))
    b.add_attestation("smart-env.facilities.3", "2026-09-05", expired=True)
    d = _diff(store, tmp_path, signer, a, b)
    assert _named(d) == {("attestation_expired", "smart-env.facilities.3 (by 王老师)")}


def test_config_diff_needs_the_signed_files(store: HistoryStore, signer: Ed25519Signer,
                                            tmp_path: Path) -> None:
    a = Synth()
    b = _later(a).change_config("access-cisco", CISCO_CONFIG, "ntp server 10.200.20.3\n")
    run_a, run_b = _pair(store, tmp_path, signer, a, b)
    (Path(run_a.bundle_path) / CISCO_CONFIG).write_text("altered after ingest\n")
    d = diff_runs(store, run_a, run_b)
    change = d.configs[0]
    assert change.diff is None and "not the file the run signed" in (change.why_no_diff or "")
    assert ("config_changed", "access-cisco") in _named(d)
    (Path(run_a.bundle_path) / CISCO_CONFIG).unlink()
    assert "not readable" in (diff_runs(store, run_a, run_b).configs[0].why_no_diff or "")


def test_runs_not_comparable_are_noted(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth()
    b = _later(a)
    b.report["profiles"] = b.report["profiles"][:1]
    b.report["site"]["school"]["code"] = "HD-0002"
    run_a, run_b = _pair(store, tmp_path, signer, a, b)
    notes = diff_runs(store, run_b, run_a).notes
    assert any("different schools" in n for n in notes) and any("different profiles" in n for n in notes)
    assert any("started after" in n for n in notes)


def test_json_and_human_renderings(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = baseline()
    d = _diff(store, tmp_path, signer, a, regressed(a, BASE_TIME + WEEK))
    doc = json.loads(json.dumps(d.to_json(), ensure_ascii=False))
    assert len(doc["regressions"]) == 6 and doc["drop_fraction"] == 0.10
    assert doc["run_a"]["run_id"] == a.run_id
    assert "+banner motd" in doc["configs"][0]["diff"]
    console = Console(record=True, width=200)
    d.render(console)
    out = console.export_text()
    for text in ("Regressions", "goodput_drop", "-37%", "inside host/web tcp/23 (telnet)",
                 "configuration of access-cisco changed", "6 regression(s), 0 fixed."):
        assert text in out


@pytest.mark.parametrize("fraction", [0.5])
def test_drop_fraction_is_honoured(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path,
                                   fraction: float) -> None:
    a = baseline()
    d = _diff(store, tmp_path, signer, a, regressed(a, BASE_TIME + WEEK), drop_fraction=fraction)
    assert d.goodput_drops == []  # 37 % < 50 %
    assert ("finding", f"bandwidth.classroom_goodput {ROOM101}") in _named(d)
