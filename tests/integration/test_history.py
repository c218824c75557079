"""The history store: migrations, ingest (verified, idempotent), queries, rebuild, prune, CLI.

Every store test runs on a real SQLite file and on a real PostgreSQL database (a throw-away
cluster, ``tests/pg.py``); the bundles are real signed bundles (``tests/history_bundles.py``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from auditor.errors import InputError
from auditor.history import BundleRefused, HistoryStore, RunNotFound, StoreUnavailable, open_store
from auditor.history.models import CHILD_TABLES, Base, FindingRow, Run
from auditor.history.store import MIGRATIONS, SCHEMA_HEAD, downgrade_schema, schema_revision
from auditor.signing import Ed25519Signer, init_keys, load_signer
from tests.support.cli import run_cli
from tests.support.history_bundles import BASE_TIME, Synth, baseline, regressed

DAY = timedelta(days=1)


def _write(synth: Synth, root: Path, name: str, signer: Ed25519Signer) -> Path:
    return synth.write(root / name, signer)


def _count(store: HistoryStore, model: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def _dump(store: HistoryStore) -> dict[str, Any]:
    """Every row of the store, keyed by run id (surrogate keys and ingest times left out)."""
    out: dict[str, Any] = {}
    for run in store.runs():
        with store.engine.connect() as conn:
            row = conn.execute(select(Run.__table__).where(Run.pk == run.pk)).mappings().one()
        children = {m.__tablename__: sorted(map(repr, store.rows(m.__tablename__, run.pk)))
                    for m in CHILD_TABLES}
        out[run.run_id] = ({k: v for k, v in row.items() if k not in {"pk", "ingested_at"}}, children)
    return out


# -- schema ----------------------------------------------------------------------------------


def test_schema_head_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


def test_migrations_give_the_models_schema(store: HistoryStore) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert diffs == []
    assert version == "0001"


def test_reopening_upgrades_nothing_and_keeps_rows(store_url: str, signer: Ed25519Signer,
                                                   tmp_path: Path) -> None:
    with open_store(store_url) as store:
        store.ingest(_write(Synth(), tmp_path, "a", signer))
    with open_store(store_url) as again:
        assert len(again.runs()) == 1


def test_downgrade_drops_everything_and_open_recreates(store_url: str) -> None:
    with open_store(store_url) as store:
        downgrade_schema(store.engine)
        assert schema_revision(store.engine) is None
        with store.engine.connect() as conn:
            assert not inspect(conn).has_table("runs")
    with open_store(store_url) as store:
        assert schema_revision(store.engine) == SCHEMA_HEAD and store.runs() == []


def test_sqlite_store_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'h.sqlite'}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_default_store_lives_in_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_STATE_DIR", str(tmp_path / "state"))
    with open_store() as store:
        assert store.runs() == []
    assert (tmp_path / "state" / "history.sqlite").is_file()


@pytest.mark.parametrize("url", ["nosuchdb://x/y", "not a url",
                                 "postgresql+psycopg://nobody@/x?host=/nonexistent-socket-dir"])
def test_unusable_store_url_is_an_input_error(url: str) -> None:
    with pytest.raises(StoreUnavailable) as info:
        open_store(url)
    assert isinstance(info.value, InputError)
    assert "history store" in str(info.value)


# -- ingest ----------------------------------------------------------------------------------


def test_ingest_keeps_what_the_views_need(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    bundle = _write(Synth(BASE_TIME), tmp_path, "a", signer)
    result = store.ingest(bundle)
    run = result.run
    assert not result.already_ingested and "ingested" in result.message
    assert (run.school_code, run.school_district) == ("DEMO-0001", "海淀区")
    assert run.profiles == ("beijing-smart-campus-2023", "campus-auditor-baseline", "gbt22239-2019-level3")
    assert run.counts == {"pass": 70, "fail": 34, "error": 19, "skipped": 0, "not_applicable": 0,
                          "manual": 2, "waived": 0}
    assert run.verified and not run.key_pinned and run.key_fingerprint == signer.keyid
    assert run.started_at == BASE_TIME.replace(tzinfo=None) and run.exit_status == 1
    beijing = next(s for s in run.scores if s.profile == "beijing-smart-campus-2023")
    assert (beijing.score_total, beijing.score_possible, beijing.items_total) == (0, 100, 126)
    configs = {r["device"]: r for r in store.rows("device_configs", run.pk)}
    assert set(configs) == {"core-sw", "access-h3c", "access-cisco", "access-ruijie"}
    cisco = configs["access-cisco"]
    masked = (bundle / cisco["artifact_path"]).read_bytes()
    assert cisco["artifact_sha256"] == hashlib.sha256(masked).hexdigest()
    assert cisco["config_sha256"] == "5ab311f05dc89bba31f1fa59cb0c6f50cc35fe9f434c343e5cec9dc2ccfc6a60"
    ports = {(r["view"], r["host"], r["port"]) for r in store.rows("open_ports", run.pk)}
    assert ports == {("inside", "host/web", 23), ("inside", "host/web", 80), ("inside", "host/web", 3306),
                     ("inside", "host/web", 6379), ("outside", "10.200.0.1", 80)}
    hosts = {r["ip"]: r["known"] for r in store.rows("hosts", run.pk)}
    assert hosts == {"10.200.40.2": True, "10.200.40.20": True, "10.200.40.66": False, "10.200.40.77": False}
    names = {r["name"] for r in store.rows("measurements", run.pk)}
    assert {"bandwidth.goodput.median", "bandwidth.goodput.min", "bandwidth.goodput.max", "port.speed",
            "wifi.ssid_signal", "backup.newest_size", "backup.newest_age"} <= names
    assert len(store.rows("indicators", run.pk)) == 227
    assert {r["group_id"] for r in store.rows("scores", run.pk) if r["level"] == 0} == {""}


def test_pinned_key_is_recorded_and_a_wrong_one_refused(store: HistoryStore, signer: Ed25519Signer,
                                                         tmp_path: Path) -> None:
    bundle = _write(Synth(), tmp_path, "a", signer)
    other_dir = tmp_path / "other-key"
    init_keys(other_dir)
    with pytest.raises(BundleRefused, match="does not verify"):
        store.ingest(bundle, other_dir / "agent-ed25519.pub")
    assert store.runs() == []
    with pytest.raises(InputError, match="inside the bundle"):  # the bundle's own copy is no pin
        store.ingest(bundle, bundle / "agent-ed25519.pub")
    own = tmp_path / "agent.pub"
    own.write_bytes(signer.public_key_pem())
    pinned = store.ingest(bundle, own).run
    assert pinned.key_pinned


def test_a_bundle_by_an_untrusted_key_is_refused(store: HistoryStore, tmp_path: Path) -> None:
    """Intact, but signed by a key nobody trusted: a history holds only what trusted agents signed."""
    init_keys(tmp_path / "stranger")
    bundle = _write(Synth(), tmp_path, "a", load_signer(tmp_path / "stranger"))
    with pytest.raises(BundleRefused, match="intact, but the signer is not trusted: signed by Ed25519 key"):
        store.ingest(bundle)
    assert store.runs() == []


def test_ingest_is_idempotent(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    bundle = _write(Synth(), tmp_path, "a", signer)
    first = store.ingest(bundle)
    findings = _count(store, FindingRow)
    again = store.ingest(bundle)
    assert again.already_ingested and "already ingested" in again.message
    assert again.run.run_id == first.run.run_id
    assert len(store.runs()) == 1 and _count(store, FindingRow) == findings == 125


def test_concurrent_ingests_neither_fail_nor_duplicate(store_url: str, signer: Ed25519Signer,
                                                      tmp_path: Path) -> None:
    """Scheduled audits of several schools may ingest at once (separate stores, one database)."""
    bundles = [_write(Synth(BASE_TIME + i * DAY), tmp_path, f"r{i}", signer) for i in range(4)]
    stores = [open_store(store_url) for _ in range(3)]
    try:
        jobs = [(stores[i % 3], bundles[i % 4]) for i in range(12)]  # every bundle three times
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda job: job[0].ingest(job[1]), jobs))
        assert sum(not r.already_ingested for r in results) == 4
        assert len(stores[0].runs()) == 4 and _count(stores[0], FindingRow) == 4 * 125
    finally:
        for opened in stores:
            opened.close()


def test_moved_bundle_is_found_at_its_new_place(store: HistoryStore, signer: Ed25519Signer,
                                                tmp_path: Path) -> None:
    bundle = _write(Synth(), tmp_path, "a", signer)
    store.ingest(bundle)
    moved = bundle.rename(tmp_path / "moved")
    result = store.ingest(moved)
    assert result.already_ingested and result.run.bundle_path == str(moved.resolve())


@pytest.mark.parametrize("tamper", ["report", "evidence", "signature", "added", "missing"])
def test_tampered_bundle_is_refused_and_nothing_stored(store: HistoryStore, signer: Ed25519Signer,
                                                       tmp_path: Path, tamper: str) -> None:
    bundle = _write(Synth(), tmp_path, "a", signer)
    config = bundle / "evidence/devices/access-cisco/show-running-config.txt"
    if tamper == "report":
        doc = json.loads((bundle / "report.json").read_bytes())
        doc["findings"][0]["status"] = "pass"
        (bundle / "report.json").write_text(json.dumps(doc))
    elif tamper == "evidence":
        # the same length (a longer file is caught by its size before any digest is computed)
        config.write_text(config.read_text().replace("ip http server", "ip HTTP server"))
    elif tamper == "signature":
        env = json.loads((bundle / "report.dsse.json").read_text())
        env["signatures"][0]["sig"] = env["signatures"][0]["sig"][::-1]
        (bundle / "report.dsse.json").write_text(json.dumps(env))
    elif tamper == "added":
        (bundle / "evidence" / "extra.txt").write_text("slipped in")
    else:
        config.unlink()
    with pytest.raises(BundleRefused) as info:
        store.ingest(bundle)
    message = str(info.value)
    assert str(bundle) in message and "does not verify" in message
    assert {"report": "report.json differs", "evidence": "show-running-config.txt: SHA-256",
            "signature": "signature", "added": "extra.txt", "missing": "missing"}[tamper] in message
    assert store.runs() == [] and _count(store, FindingRow) == 0


def test_not_a_bundle_is_refused(store: HistoryStore, tmp_path: Path) -> None:
    with pytest.raises(BundleRefused, match="not a bundle directory"):
        store.ingest(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleRefused):
        store.ingest(tmp_path / "empty")


def test_same_run_in_another_bundle_is_refused(store: HistoryStore, signer: Ed25519Signer,
                                               tmp_path: Path) -> None:
    synth = Synth()
    store.ingest(_write(synth, tmp_path, "a", signer))
    other = Synth(BASE_TIME, run_id=synth.run_id).set_goodput("classroom/room102/upstream", 94.0)
    with pytest.raises(BundleRefused, match="already stored from another bundle"):
        store.ingest(_write(other, tmp_path, "b", signer))
    assert len(store.runs()) == 1


# -- queries ---------------------------------------------------------------------------------


def _history(store: HistoryStore, root: Path, signer: Ed25519Signer) -> list[Synth]:
    """Three comparable weekly runs, one run with fewer profiles, one of another school."""
    runs = [baseline(BASE_TIME + i * 7 * DAY) for i in range(3)]
    runs[1].set_goodput("classroom/room101/downstream", 91.5)
    runs[2].set_goodput("classroom/room101/downstream", 60.0)
    fewer = Synth(BASE_TIME + 15 * DAY)
    fewer.report["profiles"] = fewer.report["profiles"][:1]
    other = Synth(BASE_TIME + 16 * DAY)
    other.report["site"]["school"] = {"code": "HD-0002", "name": "第二中学", "district": "海淀区"}
    for i, synth in enumerate([*runs, fewer, other]):
        store.ingest(_write(synth, root, f"run{i}", signer))
    return [*runs, fewer, other]


def test_runs_newest_first_filtered_and_limited(store: HistoryStore, signer: Ed25519Signer,
                                                tmp_path: Path) -> None:
    made = _history(store, tmp_path, signer)
    assert [r.run_id for r in store.runs()] == [s.run_id for s in reversed(made)]
    assert [r.run_id for r in store.runs(school="HD-0002")] == [made[4].run_id]
    assert len(store.runs(school="DEMO-0001", limit=2)) == 2


def test_series_of_a_check_and_of_a_measurement(store: HistoryStore, signer: Ed25519Signer,
                                                tmp_path: Path) -> None:
    _history(store, tmp_path, signer)
    points = store.series("bandwidth.classroom_goodput", "classroom/room101/downstream")
    assert [(p.measured, p.status) for p in points] == [
        (95.604, "pass"), (91.5, "pass"), (60.0, "fail"), (95.604, "pass"), (95.604, "pass")]
    assert points == sorted(points, key=lambda p: p.started_at)
    assert {p.threshold for p in points} == {90.0} and {p.unit for p in points} == {"Mbit/s"}
    medians = store.series("bandwidth.goodput.median", "classroom/room101/downstream", school="DEMO-0001")
    assert [p.measured for p in medians] == [95.604, 91.5, 60.0, 95.604]
    assert all(p.status is None and p.threshold is None for p in medians)
    assert len(store.series("bandwidth.classroom_goodput")) == 5 * 6
    assert store.series("no.such.check") == []


def test_previous_comparable_same_school_and_profiles(store: HistoryStore, signer: Ed25519Signer,
                                                      tmp_path: Path) -> None:
    made = _history(store, tmp_path, signer)
    ids = [s.run_id for s in made]
    assert store.previous_comparable(ids[0]) is None
    assert store.previous_comparable(ids[2]).run_id == ids[1]  # type: ignore[union-attr]
    assert store.previous_comparable(ids[3]) is None  # fewer profiles: nothing to compare with
    assert store.previous_comparable(ids[4]) is None  # another school
    with pytest.raises(RunNotFound):
        store.previous_comparable("no-such-run")


def test_resolve_by_id_prefix_and_bundle(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    a = Synth(run_id="aaaa1111-0000-4000-8000-000000000001")
    b = Synth(BASE_TIME + DAY, run_id="aaaa2222-0000-4000-8000-000000000002")
    store.ingest(_write(a, tmp_path, "a", signer))
    assert store.resolve("aaaa1").run_id == a.run_id
    assert store.resolve(str(_write(b, tmp_path, "b", signer))).run_id == b.run_id  # ingested on the way
    with pytest.raises(RunNotFound, match="ambiguous"):
        store.resolve("aaaa")
    with pytest.raises(RunNotFound, match="no run"):
        store.resolve("bbbb")


# -- rebuild and prune -----------------------------------------------------------------------


def test_rebuild_gives_the_same_store(store: HistoryStore, signer: Ed25519Signer, tmp_path: Path) -> None:
    root = tmp_path / "audits"
    _history(store, root, signer)
    (root / "latest").symlink_to(root / "run2")  # followed links would count a bundle twice
    before = _dump(store)
    tampered = _write(Synth(BASE_TIME + 30 * DAY), root / "school", "tampered", signer)
    (tampered / "report.json").write_bytes(b"{}")
    result = store.rebuild(root)
    assert len(result.ingested) == 5 and [b for b, _why in result.refused] == [tampered]
    assert _dump(store) == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunNotFound, match="no report bundle"):
        store.rebuild(tmp_path / "empty")
    assert _dump(store) == before  # a directory without bundles leaves the store alone


def _weekly(store: HistoryStore, root: Path, signer: Ed25519Signer, weeks: int, school: str) -> list[Path]:
    bundles = []
    for i in range(weeks):
        synth = Synth(BASE_TIME + i * 7 * DAY)
        synth.report["site"]["school"]["code"] = school
        bundles.append(_write(synth, root, f"{school}-{i}", signer))
        store.ingest(bundles[-1])
    return bundles


def test_prune_keeps_newest_per_school_and_recent_days(store: HistoryStore, signer: Ed25519Signer,
                                                       tmp_path: Path) -> None:
    a = _weekly(store, tmp_path, signer, 5, "A")
    b = _weekly(store, tmp_path, signer, 2, "B")
    now = BASE_TIME.replace(tzinfo=None) + 4 * 7 * DAY + DAY  # a day after A's last run
    result = store.prune(keep=2, keep_days=10, now=now)
    removed = sorted(Path(r.bundle_path).name for r in result.removed)
    assert removed == ["A-0", "A-1", "A-2"]  # B's two runs are its newest two
    assert all(p.is_dir() for p in a + b)  # bundles stay unless asked
    assert _count(store, Run) == 4 and _count(store, FindingRow) == 4 * 125  # cascaded
    result = store.prune(keep_days=3, now=now, delete_bundles=True)
    assert sorted(Path(r.bundle_path).name for r in result.removed) == ["A-3", "B-0", "B-1"]
    assert sorted(Path(p).name for p in result.bundles_deleted) == ["A-3", "B-0", "B-1"]
    assert [p.is_dir() for p in a] == [True, True, True, False, True]
    assert [r.bundle_path for r in store.runs()] == [str(a[4].resolve())]


def test_prune_deletes_only_the_same_bundle(store: HistoryStore, signer: Ed25519Signer,
                                            tmp_path: Path) -> None:
    a = _weekly(store, tmp_path, signer, 2, "A")
    shutil.rmtree(a[0])
    _write(Synth(), tmp_path, "A-0", signer)  # another bundle now where the old one was
    result = store.prune(keep=1, delete_bundles=True)
    assert result.bundles_deleted == [] and result.bundles_kept == [(str(a[0].resolve()),
                                                                     "holds another bundle now")]
    assert a[0].is_dir()


@pytest.mark.parametrize(("keep", "keep_days", "match"), [
    (None, None, "say what to keep"), (0, None, "at least 1"), (None, -1, "negative")])
def test_prune_needs_a_sane_rule(store: HistoryStore, keep: int | None, keep_days: int | None,
                                 match: str) -> None:
    with pytest.raises(InputError, match=match):
        store.prune(keep=keep, keep_days=keep_days)


# -- CLI (the installed command) -------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory: pytest.TempPathFactory,
              signer: Ed25519Signer) -> tuple[dict[str, str], list[Path]]:
    """Two comparable runs with the planted regressions, ingested through the CLI (the tests
    using it leave the store as they found it)."""
    root = tmp_path_factory.mktemp("cli")
    a = baseline()
    b = regressed(a, BASE_TIME + 7 * DAY)
    bundles = [a.write(root / "audits" / "a", signer), b.write(root / "audits" / "b", signer)]
    env = {"AUDITOR_HISTORY_DB": f"sqlite:///{root / 'cli.sqlite'}"}
    res = run_cli("history", "ingest", *map(str, bundles), env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": ingested (run") == 2
    return env, bundles


def test_cli_history_lists_runs(cli_store: tuple[dict[str, str], list[Path]]) -> None:
    env, _bundles = cli_store
    res = run_cli("history", env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    for text_ in ("Audit runs", "DEMO-0001", "2026-09-08 08:00", "0/100 points", "1/5 items pass",
                  "beijing-smart-campus-2023", "yes, trusted key"):
        assert text_ in res.stdout
    doc = json.loads(run_cli("history", "--json", env=env, timeout=60).stdout)
    assert [r["started_at"] for r in doc["runs"]] == ["2026-09-08T08:00:00Z", "2026-09-01T08:00:00Z"]
    assert doc["runs"][0]["counts"]["fail"] == 37


def test_cli_history_check_prints_a_series(cli_store: tuple[dict[str, str], list[Path]]) -> None:
    env, _bundles = cli_store
    res = run_cli("history", "--check", "bandwidth.classroom_goodput", "--target",
                  "classroom/room101/downstream", env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "95.604 Mbit/s" in res.stdout and "60 Mbit/s" in res.stdout and "fail" in res.stdout
    doc = json.loads(run_cli("history", "--json", "--check", "bandwidth.goodput.median", env=env,
                             timeout=60).stdout)
    assert len(doc["points"]) == 16
    res = run_cli("history", "--check", "bandwith.classroom_goodput", env=env, timeout=60)
    assert res.returncode == 2 and "did you mean bandwidth.classroom_goodput" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_ingest_refuses_a_tampered_bundle(cli_store: tuple[dict[str, str], list[Path]],
                                              tmp_path: Path, signer: Ed25519Signer) -> None:
    env, _bundles = cli_store
    bad = _write(Synth(BASE_TIME + 30 * DAY), tmp_path, "bad", signer)
    (bad / "report.json").write_bytes(b"{}")
    res = run_cli("history", "ingest", str(bad), env=env, timeout=60)
    assert res.returncode == 2
    assert f"{bad}: refused, it does not verify" in res.stderr and "Traceback" not in res.stderr
    assert len(json.loads(run_cli("history", "--json", env=env, timeout=60).stdout)["runs"]) == 2


def test_cli_diff_exit_codes(cli_store: tuple[dict[str, str], list[Path]]) -> None:
    env, (a, b) = cli_store
    res = run_cli("diff", "--json", str(a), str(b), env=env, timeout=60)
    assert res.returncode == 1, res.stderr
    assert len(json.loads(res.stdout)["regressions"]) == 6
    res = run_cli("diff", str(b), env=env, timeout=60)  # one run: against the previous comparable one
    assert res.returncode == 1 and "6 regression(s)" in res.stdout
    assert "+banner motd" in res.stdout
    same = run_cli("diff", "--json", str(a), str(a), env=env, timeout=60)
    assert same.returncode == 0 and json.loads(same.stdout)["regressions"] == []
    for args in (["nope", str(b)], [str(a)], ["--drop-fraction", "2", str(a), str(b)]):
        res = run_cli("diff", *args, env=env, timeout=60)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr


def test_cli_rebuild_and_prune(cli_store: tuple[dict[str, str], list[Path]], tmp_path: Path) -> None:
    _env, (a, b) = cli_store
    env = {"AUDITOR_HISTORY_DB": f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"}
    res = run_cli("history", "rebuild", str(a.parent), env=env, timeout=60)
    assert res.returncode == 0 and "2 bundle(s) ingested" in res.stdout, res.stderr
    res = run_cli("history", "prune", "--keep", "1", "--json", env=env, timeout=60)
    assert res.returncode == 0 and len(json.loads(res.stdout)["removed"]) == 1
    assert a.is_dir() and b.is_dir()
    res = run_cli("history", "prune", env=env, timeout=60)
    assert res.returncode == 2 and "say what to keep" in res.stderr


def test_started_at_is_naive_utc_on_every_backend(store: HistoryStore, signer: Ed25519Signer,
                                                  tmp_path: Path) -> None:
    synth = Synth(datetime.fromisoformat("2026-10-01T09:30:00+08:00"))
    run = store.ingest(_write(synth, tmp_path, "a", signer)).run
    assert run.started_at == datetime(2026, 10, 1, 1, 30) and run.started_at.tzinfo is None
