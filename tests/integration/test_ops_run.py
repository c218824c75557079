"""Scheduled audits, operations review: ``schedule run`` and ``schedule status`` end to end, the
Prometheus textfile of a real report, and retention that stays within its own school.

The audits are real runs of inventories whose targets lie outside their scope allow-list, or
whose only in-scope target is a bandwidth test deferred by the timetable: nothing is sent."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auditor.history import open_store
from auditor.scheduling import metrics
from auditor.signing import Ed25519Signer, load_signer
from tests.support.cli import run_cli
from tests.support.history_bundles import BASE_TIME, Synth
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.keys import agent_keys
from tests.support.schedules import COMMUNITY, PROFILE, install

ALL_DAYS = "[mon, tue, wed, thu, fri, sat, sun]"


def samples(prom: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a textfile, parsed by prometheus_client's own parser."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(prom) for s in fam.samples}


def schedule_run(site: dict[str, Any], school: str = "T-1", **env: str) -> Any:
    return run_cli("schedule", "run", "--school", school, env={**site["env"], **env})


def history_runs(site: dict[str, Any], school: str) -> list[Any]:
    with open_store(f"sqlite:///{site['state'] / 'history.sqlite'}") as store:
        return store.runs(school=school)


# ---------------------------------------------------------------------------- class hours


@pytest.fixture(scope="module")
def deferred(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One scheduled run during lessons: the uplink's server is in scope, and it is class time
    all day every day but for a holiday in three days, so its bandwidth tests are deferred to
    the holiday (nothing is sent)."""
    tmp = tmp_path_factory.mktemp("deferred")
    keys = tmp / "keys"
    agent_keys(keys)
    inv = tmp / "site.yaml"
    holiday = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).date()
    timetable = (f"schedule:\n  class_hours:\n    - {{days: {ALL_DAYS}, start: '00:00', end: '23:59'}}\n"
                 f"  holidays:\n    - {{start: {holiday}, end: {holiday}}}\n")
    inv.write_text(OUT_OF_SCOPE.replace("address: 10.200.0.2", "address: 10.251.0.2")
                   .replace("uplink:", timetable + "uplink:"), encoding="utf-8")
    env = {"AUDITOR_STATE_DIR": str(tmp / "state"), "AUDITOR_KEY_DIR": str(keys),
           "AUDITOR_ATTESTATIONS": str(tmp / "none"), "SNMP_COMMUNITY": COMMUNITY}
    res = run_cli("schedule", "install", "-i", str(inv), "-p", PROFILE, "--unit-dir", str(tmp / "units"),
                  env=env)
    assert res.returncode == 0, res.stderr
    ran = run_cli("schedule", "run", "--school", "T-1", env=env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    bundle = Path(ran.stdout.split("signed bundle ", 1)[1].split(" ", 1)[0])
    return {"env": env, "bundle": bundle, "report": json.loads((bundle / "report.json").read_bytes())}


def test_a_scheduled_run_does_not_override_class_hours(deferred: dict[str, Any]) -> None:
    report = deferred["report"]
    assert report["run"]["options"]["allow_class_hours"] is False
    goodput = [f for f in report["facts"] if f["kind"] == "bandwidth.goodput"
               and f["subject"].startswith("uplink/")]
    assert len(goodput) == 2 and all(f["status"] == "skipped" for f in goodput)
    assert all(f["error"].startswith("deferred: bandwidth tests do not run during class hours")
               for f in goodput)


def test_status_says_why_bandwidth_was_deferred_and_until_when(deferred: dict[str, Any]) -> None:
    res = run_cli("schedule", "status", "--json", env=deferred["env"])
    assert res.returncode == 0, res.stderr
    (row,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert row["school"] == "T-1" and row["exit"] == 1 and row["bundle"] == str(deferred["bundle"])
    assert "Next elapse" not in row["next_run"] and row["next_run"]
    (reason,) = row["deferred"]
    assert reason.startswith("deferred: bandwidth tests do not run during class hours")
    assert "the next free window starts" in reason  # when they can run, not only that they did not


def test_status_table_names_the_deferral(deferred: dict[str, Any]) -> None:
    res = run_cli("schedule", "status", env=deferred["env"])
    assert res.returncode == 0, res.stderr
    assert "T-1" in res.stdout and "deferred" in res.stdout and "class" in res.stdout


# ---------------------------------------------------------------------------- the shell's settings


def test_the_schedule_keeps_the_settings_of_the_shell_it_was_installed_from(
        site: dict[str, Any]) -> None:
    """The timer's service has none of the installing shell's AUDITOR_* variables: the key, the
    attestation store and the history store it named must be recorded in the schedule."""
    db = site["tmp"] / "elsewhere.sqlite"
    res = install(site, env={"AUDITOR_HISTORY_DB": f"sqlite:///{db}"})
    assert res.returncode == 0, res.stderr
    home = site["tmp"] / "service-home"  # not root's real home: no key to fall back on there
    ran = schedule_run(site, AUDITOR_KEY_DIR="", AUDITOR_ATTESTATIONS="", AUDITOR_HISTORY_DB="",
                       HOME=str(home), XDG_CONFIG_HOME="", XDG_DATA_HOME="")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    bundle = ran.stdout.split("signed bundle ", 1)[1].split(" ", 1)[0]
    pub = next(site["keys"].glob("*.pub"))
    assert run_cli("verify", bundle, "--key", str(pub)).returncode == 0
    with open_store(f"sqlite:///{db}") as store:
        assert [r.bundle_path for r in store.runs(school="T-1")] == [bundle]


# ---------------------------------------------------------------------------- metrics


def test_metrics_of_a_real_report(tmp_path: Path) -> None:
    """The demo school's recorded report: every measured link, score and finding count is in
    the textfile, which prometheus_client's parser reads back."""
    report = Synth().report
    reg = metrics.registry_for(report, "DEMO-1", 146.3, 1, 4, 1_790_000_000.0)
    path = metrics.write_metrics(tmp_path, "DEMO-1", reg)
    assert [p.name for p in tmp_path.iterdir()] == ["campus_auditor_DEMO_1.prom"]  # renamed into place
    got = samples(path.read_text(encoding="utf-8"))
    school = ("school", "DEMO-1")
    links = [f for f in report["facts"] if f["kind"] == "bandwidth.goodput" and f["status"] == "ok"]
    assert len(links) >= 8
    for fact in links:
        link, direction = fact["subject"].rsplit("/", 1)
        key = ("campus_auditor_goodput_mbps", (("direction", direction), ("link", link), school))
        assert got[key] == pytest.approx(fact["data"]["median_mbps"])
    for score in report["scores"]:
        assert got[("campus_auditor_score_points", (("profile", score["profile"]), school))] == score["total"]
    counts = Counter((f["status"], f["severity"]) for f in report["findings"])
    assert {(dict(labels)["status"], dict(labels)["severity"]): v for (name, labels), v in got.items()
            if name == "campus_auditor_findings"} == counts
    assert got[("campus_auditor_run_duration_seconds", (school,))] == 146.3
    assert got[("campus_auditor_last_run_exit_status", (school,))] == 1
    assert got[("campus_auditor_regressions", (school,))] == 4
    assert got[("campus_auditor_last_success_timestamp_seconds", (school,))] == 1_790_000_000.0


def _textfile(site: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples((site["state"] / "metrics" / "campus_auditor_T_1.prom").read_text(encoding="utf-8"))


def test_last_success_survives_a_failed_run(site: dict[str, Any]) -> None:
    """``time() - campus_auditor_last_success_timestamp_seconds > ...`` is how one alerts on a
    school that stopped producing reports: a failed run must not make the series vanish."""
    assert install(site).returncode == 0
    assert schedule_run(site).returncode == 1
    key = ("campus_auditor_last_success_timestamp_seconds", (("school", "T-1"),))
    success = _textfile(site)[key]
    site["inv"].write_text(OUT_OF_SCOPE.replace("school:", "schol:"), encoding="utf-8")
    assert schedule_run(site).returncode == 2
    after = _textfile(site)
    assert after[("campus_auditor_last_run_exit_status", (("school", "T-1"),))] == 2
    assert after[key] == success


def test_an_unwritable_metrics_directory_costs_neither_the_notice_nor_the_log(
        site: dict[str, Any], tmp_path: Path) -> None:
    from tests.support.servers import http_server

    prom = tmp_path / "prom"
    with http_server([204]) as (url, posts):
        notify = tmp_path / "notify.yaml"
        notify.write_text(f"version: 1\nwebhook: {{url: '{url}', retries: 0}}\n", encoding="utf-8")
        assert install(site, "--metrics-dir", str(prom), "--notify", str(notify)).returncode == 0
        shutil.rmtree(prom, ignore_errors=True)
        prom.write_text("a file where the directory should be\n", encoding="utf-8")
        site["inv"].write_text(OUT_OF_SCOPE.replace("school:", "schol:"), encoding="utf-8")
        res = schedule_run(site)
    assert res.returncode == 2 and "internal error" not in res.stderr, res.stderr
    assert "metrics not written" in res.stderr
    assert len(posts) == 1 and json.loads(posts[0][1])["failure"]
    events = [json.loads(line)["event"] for line in
              (site["state"] / "logs" / "auditor.jsonl").read_text(encoding="utf-8").splitlines()]
    assert events[-1] == "run.end"


# ---------------------------------------------------------------------------- retention


def _other_school(site: dict[str, Any], signer: Ed25519Signer, n: int) -> list[Path]:
    """``n`` signed runs of another school, T-2, in the same history store."""
    bundles = []
    with open_store(f"sqlite:///{site['state'] / 'history.sqlite'}") as store:
        for i in range(n):
            synth = Synth(BASE_TIME + timedelta(days=7 * i))
            synth.report["site"]["school"]["code"] = "T-2"
            bundles.append(synth.write(site["tmp"] / "t2" / f"run{i}", signer))
            store.ingest(bundles[-1])
    return bundles


def test_retention_keeps_to_its_own_school_and_its_own_bundles(site: dict[str, Any]) -> None:
    site["state"].mkdir(parents=True)
    others = _other_school(site, load_signer(site["keys"]), 2)
    assert install(site, "--keep", "1", "--delete-bundles").returncode == 0
    first = schedule_run(site)
    second = schedule_run(site)
    assert first.returncode == second.returncode == 1, second.stderr
    bundle = [Path(r.stdout.split("signed bundle ", 1)[1].split(" ", 1)[0]) for r in (first, second)]
    assert [r.bundle_path for r in history_runs(site, "T-1")] == [str(bundle[1])]
    assert not bundle[0].exists() and bundle[1].is_dir()
    assert len(history_runs(site, "T-2")) == 2 and all(p.is_dir() for p in others)


def test_prune_can_be_limited_to_one_school_and_one_directory(site: dict[str, Any]) -> None:
    signer = load_signer(site["keys"])
    site["state"].mkdir(parents=True)
    others = _other_school(site, signer, 3)
    mine = []
    with open_store(f"sqlite:///{site['state'] / 'history.sqlite'}") as store:
        for i, where in enumerate(("by-hand", "scheduled", "scheduled")):
            synth = Synth(BASE_TIME + timedelta(days=7 * i))
            synth.report["site"]["school"]["code"] = "T-1"
            mine.append(synth.write(site["tmp"] / where / f"run{i}", signer))
            store.ingest(mine[-1])
        result = store.prune(keep=1, delete_bundles=True, school="T-1",
                             bundles_under=site["tmp"] / "scheduled")
        assert sorted(Path(r.bundle_path).name for r in result.removed) == ["run0", "run1"]
        assert result.bundles_deleted == [str(mine[1].resolve())]
        assert result.bundles_kept == [(str(mine[0].resolve()), f"outside {site['tmp'] / 'scheduled'}")]
        assert len(store.runs(school="T-2")) == 3 and all(p.is_dir() for p in others)
        assert mine[0].is_dir() and not mine[1].exists() and mine[2].is_dir()


# ---------------------------------------------------------------------------- logs


def _syslog_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """What the schedule logger sends to the journal/syslog socket: a real datagram socket
    stands in for /dev/log (this machine may have none)."""
    import logging.handlers
    import socket

    from auditor.scheduling import logs
    from auditor.secrets import SecretRef, SecretResolver

    path = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    real_init = logging.handlers.SysLogHandler.__init__

    def to_test_socket(self: logging.handlers.SysLogHandler, *args: Any, **kwargs: Any) -> None:
        real_init(self, address=path)

    monkeypatch.setattr(logging.handlers.SysLogHandler, "__init__", to_test_socket)
    monkeypatch.setattr(logs, "Path", lambda p: tmp_path / "log.sock" if p == "/dev/log" else Path(p))
    resolver = SecretResolver(None, environ={"OPS_TOKEN": "ops-token-for-syslog"})
    resolver.resolve(SecretRef(env="OPS_TOKEN"), "test")
    log = logs.setup(tmp_path / "logs", [resolver])
    try:
        logs.event(log, "notify.failed", "webhook said: bad token ops-token-for-syslog", "T-1", "run-1")
        return server.recv(65536)
    finally:
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        server.close()


def test_syslog_lines_are_json_and_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = _syslog_line(tmp_path, monkeypatch)
    doc = json.loads(line[line.index(b"{"):].rstrip(b"\x00"))
    assert doc["event"] == "notify.failed" and doc["school"] == "T-1" and doc["run"] == "run-1"
    assert doc["message"] == "webhook said: bad token ********" and b"ops-token-for-syslog" not in line
    assert b"ops-token-for-syslog" not in (tmp_path / "logs" / "auditor.jsonl").read_bytes()


def test_syslog_lines_carry_the_programs_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _syslog_line(tmp_path, monkeypatch).startswith(b"<14>campus-auditor: {")
