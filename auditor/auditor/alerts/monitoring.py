"""From the district's monitoring overview to alert evaluations.

Each school's state (:func:`auditor.district.monitoring.overview`: live, degraded, down or
silent) is turned into one evaluation per rule, firing or not, so the alert engine sends a message
when a school goes down, silent or degraded (after the rule's ``for``) and a recovery message when
it is live again:

- ``school-down``: every reach probe of the last ``down_minutes`` was lost, while the agent still
  reports (a link cut so that the agent cannot reach the district either shows as silent);
- ``school-silent``: the agent sent no heartbeat for two intervals (the agent or its link is gone);
- ``school-degraded``: loss above the threshold, or throughput below the contracted rate in K of
  the last M tests.

"Unreachable for N minutes" is ``school-down`` with ``for: N - down_minutes``: the state turns
down once the last answered probe has left the ``down_minutes`` window.

The text is written in the alerts file's language from the row's figures and the district's
thresholds (the district's own reason, ``MonRow.why``, is English only). A rule the alerts file
does not define is not evaluated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from auditor.alerts.engine import Evaluation
from auditor.district.config import Monitoring
from auditor.district.monitoring import MonRow
from auditor.messages import Msg, msg

RULES = {"down": "school-down", "silent": "school-silent", "degraded": "school-degraded"}
# states in which no reach probe arrives (the agent is gone, or it measures nothing): the down and
# degraded rules are not evaluated then, so their alerts keep their state
NO_REACH_EVIDENCE = ("silent", "unmeasured")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(at: dt.datetime, tz: dt.tzinfo) -> str:
    """A time (naive UTC, as the district stores it, or aware) in ``tz``, to the minute."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def explain(row: MonRow, rules: Monitoring, tz: dt.tzinfo = SHANGHAI) -> Msg:
    """Why ``row`` is in its (non-live) state, as a message."""
    who = {"name": row.name or row.code, "code": row.code}
    if row.state == "down":
        return msg("alerts.down", **who, minutes=rules.down_minutes)
    if row.state == "silent":
        if row.last_heartbeat is None:
            return msg("alerts.silent_never", **who)
        return msg("alerts.silent_since", **who, time=local(row.last_heartbeat, tz))
    if row.loss is not None and round(row.loss * 100, 9) > rules.degraded_loss_pct:
        return msg("alerts.degraded_loss", **who, minutes=rules.loss_minutes, loss=row.loss * 100)
    return msg("alerts.degraded_tests", **who, k=rules.degraded_k, m=rules.degraded_m,
               percent=rules.degraded_throughput_pct)


def evaluations(rows: Iterable[MonRow], link: str | None = None, rules: Iterable[str] | None = None,
                *, lang: str = "zh", monitoring: Monitoring | None = None,
                tz: dt.tzinfo = SHANGHAI) -> list[Evaluation]:
    """One evaluation per school and rule: firing for the school's state's rule, clear for the
    others (so a school that is live again, or went from degraded to down, recovers), except that
    a silent or unmeasured school's down and degraded rules are not evaluated: no probe shows the
    link came back. Only the ``rules`` the alerts file defines, when given; text in ``lang``."""
    wanted = None if rules is None else set(rules)
    thresholds = monitoring or Monitoring()
    out = []
    for row in rows:
        for state, rule in RULES.items():
            if wanted is not None and rule not in wanted:
                continue
            if state in ("down", "degraded") and row.state in NO_REACH_EVIDENCE:
                continue  # nothing shows the link either way: a down school does not "recover"
            firing = row.state == state
            text = explain(row, thresholds, tz).render(lang) if firing else ""
            out.append(Evaluation(rule, row.code, firing, text, school=row.code,
                                  district=row.district or None,
                                  link=f"{link}/dashboard/monitoring/schools/{row.code}" if link else None))
    return out


def states(rows: Sequence[MonRow]) -> dict[str, str]:
    """School code → state, for logs."""
    return {r.code: r.state for r in rows}
