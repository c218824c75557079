"""The district's school states as alert evaluations: the state's rule fires, the others clear."""

from __future__ import annotations

from auditor.alerts.monitoring import RULES, evaluations
from auditor.district.monitoring import MonRow


def test_each_state_fires_its_rule_and_clears_the_others() -> None:
    rows = [MonRow("A", "甲校", "海淀区", state="down", why="every reach probe lost in the last 15 min"),
            MonRow("B", "乙校", "", state="live")]
    got = {(e.rule, e.subject): e for e in evaluations(rows, "https://d.example.cn")}
    assert len(got) == 2 * len(RULES)
    assert got[("school-down", "A")].firing and "甲校（A）断网" in got[("school-down", "A")].text
    assert got[("school-down", "A")].link == "https://d.example.cn/dashboard/monitoring/schools/A"
    assert got[("school-down", "A")].district == "海淀区" and got[("school-down", "B")].district is None
    assert not any(e.firing for (rule, code), e in got.items() if code == "B" or rule != "school-down")


def test_only_the_rules_the_alerts_file_defines_are_evaluated() -> None:
    rows = [MonRow("A", "甲校", "", state="silent", why="no heartbeat yet")]
    assert [e.rule for e in evaluations(rows, rules=["school-silent"])] == ["school-silent"]
    assert evaluations(rows, rules=[]) == []


def test_a_school_that_stops_reporting_probes_does_not_recover() -> None:
    """A down school whose agent then goes silent (or measures nothing): no evaluation of
    school-down or school-degraded, so the engine keeps the down alert firing, no recovery."""
    for state in ("silent", "unmeasured"):
        got = {e.rule: e for e in evaluations([MonRow("A", "甲校", "", state=state)])}
        assert set(got) == {"school-silent"}
        assert got["school-silent"].firing == (state == "silent")
