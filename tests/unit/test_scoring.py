"""Scoring worked examples, computed by hand from the rule text of the mini profile.

Mini profile: 智能环境 (4) = 高性能设施环境 (2; 3 items; 缺1项扣0.5分；都不符合得0分) +
安全 (2; 2 items; 缺1项扣1分); 应用融合创新* (3) = 教学 (3; 3 items; 缺1项扣1分), whose
override (an award) earns the dimension's full points.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from auditor.attest import Attestation
from auditor.model import Finding, IndicatorResult, Severity, Status
from auditor.profile import load_profile
from auditor.scoring import ItemInputs, ProfileScore, evaluate_item, score_profile, valid_attestations
from tests.support.paths import DATA as TEST_DATA

PROFILE = load_profile(str(TEST_DATA / "profiles/mini-scored.yaml")).profile
TODAY = date(2026, 11, 23)
ALL = [item.id for _c, item in PROFILE.walk_items()]


def att(target: str, expires: date | None = None) -> Attestation:
    return Attestation.model_validate({
        "schema": 1, "target": target, "by": "王老师", "role": "信息中心主任",
        "at": datetime(2026, 11, 1, tzinfo=UTC), "expires": expires,
        "evidence": [{"name": "a.pdf", "sha256": "0" * 64, "size": 1}]})


def finding(status: Status) -> Finding:
    return Finding("bandwidth.classroom_goodput", "classroom/r1/downstream", status,
                   Severity.MEDIUM, "m", 95.0, 90.0, "Mbit/s")


def run(attested: list[str], net1: Status = Status.PASS, weakened: tuple[str, ...] = (),
        extra: list[Attestation] | None = None) -> tuple[ProfileScore, dict[str, IndicatorResult]]:
    atts = [att(t) for t in attested] + (extra or [])
    results = {}
    for chain, item in PROFILE.walk_items():
        inputs = ItemInputs(
            findings=[finding(net1)] if item.checks else [], weakened=weakened if item.checks else (),
            attestations=valid_attestations(atts, PROFILE.id, item.id, TODAY))
        results[item.id] = evaluate_item(PROFILE, chain, item, inputs)
    overrides = {"apps": valid_attestations(atts, PROFILE.id, "apps", TODAY)}
    scored = score_profile(PROFILE, list(results.values()), overrides)
    assert scored is not None
    return scored, results


def points(scored: ProfileScore) -> dict[str, float]:
    out = {}
    for top in scored.groups:
        out[top.id] = top.earned
        for sub in top.children:
            out[sub.id] = sub.earned
    return out


def test_full_marks() -> None:
    scored, results = run([i for i in ALL if i != "env.net.1"])
    assert scored.total == 7 and scored.possible == 7
    assert results["env.net.1"].status is Status.PASS
    assert results["env.net.2"].status is Status.PASS and results["env.net.2"].attested_by


def test_one_item_missing_costs_its_deduction() -> None:
    scored, results = run([i for i in ALL if i not in {"env.net.1", "env.net.3"}])
    assert results["env.net.3"].status is Status.MANUAL
    assert points(scored)["env.net"] == 1.5  # 2 - 0.5
    lost = scored.groups[0].children[0].lost
    assert [x["item"] for x in lost] == ["env.net.3"]
    assert scored.total == 6.5


def test_all_missing_earns_zero_not_the_remainder() -> None:
    # 3 items x 0.5 = 1.5 < 2 points, but "都不符合得0分" makes it 0, not 0.5.
    scored, _ = run([i for i in ALL if not i.startswith("env.net")], net1=Status.FAIL)
    assert points(scored)["env.net"] == 0
    assert scored.total == 5


def test_measured_failure_is_not_rescued_by_an_attestation() -> None:
    scored, results = run(ALL, net1=Status.FAIL)  # env.net.1 attested too
    assert results["env.net.1"].status is Status.FAIL
    assert points(scored)["env.net"] == 1.5


def test_error_counts_as_missing() -> None:
    scored, results = run([i for i in ALL if i != "env.net.1"], net1=Status.ERROR)
    assert results["env.net.1"].status is Status.ERROR
    assert points(scored)["env.net"] == 1.5


def test_star_override_earns_full_points() -> None:
    without, _ = run([i for i in ALL if i.startswith("env.") and i != "env.net.1"])
    assert points(without)["apps"] == 0
    scored, _ = run([i for i in ALL if i.startswith("env.") and i != "env.net.1"] + ["apps"])
    assert points(scored)["apps"] == 3 and scored.total == 7
    assert scored.groups[1].override and "王老师" in scored.groups[1].override


def test_expired_attestation_does_not_count() -> None:
    others = [i for i in ALL if i not in {"env.net.1", "env.safe.2"}]
    expired = att("mini-scored:env.safe.2", expires=date(2026, 10, 31))
    scored, results = run(others, extra=[expired])
    assert results["env.safe.2"].status is Status.MANUAL
    assert points(scored)["env.safe"] == 1
    current = att("mini-scored:env.safe.2", expires=date(2026, 11, 23))  # counts on its last day
    scored, _ = run(others, extra=[current])
    assert points(scored)["env.safe"] == 2


def test_waived_failure_is_shown_waived_and_still_loses_points() -> None:
    waived = Finding("bandwidth.classroom_goodput", "classroom/r1/downstream", Status.WAIVED,
                     Severity.MEDIUM, "m", 40.0, 90.0, "Mbit/s", original_status=Status.FAIL)
    chain, item = next((c, i) for c, i in PROFILE.walk_items() if i.id == "env.net.1")
    result = evaluate_item(PROFILE, chain, item, ItemInputs(findings=[waived]))
    assert result.status is Status.WAIVED
    assert waived.to_json()["original_status"] == "fail"


def test_weakened_threshold_fails_the_item() -> None:
    scored, results = run([i for i in ALL if i != "env.net.1"],
                          weakened=("bandwidth.classroom_goodput min_mbps=50 (requires ≥ 90)",))
    assert results["env.net.1"].status is Status.FAIL
    assert "threshold weakened below what the standard requires" in results["env.net.1"].reason
    assert points(scored)["env.net"] == 1.5


@pytest.mark.parametrize("rule", ["符合1、2、3项得2分。缺1项扣0.5分；都不符合得0分。"])
def test_rule_text_is_kept(rule: str) -> None:
    assert PROFILE.groups[0].groups[0].rule == rule


def _beijing(attested: set[str], measured: Status, overrides: set[str] = frozenset()) -> ProfileScore:
    prof = load_profile("beijing-smart-campus-2023").profile
    atts = [att(f"beijing-smart-campus-2023:{t}") for t in attested | overrides]
    results = []
    for chain, item in prof.walk_items():
        status = measured if item.id == "smart-env.facilities.1" else Status.PASS
        inputs = ItemInputs(findings=[finding(status)] if item.checks else [],
                            attestations=valid_attestations(atts, prof.id, item.id, TODAY))
        results.append(evaluate_item(prof, chain, item, inputs))
    over = {g.id: valid_attestations(atts, prof.id, g.id, TODAY)
            for _p, g in prof.walk_groups() if g.override_rule}
    scored = score_profile(prof, results, over)
    assert scored is not None
    return scored


def test_beijing_worked_examples() -> None:
    prof = load_profile("beijing-smart-campus-2023").profile
    every = {i.id for _c, i in prof.walk_items()}
    # everything met: 100
    assert _beijing(every, Status.PASS).total == 100
    # 高性能设施环境 item 3 missing: 缺1项扣0.5分 -> 99.5
    assert _beijing(every - {"smart-env.facilities.3"}, Status.PASS).total == 99.5
    # measured item 1 fails although attested: the same 0.5 is lost
    assert _beijing(every, Status.FAIL).total == 99.5
    # 智慧安全 (2 items, 缺1项扣1分) both missing: 0 of its 2 -> 98
    assert _beijing(every - {"smart-env.safety.1", "smart-env.safety.2"}, Status.PASS).total == 98
    # 应用融合创新* with nothing met loses 20, unless its override is attested
    app_items = {i for i in every if i.startswith("app-innovation.")}
    assert _beijing(every - app_items, Status.PASS).total == 80
    assert _beijing(every - app_items, Status.PASS, {"app-innovation"}).total == 100
    # 前沿探索: no formula written, one point: all or nothing -> 98
    assert _beijing(every - {"distinction.frontier.1"}, Status.PASS).total == 98
    # 安全系统建设 item 1 attested, but its scan found risky services: the item fails
    prof = load_profile("beijing-smart-campus-2023").profile
    chain, item = next((c, i) for c, i in prof.walk_items() if i.id == "infosec.systems.1")
    scanned = evaluate_item(prof, chain, item, ItemInputs(
        findings=[finding(Status.FAIL)], attestations=[att("infosec.systems.1")]))
    assert scanned.status is Status.FAIL


def test_item_waiver_shows_waived_keeps_real_status_and_never_passes() -> None:
    from auditor.waivers import Waiver

    waiver = Waiver.model_validate({"item": "mini-scored:env.safe.2", "reason": "演练推迟",
                                    "approver": "张校长", "start": "2026-01-01",
                                    "expires": "2026-12-31", "risk": "low"})
    chain, item = next((c, i) for c, i in PROFILE.walk_items() if i.id == "env.safe.2")
    waived = evaluate_item(PROFILE, chain, item, ItemInputs(waiver=waiver))
    assert waived.status is Status.WAIVED
    assert "real status manual" in waived.reason and "张校长" in waived.reason
    passing = evaluate_item(PROFILE, chain, item, ItemInputs(attestations=[att("env.safe.2")],
                                                             waiver=waiver))
    assert passing.status is Status.PASS  # nothing to waive
    results = {i.id: evaluate_item(PROFILE, c, i, ItemInputs(
        attestations=[att(i.id)] if i.id != "env.safe.2" else [], waiver=waiver,
        findings=[finding(Status.PASS)] if i.checks else [])) for c, i in PROFILE.walk_items()}
    scored = score_profile(PROFILE, list(results.values()), {})
    assert scored is not None and points(scored)["env.safe"] == 1  # the waived item still costs 1


def test_a_check_asking_for_an_attestation_is_satisfied_by_one() -> None:
    """A finding with status ``manual`` (e.g. no restore-test record declared) is not a pass:
    the item needs an attestation, and a valid one satisfies it."""
    measured = next((c, i) for c, i in PROFILE.walk_items() if i.checks)
    chain, item = measured
    manual = Finding("backup.restore_tested", "backup/db", Status.MANUAL, Severity.MEDIUM,
                     "no restore-test record declared")
    without = evaluate_item(PROFILE, chain, item, ItemInputs(findings=[finding(Status.PASS), manual]))
    assert without.status is Status.MANUAL
    assert "no restore-test record declared" in without.reason
    atts = valid_attestations([att(item.id)], PROFILE.id, item.id, TODAY)
    with_att = evaluate_item(PROFILE, chain, item,
                             ItemInputs(findings=[finding(Status.PASS), manual], attestations=atts))
    assert with_att.status is Status.PASS and "attested by" in with_att.reason
    failing = evaluate_item(PROFILE, chain, item,
                            ItemInputs(findings=[finding(Status.FAIL), manual], attestations=atts))
    assert failing.status is Status.FAIL  # an attestation never rescues a measured failure


def test_split_separates_measured_losses_from_pending_attestations() -> None:
    # Nothing attested and 千兆进校 failed: 0 points, but only its 0.5 is lost to a measurement.
    scored, _ = run([], net1=Status.FAIL)
    assert scored.total == 0 and scored.split is not None
    assert (scored.split.lost_measured, scored.split.pending_attestation,
            scored.split.not_measured, scored.split.attainable) == (0.5, 6.5, 0, 7)
    env = scored.to_json()["groups"][0]
    assert (env["lost_measured"], env["pending_attestation"], env["attainable"]) == (0.5, 3.5, 4)


def test_split_counts_an_unmeasured_item_apart_and_never_as_attainable() -> None:
    scored, _ = run([], net1=Status.ERROR)
    assert scored.split is not None
    assert (scored.split.lost_measured, scored.split.pending_attestation,
            scored.split.not_measured, scored.split.attainable) == (0, 6.5, 0.5, 6.5)
    js = scored.to_json()
    assert js["lost_measured"] == 0 and js["pending_attestation"] == 6.5


def test_split_of_a_full_score_is_all_zero() -> None:
    scored, _ = run([i for i in ALL if i != "env.net.1"])
    assert scored.split is not None and scored.total == 7
    assert (scored.split.lost_measured, scored.split.pending_attestation,
            scored.split.not_measured, scored.split.attainable) == (0, 0, 0, 7)
