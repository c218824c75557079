"""Bandwidth trend: each link direction's medians in the school's earlier runs, for the report.

At run time, before the report is signed (the ``before_sign`` hook of ``auditor run`` and of the
scheduled run, ``diff.regressions_hook``), ``add_bandwidth_history`` puts under
``report["bandwidth_history"]``, for every bandwidth target of this run (planned or measured),
the medians of its last :data:`TREND_RUNS` earlier runs, oldest first::

    "bandwidth_history": {
        "classroom/room103/downstream": [
            {"at": "2026-09-01T08:00:00Z", "median": 38.2, "run_id": "9b0c…"},
            {"at": "2026-09-08T08:00:00Z", "median": 37.9, "run_id": "4e1a…"}
        ]
    }

"Earlier runs" are the stored runs of the same school (whatever their profiles: a goodput median
is the same measurement under every profile) that started before this one. A median the probe
flagged invalid (a saturated CPU, a NIC slower than the link) is left out: it is not the link's
bandwidth. A target without an earlier median is left out, so with no store, an empty store or
no earlier run the key holds ``{}`` (the runner writes that default for runs without the hook:
``--no-history``, the district's jobs). A store that cannot be read costs the trend only: a
warning, in the report's ``warnings`` and through ``warn``, and the audit carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from auditor.errors import AuditorError
from auditor.facts import FactKind
from auditor.history.extract import parse_time
from auditor.history.models import Measurement, Run
from auditor.history.store import HistoryStore, open_store

TREND_KEY = "bandwidth_history"
TREND_RUNS = 12  # earlier medians kept per target
MEDIAN = "bandwidth.goodput.median"  # the measurement name ``extract`` stores
PROBE = "iperf3.bandwidth"


def bandwidth_targets(report: dict[str, Any]) -> list[str]:
    """Every bandwidth target of a report: its goodput facts (any status) and its planned tests
    (a test deferred by the timetable or refused still has a trend worth showing)."""
    facts = (f.get("subject") for f in report.get("facts", []) if isinstance(f, dict)
             and f.get("kind") == FactKind.BANDWIDTH_GOODPUT)
    planned = (p.get("target") for p in report.get("plan", []) if isinstance(p, dict)
               and p.get("probe") == PROBE)
    return sorted({str(t) for t in (*facts, *planned) if t})


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds") + "Z"  # the store keeps naive UTC


def bandwidth_history(store: HistoryStore, school: str, before: datetime, targets: Iterable[str],
                      limit: int = TREND_RUNS) -> dict[str, list[dict[str, Any]]]:
    """The last ``limit`` valid goodput medians per target of ``school``'s runs that started
    before ``before`` (naive UTC or aware), oldest first; targets without one are left out."""
    wanted = sorted(set(targets))
    if not wanted:
        return {}
    naive = before.astimezone(UTC).replace(tzinfo=None) if before.tzinfo else before
    rank = func.row_number().over(partition_by=Measurement.subject,
                                  order_by=(Run.started_at.desc(), Run.pk.desc())).label("rank")
    ranked = (select(Measurement.subject, Measurement.value, Run.started_at, Run.run_id, rank)
              .join(Run, Run.pk == Measurement.run_pk)
              .where(Measurement.name == MEDIAN, Measurement.valid.is_(True),
                     Measurement.subject.in_(wanted), Run.school_code == school,
                     Run.started_at < naive)
              .subquery())
    query = (select(ranked.c.subject, ranked.c.value, ranked.c.started_at, ranked.c.run_id)
             .where(ranked.c.rank <= limit)
             .order_by(ranked.c.subject, ranked.c.started_at, ranked.c.run_id))
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            out.setdefault(str(row.subject), []).append(
                {"at": _iso(row.started_at), "median": float(row.value), "run_id": str(row.run_id)})
    return out


def add_bandwidth_history(report: dict[str, Any], url: str | None,
                          warn: Callable[[str], None]) -> dict[str, Any]:
    """``report`` with ``bandwidth_history`` from the store at ``url`` (see the module's text).

    Never raises for the store: a store that cannot be opened or read leaves ``{}``, a warning in
    the report and a call of ``warn``."""
    school = ((report.get("site") or {}).get("school") or {}).get("code")
    started = parse_time((report.get("run") or {}).get("started_at"))
    targets = bandwidth_targets(report)
    if not school or started is None or not targets:
        return {**report, TREND_KEY: {}}
    try:
        with open_store(url) as store:
            trend = bandwidth_history(store, str(school), started, targets)
    except (AuditorError, SQLAlchemyError, OSError) as exc:
        detail = (str(getattr(exc, "orig", None) or exc).strip() or type(exc).__name__).splitlines()[0][:300]
        text = f"no bandwidth trend from earlier runs: the history store could not be read: {detail}"
        warn(text)
        return {**report, TREND_KEY: {}, "warnings": [*(report.get("warnings") or []), text]}
    return {**report, TREND_KEY: trend}
