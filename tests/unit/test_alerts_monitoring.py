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
