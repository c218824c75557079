"""The server is killed with SIGKILL while a large upload is in flight, then restarted: the agent
(a real ``auditor agent run`` process, uploads rate-limited so the kill lands mid-upload) retries
with back-off and every bundle is stored exactly once; the partial upload is never ingested."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.agent.config import load_agent_config, save_agent_config
from auditor.agent.outbox import Outbox
from auditor.lab.district_harness import cli_argv
from auditor.signing import load_signer
from tests.support.district import DistrictEnv, enrol_agent, make_bundle, random_bytes, start_district


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[DistrictEnv]:
    district = start_district(tmp_path, f"sqlite:///{tmp_path / 'district.db'}")
    try:
        yield district
    finally:
        district.server.stop()


def _wait(what: str, check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _spooling(env: DistrictEnv, at_least: int) -> list[Path]:
    return [p for p in (env.data / "tmp").glob("upload-*.part") if p.stat().st_size >= at_least]


def test_sigkill_mid_upload_then_every_bundle_exactly_once(env: DistrictEnv) -> None:
    home = enrol_agent(env, "KILL-1")
    config = load_agent_config(home)
    save_agent_config(
        home,
        config.model_copy(
            update={
                "upload_rate_kbps": 16000.0,
                "backoff_base_s": 0.3,
                "backoff_cap_s": 1.0,
                "poll_wait_s": 1.0,
            }
        ),
    )
    signer = load_signer(config.key_dir)
    outbox = Outbox(home)
    big = outbox.add(
        make_bundle(
            env.base / "b" / "big",
            signer,
            "KILL-1",
            extra={"evidence/capture.bin": random_bytes(8 * 1024 * 1024)},
        )
    )
    small = [outbox.add(make_bundle(env.base / "b" / f"s{i}", signer, "KILL-1")) for i in range(2)]
    digests = {big.meta.digest, *(e.meta.digest for e in small)}
    assert big.meta.size > 8_000_000
    log = (env.base / "agent.log").open("wb")
    agent = subprocess.Popen(
        cli_argv("agent", "--home", str(home), "run"), stdout=log, stderr=log, start_new_session=True
    )
    try:
        _wait("the large upload to be in flight", lambda: _spooling(env, 1_000_000), 60)
        env.server.kill()
        partial = _spooling(env, 1)
        assert partial and partial[0].stat().st_size < big.meta.size  # killed mid-upload
        stored = {r["bundle_digest"] for r in _runs(env)}
        assert big.meta.digest not in stored
        time.sleep(1.5)  # the agent meets a dead server and backs off
        assert agent.poll() is None
        env.server.start()
        _wait("every bundle to arrive", lambda: len(_runs(env)) >= 3, 90)
        time.sleep(1.5)  # any duplicate would arrive now
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(30)
        log.close()
    runs = _runs(env)
    assert sorted(r["bundle_digest"] for r in runs) == sorted(digests)  # each once
    assert sorted(p.name for p in (env.data / "bundles" / "KILL-1").iterdir()) == sorted(digests)
    stored_big = env.data / "bundles" / "KILL-1" / big.meta.digest / "evidence" / "capture.bin"
    assert (
        hashlib.sha256(stored_big.read_bytes()).digest()
        == hashlib.sha256(
            (home / "sent")
            .joinpath(
                next(p.name for p in (home / "sent").iterdir() if big.meta.digest[:12] in p.name),
                "bundle",
                "evidence",
                "capture.bin",
            )
            .read_bytes()
        ).digest()
    )
    assert outbox.entries() == [] and len(list((home / "sent").iterdir())) == 3
    assert agent.returncode == 0
    text = (env.base / "agent.log").read_text()
    assert "upload of" in text and "failed" in text  # it did retry


def _runs(env: DistrictEnv) -> list[dict[str, object]]:
    if env.server.health() != 200:
        return []
    return env.runs("KILL-1")
