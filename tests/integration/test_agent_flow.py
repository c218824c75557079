"""Real agents (``auditor agent`` child processes) against a real district server on loopback:
enrolment over HTTPS with the district CA pinned, a remote check end to end (the audit runs with
the school's own inventory; its targets lie outside the scope allow-list, so nothing is sent),
class hours (a job cannot override them unless the school's agent allows it; a job with a window
is deferred to the next free window), and store-and-forward with capped exponential back-off.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from auditor.agent.config import AgentConfig, load_agent_config, save_agent_config
from auditor.agent.outbox import Outbox
from auditor.lab.district_harness import cli
from auditor.signing import load_signer
from tests.support.district import DistrictEnv, enrol_agent, make_bundle, start_district

ENV = {"SNMP_COMMUNITY": "not-used-here"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    base = tmp_path_factory.mktemp("agent-flow")
    district = start_district(base, f"sqlite:///{base / 'district.db'}")
    try:
        yield district
    finally:
        district.server.stop()


def request(env: DistrictEnv, code: str, *extra: str) -> str:
    res = cli(
        "district", "--home", str(env.home), "request", "--school", code, "-p", "gbt22239-2019-level2", *extra
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def job(env: DistrictEnv, job_id: str) -> dict[str, object]:
    jobs = env.admin_call("GET", "/v1/admin/jobs").json()["jobs"]
    found: dict[str, object] = next(j for j in jobs if j["id"] == job_id)
    return found


def stored_report(env: DistrictEnv, code: str, digest: str) -> dict[str, object]:
    report: dict[str, object] = json.loads(
        (env.data / "bundles" / code / digest / "report.json").read_bytes()
    )
    return report


def test_enrol_requires_the_district_ca(env: DistrictEnv, tmp_path: Path) -> None:
    res = cli("district", "--home", str(env.home), "enroll", "--school", "NO-CA")
    res = cli(
        "agent",
        "--home",
        str(tmp_path / "a"),
        "enroll",
        env.server.url,
        "--token",
        res.stdout.strip(),
        "--key-dir",
        str(tmp_path / "k"),
    )  # no --ca: the system CAs do not know the district's
    assert res.returncode == 2 and "CERTIFICATE_VERIFY_FAILED" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("school_allows", [False, True])
def test_remote_check_end_to_end(env: DistrictEnv, school_allows: bool) -> None:
    code = f"RC-{int(school_allows)}"
    home = enrol_agent(env, code, *(["--allow-class-hours"] if school_allows else []))
    job_id = request(env, code, "--allow-class-hours")
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "5", env=ENV)
    assert res.returncode == 0, res.stderr
    assert "jobs run 1" in res.stderr and "waiting in the outbox 0" in res.stderr
    done = job(env, job_id)
    assert done["status"] == "done" and done["bundle_digest"]
    runs = env.runs(code)
    assert [r["bundle_digest"] for r in runs] == [done["bundle_digest"]]
    report = stored_report(env, code, str(done["bundle_digest"]))
    assert report["run"]["options"]["allow_class_hours"] is school_allows  # type: ignore[index]
    assert [p["id"] for p in report["profiles"]] == ["gbt22239-2019-level2"]  # type: ignore[attr-defined]
    assert (env.data / "bundles" / code / str(done["bundle_digest"]) / "report.html").is_file()
    sent = list((home / "sent").iterdir())
    assert len(sent) == 1 and (sent[0] / "bundle" / "report.json").is_file()  # the school keeps its copy
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "0", env=ENV)
    assert res.returncode == 0 and "jobs run 0" in res.stderr  # a job runs once


def _around_now(minutes_before: int, minutes_after: int) -> list[dict[str, str]]:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = max(now - timedelta(minutes=minutes_before), now.replace(hour=0, minute=0))
    end = min(now + timedelta(minutes=minutes_after), now.replace(hour=23, minute=59))
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
    return [{"days": [day], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}]


def test_job_in_class_hours_is_deferred_to_a_free_window(env: DistrictEnv) -> None:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    if (now.hour == 23 and now.minute > 50) or (now.hour == 0 and now.minute < 5):
        pytest.skip("too close to midnight to build a lesson around now")
    home = enrol_agent(env, "CH-1", class_hours=_around_now(10, 60))
    job_id = request(env, "CH-1", "--allow-class-hours", "--within", "6h")
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "5", env=ENV)
    assert res.returncode == 0, res.stderr
    assert "jobs run 0" in res.stderr
    deferred = job(env, job_id)
    assert deferred["status"] == "deferred" and "class hours" in str(deferred["message"])
    record = json.loads((home / "jobs" / f"{job_id}.json").read_text())
    assert record["status"] == "deferred" and datetime.fromisoformat(record["run_at"]) > datetime.now(
        ZoneInfo("UTC")
    )
    assert env.runs("CH-1") == []


def test_job_without_a_window_runs_now_with_bandwidth_deferred(env: DistrictEnv) -> None:
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    if (now.hour == 23 and now.minute > 50) or (now.hour == 0 and now.minute < 5):
        pytest.skip("too close to midnight to build a lesson around now")
    home = enrol_agent(env, "CH-2", class_hours=_around_now(10, 60))
    job_id = request(env, "CH-2", "--allow-class-hours")
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "5", env=ENV)
    assert res.returncode == 0, res.stderr
    done = job(env, job_id)
    assert done["status"] == "done"
    report = stored_report(env, "CH-2", str(done["bundle_digest"]))
    assert report["run"]["options"]["allow_class_hours"] is False  # type: ignore[index]


def test_store_and_forward(env: DistrictEnv) -> None:
    home = enrol_agent(env, "SF-1")
    config = load_agent_config(home)
    save_agent_config(home, config.model_copy(update={"backoff_base_s": 0.2, "backoff_cap_s": 0.4}))
    signer = load_signer(config.key_dir)
    outbox = Outbox(home)
    for i in range(3):
        outbox.add(make_bundle(env.base / "sf" / str(i), signer, "SF-1"))
    env.server.stop()
    try:
        res = cli("agent", "--home", str(home), "run", "--once", "--wait", "0", env=ENV)
        assert (
            res.returncode == 1
            and "server unreachable" in res.stderr
            and "waiting in the outbox 3" in res.stderr
        )
        metas = [e.meta for e in outbox.entries()]
        assert [m.attempts for m in metas] == [1, 0, 0]  # stopped at the first sign the server is down
        assert "ConnectError" in str(metas[0].last_error)
    finally:
        env.server.start()
    import time

    time.sleep(0.5)
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "0", env=ENV)
    assert res.returncode == 0, res.stderr
    assert "uploaded 3" in res.stderr and outbox.entries() == []
    assert len(env.runs("SF-1")) == 3 and len(list((home / "sent").iterdir())) == 3


def test_backoff_is_capped_exponential_with_jitter(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "report.dsse.json").write_text("{}")
    entry = outbox.add(bundle)
    rng = random.Random(7)  # noqa: S311 - jitter, seeded for the test
    ceilings = [min(300.0, 2.0 * 2**n) for n in range(12)]
    delays = [outbox.retry_later(entry, "down", 2.0, 300.0, rng) for _ in ceilings]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 300 and delays[-1] >= 150
    assert outbox.entries()[0].meta.attempts == 12


def test_agent_config_is_the_schools(env: DistrictEnv) -> None:
    home = enrol_agent(env, "CFG-1")
    config = AgentConfig.model_validate(yaml.safe_load((home / "agent.yaml").read_text()))
    assert config.member == "CFG-1" and config.allow_class_hours is False
    assert (home / "district-ca.pem").read_bytes() == env.server.ca.read_bytes()  # type: ignore[union-attr]
    assert (home / "agent.yaml").stat().st_mode & 0o077 == 0
