"""What the report shows a reader first, computed from the recorded demo report: the assessor's
verdicts, the rolled-up issues in the order to fix them, and times in the school's zone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.reports import view
from tests.support.paths import DATA as TEST_DATA

DEMO = TEST_DATA / "reports" / "demo-report.json"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_bytes()))


def _ind(status: str, findings: list[str]) -> dict[str, Any]:
    return {"status": status, "findings": findings}


def test_assessor_verdicts_follow_the_evidence() -> None:
    by_id = {"p": {"status": "pass"}, "f": {"status": "fail"}, "e": {"status": "error"},
             "m": {"status": "manual"}}
    assert view.assessor_verdict(_ind("pass", ["p"]), by_id) == "met"
    assert view.assessor_verdict(_ind("fail", ["p", "f"]), by_id) == "partly_met"
    assert view.assessor_verdict(_ind("fail", ["f", "e"]), by_id) == "not_met"
    assert view.assessor_verdict(_ind("not_applicable", []), by_id) == "not_applicable"
    assert view.assessor_verdict(_ind("waived", ["f"]), by_id) == "waived"
    # never 符合 without the evidence: unmeasured and unattested items keep their own labels
    assert view.assessor_verdict(_ind("error", ["p", "e"]), by_id) == "not_measured"
    assert view.assessor_verdict(_ind("skipped", []), by_id) == "not_measured"
    assert view.assessor_verdict(_ind("manual", ["p", "m"]), by_id) == "awaiting_attestation"
    assert view.assessor_verdict(_ind("something new", ["p"]), by_id) == "not_measured"


def test_demo_has_partly_met_items_with_their_targets(report: dict[str, Any]) -> None:
    items = view.assessor_items(report, "zh")
    partly = [i for i in items if i["verdict"] == "partly_met"]
    assert partly, "the demo's device checks pass on some devices and fail on others"
    for i in partly:
        assert i["targets"].get("pass") and i["targets"].get("fail")
        assert i["clause"] and i["findings"]
    assert not [i for i in items if i["verdict"] == "met" and i["status"] != "pass"]


def test_every_finding_that_did_not_pass_is_in_exactly_one_issue(report: dict[str, Any]) -> None:
    issues = view.issues(report, "zh")
    shown = [f["id"] for i in issues for f in i["findings"]]
    not_passed = [f["id"] for f in report["findings"]
                  if f["status"] in {"fail", "error", "waived", "skipped"}]
    assert sorted(shown) == sorted(not_passed) and len(shown) == len(set(shown))
    rank = list(view.SEVERITY_ORDER)
    severities = [rank.index(i["severity"]) for i in issues]
    assert severities == sorted(severities)
    for i in issues:
        assert i["owner"] in view.OWNERS and i["effort"] in view.EFFORT_ORDER
        assert i["risk"] in {"high", "medium", "low"}


def test_a_device_that_was_not_audited_is_one_issue_not_one_per_check(report: dict[str, Any]) -> None:
    issues = view.issues(report, "en")
    unaudited = [i for i in issues if "not audited" in view.finding_text(i["findings"][0], "en")]
    assert len(unaudited) == 1
    (issue,) = unaudited
    assert len(issue["checks"]) >= 10 and len(issue["findings"]) == len(issue["checks"])
    # a measured failure is one issue per check, listing every device it was found on
    per_check = [i for i in issues if i["status"] == "fail"]
    assert len({i["check"] for i in per_check}) == len(per_check)
    assert any(len(i["targets"]) > 1 for i in per_check)


def test_fix_first_is_the_top_of_the_issues_and_links_to_findings(report: dict[str, Any]) -> None:
    first = view.fix_first(report, "zh")
    assert 1 <= len(first) <= view.FIX_FIRST
    assert first == view.issues(report, "zh")[:len(first)]
    assert all(i["findings"][0]["id"] == i["id"] for i in first)


def test_points_at_stake_come_from_the_scored_items(report: dict[str, Any]) -> None:
    issues = view.issues(report, "zh")
    room = next(i for i in issues if i["check"] == "bandwidth.classroom_goodput")
    assert room["points"] > 0
    device = [i for i in issues if i["check"].startswith("device.")]
    assert device and all(i["points"] == 0 for i in device)  # GB/T items carry no points


@pytest.mark.parametrize(("value", "zone", "shown"), [
    ("2026-12-06T23:44:24Z", "Asia/Shanghai", "2026-12-07 07:44:24 +08:00"),
    ("2026-12-07T07:44:24+08:00", "Asia/Shanghai", "2026-12-07 07:44:24 +08:00"),
    ("2026-07-01T12:00:00Z", "Asia/Urumqi", "2026-07-01 18:00:00 +06:00"),
    ("2026-12-05", "Asia/Shanghai", "2026-12-05"),  # a date stays a date
    ("2026-12-06T23:44:24", "Asia/Shanghai", "2026-12-06T23:44:24"),  # no zone: shown as written
    (None, "Asia/Shanghai", ""),
])
def test_times_are_shown_in_the_schools_zone_with_the_offset(value: Any, zone: str, shown: str) -> None:
    assert view.local_time(value, zone) == shown
