"""From the district's monitoring overview to alert evaluations.

Each school's state (:func:`auditor.district.monitoring.overview`: live, degraded, down or
silent) is turned into one evaluation per rule, firing or not, so the alert engine sends a message
when a school goes down, silent or degraded (after the rule's ``for``) and a recovery message when
it is live again:

- ``school-down``: every reach probe of the last minutes was lost (the link is cut);
- ``school-silent``: the agent sent no heartbeat for two intervals (the agent or its link is gone);
- ``school-degraded``: loss above the threshold, or throughput below the contracted rate in K of
  the last M tests.

A rule the alerts file does not define is not evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from auditor.alerts.engine import Evaluation
from auditor.district.monitoring import MonRow

RULES = {"down": "school-down", "silent": "school-silent", "degraded": "school-degraded"}
_TEXT = {
    "down": "{name}（{code}）断网：{why}",
    "silent": "{name}（{code}）审计代理无心跳：{why}",
    "degraded": "{name}（{code}）网络质量下降：{why}",
}


def evaluations(rows: Iterable[MonRow], link: str | None = None,
                rules: Iterable[str] | None = None) -> list[Evaluation]:
    """One evaluation per school and rule: firing for the school's state's rule, clear for the
    others (so a school that is live again, or went from degraded to down, recovers). Only the
    ``rules`` the alerts file defines, when given."""
    wanted = None if rules is None else set(rules)
    out = []
    for row in rows:
        for state, rule in RULES.items():
            if wanted is not None and rule not in wanted:
                continue
            firing = row.state == state
            text = (_TEXT[state].format(name=row.name or row.code, code=row.code, why=row.why)
                    if firing else "")
            out.append(Evaluation(rule, row.code, firing, text, school=row.code,
                                  district=row.district or None,
                                  link=f"{link}/dashboard/monitoring/schools/{row.code}" if link else None))
    return out


def states(rows: Sequence[MonRow]) -> dict[str, str]:
    """School code → state, for logs."""
    return {r.code: r.state for r in rows}
