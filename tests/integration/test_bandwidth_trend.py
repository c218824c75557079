"""The bandwidth trend of earlier runs, taken into report.json at run time so the signed report
holds it: the query on a real store (SQLite and PostgreSQL) of real signed bundles, the
``before_sign`` hook ``auditor run`` and the scheduled run share, a real ``auditor run`` whose
signed report carries it, and a store that cannot be read costing the trend only.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.bundle import verify_bundle
from auditor.history import HistoryStore, open_store
from auditor.history.diff import regressions_hook
from auditor.history.trend import TREND_KEY, TREND_RUNS, add_bandwidth_history, bandwidth_history
from auditor.reports import charts
from auditor.reports.i18n import labels
from auditor.signing import PUBLIC_NAME, Ed25519Signer, load_signer
from tests.support.cli import run_cli
from tests.support.history_bundles import BASE_TIME, Synth, baseline
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.keys import agent_keys
from tests.support.schedules import COMMUNITY, PROFILE

DAY = timedelta(days=1)
ROOM = "classroom/room101/downstream"
UPLINK = "uplink/district/downstream"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _history(store: HistoryStore, root: Path, signer: Ed25519Signer, medians: list[float],
             start: datetime = BASE_TIME, school: str | None = None) -> list[Synth]:
    """One run a day from ``start``, room 101 downstream measured at each of ``medians``."""
    made, first = [], None
    for i, mbps in enumerate(medians):
        synth = baseline(start + i * DAY).set_goodput(ROOM, mbps)
        if school is not None:
            synth.report["site"]["school"]["code"] = school
        bundle = synth.write(root / f"run{i}", signer, link_from=first)
        first = first or bundle
        store.ingest(bundle)
        made.append(synth)
    return made


def test_last_earlier_valid_medians_of_the_same_school_oldest_first(
        store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    made = _history(store, tmp_path, signer, [90.0, 91.0, 92.0, 60.0, 93.0])
    invalid = baseline(BASE_TIME + 5 * DAY).set_goodput(ROOM, 10.0)  # flagged invalid: left out
    invalid.fact(f"bandwidth.goodput:{ROOM}")["data"].update(valid=False, invalid_reasons=["CPU"])
    other = baseline(BASE_TIME + 6 * DAY).set_goodput(ROOM, 5.0)  # another school: left out
    other.report["site"]["school"]["code"] = "HD-0002"
    for i, synth in enumerate([invalid, other], start=5):
        store.ingest(synth.write(tmp_path / f"run{i}", signer))
    now = BASE_TIME + 4 * DAY + timedelta(hours=1)  # after run 4; later runs are not "earlier"
    got = bandwidth_history(store, "DEMO-0001", now, [ROOM, UPLINK, "classroom/nowhere/upstream"])
    assert set(got) == {ROOM, UPLINK}  # a target never measured before is left out
    assert [p["median"] for p in got[ROOM]] == [90.0, 91.0, 92.0, 60.0, 93.0]
    assert [p["at"] for p in got[ROOM]] == [_iso(BASE_TIME + i * DAY) for i in range(5)]
    assert [p["run_id"] for p in got[ROOM]] == [s.run_id for s in made]
    assert [p["median"] for p in bandwidth_history(store, "DEMO-0001", now, [ROOM], limit=2)[ROOM]] == \
        [60.0, 93.0]  # the last ones
    late = datetime.now(UTC)
    assert [p["median"] for p in bandwidth_history(store, "DEMO-0001", late, [ROOM])[ROOM]] == \
        [90.0, 91.0, 92.0, 60.0, 93.0]  # the invalid run is not in it
    assert bandwidth_history(store, "DEMO-0001", BASE_TIME, [ROOM]) == {}  # nothing before the first
    assert bandwidth_history(store, "NO-SCHOOL", late, [ROOM]) == {}
    assert TREND_RUNS == 12


def _current(started: datetime) -> dict[str, Any]:
    """A later run's report, not signed yet (what ``before_sign`` is given)."""
    report = baseline(started).set_goodput(ROOM, 58.0).report
    report[TREND_KEY] = {}  # the runner's default
    return report


def test_hook_puts_trend_and_regressions_into_the_report_before_signing(
        store: HistoryStore, store_url: str, signer: Ed25519Signer, tmp_path: Path) -> None:
    _history(store, tmp_path, signer, [95.0, 94.0])
    report = _current(BASE_TIME + 7 * DAY)
    warnings: list[str] = []
    out = tmp_path / "current"
    done = regressions_hook(out, store_url, warnings.append)(report)
    assert warnings == []
    assert [p["median"] for p in done[TREND_KEY][ROOM]] == [95.0, 94.0]
    assert {t.split("/")[0] for t in done[TREND_KEY]} == {"uplink", "classroom"}
    assert done["regressions"]["previous_run"]  # the regressions still come with it
    signed = Synth(BASE_TIME + 7 * DAY, report=done)
    bundle = signed.write(tmp_path / "signed", signer)
    verified = verify_bundle(bundle)
    assert verified.ok and verified.report is not None
    assert verified.report[TREND_KEY] == done[TREND_KEY]  # signed with the report
    row = next(r for r in charts.bandwidth_rows(verified.report, labels("en")) if r.subject == ROOM)
    assert row.trend == ((_iso(BASE_TIME), 95.0), (_iso(BASE_TIME + DAY), 94.0))
    assert row.trend_svg is not None and "58.0" in row.trend_svg  # this run is the last point


