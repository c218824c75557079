"""PostgreSQL goes down under a running server: requests answer 503 (nothing stored, nothing lost),
the agent keeps its bundle queued, and delivers it once the database is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.agent.config import load_agent_config, save_agent_config
from auditor.agent.outbox import Outbox
from auditor.lab.district_harness import cli
from auditor.signing import load_signer
from tests.support.district import DistrictEnv, enrol_agent, make_bundle, start_district
from tests.support.pg import PORT, Cluster, ClusterUnavailable, _run, throwaway_cluster


@pytest.fixture()
def cluster() -> Iterator[Cluster]:
    try:
        with throwaway_cluster() as c:
            yield c
    except ClusterUnavailable as exc:
        pytest.skip(f"no throw-away PostgreSQL: {exc}")


def _pg_ctl(cluster: Cluster, action: str) -> None:
    options = (
        f"-c listen_addresses='' -c unix_socket_directories='{cluster.socket_dir}' -p {PORT} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    argv = [str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.root / "data"), "-w", "-t", "60"]
    argv += (
        ["-m", "fast", "stop"]
        if action == "stop"
        else ["-l", str(cluster.root / "server.log"), "-o", options, "start"]
    )
    _run(argv, cluster.root)


@pytest.fixture()
def env(cluster: Cluster, tmp_path: Path) -> Iterator[DistrictEnv]:
    district = start_district(tmp_path, cluster.new_database())
    try:
        yield district
    finally:
        district.server.stop()


def test_database_outage_is_503_and_loses_nothing(env: DistrictEnv, cluster: Cluster) -> None:
    home = enrol_agent(env, "PG-1")
    config = load_agent_config(home)
    save_agent_config(home, config.model_copy(update={"backoff_base_s": 0.2, "backoff_cap_s": 0.4}))
    outbox = Outbox(home)
    entry = outbox.add(make_bundle(env.base / "b", load_signer(config.key_dir), "PG-1"))
    _pg_ctl(cluster, "stop")
    try:
        assert env.server.health() == 503
        with env.http() as http:
            got = http.get("/v1/admin/members", headers={"authorization": f"Bearer {env.admin}"})
        assert got.status_code == 503 and "unavailable" in got.json()["detail"]
        assert got.headers["retry-after"] == "5"
        res = cli("agent", "--home", str(home), "run", "--once", "--wait", "0")
        assert res.returncode == 1 and "503" in res.stderr and "waiting in the outbox 1" in res.stderr
        assert [e.meta.digest for e in outbox.entries()] == [entry.meta.digest]
        assert outbox.entries()[0].meta.attempts == 1
    finally:
        _pg_ctl(cluster, "start")
    deadline = time.monotonic() + 30
    while env.server.health() != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    res = cli("agent", "--home", str(home), "run", "--once", "--wait", "0")
    assert res.returncode == 0, res.stderr
    assert [r["bundle_digest"] for r in env.runs("PG-1")] == [entry.meta.digest]
    assert outbox.entries() == []