def test_an_unreadable_store_costs_the_trend_only(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    warnings: list[str] = []
    report = _current(BASE_TIME)
    report["warnings"] = ["an earlier warning"]
    done = add_bandwidth_history(report, f"sqlite:///{junk}", warnings.append)
    assert done[TREND_KEY] == {}
    assert len(warnings) == 1 and "no bandwidth trend" in warnings[0]
    assert done["warnings"] == ["an earlier warning", warnings[0]]
    assert report["warnings"] == ["an earlier warning"]  # the caller's report is not changed


def test_a_store_that_fails_mid_query_costs_the_trend_only(tmp_path: Path) -> None:
    db = tmp_path / "broken.sqlite"
    with open_store(f"sqlite:///{db}"):
        pass
    with sqlite3.connect(db) as conn:  # the schema revision says current, the table is gone
        conn.execute("DROP TABLE measurements")
    warnings: list[str] = []
    done = add_bandwidth_history(_current(BASE_TIME), f"sqlite:///{db}", warnings.append)
    assert done[TREND_KEY] == {} and len(warnings) == 1 and "measurements" in warnings[0]


def test_no_store_and_empty_store_give_an_empty_trend(tmp_path: Path) -> None:
    warnings: list[str] = []
    done = add_bandwidth_history(_current(BASE_TIME), f"sqlite:///{tmp_path / 'new.sqlite'}",
                                 warnings.append)
    assert done[TREND_KEY] == {} and warnings == []
    no_targets = {**_current(BASE_TIME), "facts": [], "plan": []}
    assert add_bandwidth_history(no_targets, "sqlite:////nonexistent/dir/x.sqlite", warnings.append)[
        TREND_KEY] == {}
    assert warnings == []  # nothing to look up: the store is not even opened


def test_auditor_run_signs_the_trend_into_report_json(tmp_path: Path) -> None:
    """A real ``auditor run`` (every target outside the scope: nothing is sent) against a store
    holding two earlier runs of the same school: report.json, as signed, carries their medians for
    the run's planned bandwidth targets (deferred or refused tests keep their trend)."""
    keys = tmp_path / "keys"
    agent_keys(keys)
    signer = load_signer(keys)
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    start = datetime.now(UTC).replace(microsecond=0) - 10 * DAY
    with open_store(url) as store:
        _history(store, tmp_path / "earlier", signer, [95.5, 80.25], start=start, school="T-1")
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    env = {"AUDITOR_KEY_DIR": str(keys), "SNMP_COMMUNITY": COMMUNITY,
           "AUDITOR_ATTESTATIONS": str(tmp_path / "none")}

    out = tmp_path / "out"
    res = run_cli("run", "-i", str(inv), "-p", PROFILE, "-o", str(out), "--format", "md", "-q",
                  "--history-db", url, env=env)
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert "no bandwidth trend" not in res.stderr
    verified = verify_bundle(out, keys / PUBLIC_NAME)
    assert verified.ok and verified.report is not None, verified.problems
    trend = verified.report[TREND_KEY]
    assert json.loads((out / "report.json").read_bytes())[TREND_KEY] == trend
    assert trend[ROOM] == [{"at": _iso(start), "median": 95.5, "run_id": trend[ROOM][0]["run_id"]},
                           {"at": _iso(start + DAY), "median": 80.25, "run_id": trend[ROOM][1]["run_id"]}]
    assert set(trend) == {"uplink/district/downstream", "uplink/district/upstream",
                          "classroom/room101/downstream", "classroom/room101/upstream"}


def test_no_history_run_has_the_key_empty(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    agent_keys(keys)
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    res = run_cli("run", "-i", str(inv), "-p", PROFILE, "-o", str(tmp_path / "out"), "--format", "md",
                  "-q", "--no-history", env={"AUDITOR_KEY_DIR": str(keys), "SNMP_COMMUNITY": COMMUNITY,
                                             "AUDITOR_ATTESTATIONS": str(tmp_path / "none")})
    assert res.returncode in (0, 1), res.stdout + res.stderr
    assert json.loads((tmp_path / "out" / "report.json").read_bytes())[TREND_KEY] == {}
