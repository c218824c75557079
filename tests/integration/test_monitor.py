"""``auditor monitor`` on loopback: real ICMP/TCP reach, the system resolver, a real ``iperf3 -s``,
and store-and-forward to a signed loopback stub that first refuses (503) and then accepts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from auditor.agent.config import AgentConfig, save_agent_config
from auditor.inventory import Inventory
from auditor.monitor import measure
from auditor.monitor.forward import SignedUploader
from auditor.monitor.loop import Monitor, throughput_tests
from auditor.monitor.measure import ReachTarget, ThroughputTest
from auditor.monitor.store import Store
from auditor.signing import init_keys, load_public_key, load_signer
from tests.support.cli import run_cli
from tests.support.samples_stub import samples_server
from tests.support.servers import free_port


def _rng(seed: int | str) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test plans, not secrets


@contextlib.contextmanager
def tcp_listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def iperf3_server() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                   for c in psutil.net_connections(kind="tcp")):
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def site(iperf_port: int, tcp_port: int, **monitoring: Any) -> dict[str, Any]:
    return {
        "school": {"name": "测试学校", "code": "T-1"},
        "scope": {"allow": ["127.0.0.0/8"]},
        "authorisation": {"authorised_by": "张校长", "role": "校长", "reference": "A-1",
                          "valid_from": date(2020, 1, 1), "valid_until": date(2099, 12, 31)},
        "uplink": {"id": "wan1", "rate_mbps": 1000,
                   "endpoints": [{"id": "metro", "address": "127.0.0.1", "port": iperf_port}],
                   "contract": {"provider": "电信", "down_mbps": 500, "up_mbps": 100}},
        "monitoring": {"dns_names": ["localhost"], "probes": 2,
                       "endpoints": [{"id": "web", "host": "127.0.0.2", "tcp_port": tcp_port}],
                       "throughput": {"duration_s": 1, "windows": ["00:00-23:59"], "allow_class_hours": True,
                                      "max_bytes_per_test": 50_000_000},
                       **monitoring},
    }


def test_reach_icmp_tcp_and_dns_on_loopback() -> None:
    with tcp_listener() as port:
        tcp = asyncio.run(measure.reach(ReachTarget("web", "127.0.0.1", port, icmp=False), 3))
        icmp = asyncio.run(measure.reach(ReachTarget("lo", "127.0.0.1", port, icmp=True), 3))
    assert (tcp.method, tcp.sent, tcp.received) == ("tcp", 3, 3) and tcp.rtt_ms is not None
    assert icmp.sent == 3 and icmp.received == 3
    assert icmp.method == ("icmp" if measure.icmp_permitted() else "tcp")
    async def both() -> list[Any]:  # concurrent echoes never take each other's replies
        return list(await asyncio.gather(*(measure.reach(ReachTarget(a, a, None, icmp=True), 4)
                                           for a in ("127.0.0.1", "127.0.0.2", "127.0.0.3"))))

    if measure.icmp_permitted():
        assert [(r.method, r.received) for r in asyncio.run(both())] == [("icmp", 4)] * 3
    closed = asyncio.run(measure.reach(ReachTarget("shut", "127.0.0.1", free_port(), icmp=False), 2))
    assert (closed.sent, closed.received, closed.rtt_ms) == (2, 0, None)
    dns = asyncio.run(measure.dns("localhost"))
    assert dns.ok and dns.resolve_ms is not None
    bad = asyncio.run(measure.dns("no-such-name.invalid"))
    assert bad.ok is False and bad.reason


def test_throughput_both_directions_against_real_iperf3_within_the_budget(tmp_path: Path) -> None:
    with tcp_listener() as tcp_port, iperf3_server() as iperf_port:
        inv = Inventory.model_validate(site(iperf_port, tcp_port))
        store = Store(tmp_path)
        mon = Monitor(inv, store, tmp_path, agent="agent-1", seed="loopback")
        now = datetime.now(UTC)
        slot = mon.plan(now)[0]
        report = asyncio.run(mon.tick(slot + timedelta(seconds=1)))
    assert report.tests == ["done"]
    samples = store.samples(kind="throughput")
    assert [(s.uplink, s.direction) for s in samples] == [("wan1", "down"), ("wan1", "up")]
    for s in samples:
        assert s.mbps is not None and s.mbps > 0 and s.bytes
        assert s.bytes <= 50_000_000 * 1.05  # -n bounds each test (loopback is faster than 1 s allows)
    assert sum(s.bytes or 0 for s in samples) == store.used_bytes(mon.budget(slot).month) > 0
    argv = throughput_tests(inv)[0].argv()
    assert "-n" in argv and "-R" in argv
    store.close()


def test_throughput_bounded_in_seconds_moves_no_more_than_its_estimate() -> None:
    with iperf3_server() as port:
        test = ThroughputTest("wan1", "127.0.0.1", port, "down", 100, 1, 10**9, link_mbps=200)
        assert "-t" in test.argv() and "-b" in test.argv()
        sample = asyncio.run(measure.throughput(test))
    assert sample.mbps is not None and 0 < sample.mbps <= 200 * 1.05, sample
    assert sample.bytes is not None and 0 < sample.bytes <= test.estimated_bytes * 1.05


def test_forwarding_survives_a_refusing_district_and_sends_each_batch_once(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    init_keys(key_dir)
    signer = load_signer(key_dir)
    public = load_public_key(signer.public_key_pem(), "agent key")
    with (tcp_listener() as tcp_port,
          samples_server(public, signer.keyid, "T-1", [503, 503, 200]) as stub):
        inv = Inventory.model_validate(site(free_port(), tcp_port, throughput={"tests_per_day": 0}))
        store = Store(tmp_path / "state")
        uploader = SignedUploader(stub.url, None, key_dir, "T-1")
        mon = Monitor(inv, store, tmp_path / "state", agent="agent-1", uploader=uploader,
                      rng=_rng(1), backoff_base_s=10, backoff_cap_s=20)
        t = datetime.now(UTC)
        reports = [asyncio.run(mon.tick(t + timedelta(minutes=5 * i))) for i in range(4)]
        uploader.close()
    assert stub.problems == []
    assert [r.upload_error is not None for r in reports] == [True, True, False, False]
    taken = store.samples()
    got = [s for b in sorted(stub.batches.values(), key=lambda b: b.seq) for s in b.samples]
    assert len(got) == len(taken)
    assert {s.model_dump_json() for s in got} == {s.model_dump_json() for s in taken}
    assert [b.seq for b in sorted(stub.batches.values(), key=lambda b: b.seq)] == [1, 2, 3, 4]
    assert stub.duplicates == 0 and store.batch_counts()["unsent_batches"] == 0
    kinds = {s.kind for s in got}
    assert kinds == {"reach", "dns", "heartbeat"}
    assert all(b.contracts[0].provider == "电信" for b in stub.batches.values())
    store.close()


def test_cli_run_once_uploads_and_status_shows_it(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    init_keys(key_dir)
    signer = load_signer(key_dir)
    public = load_public_key(signer.public_key_pem(), "agent key")
    home, state = tmp_path / "agent", tmp_path / "monitor"
    with (tcp_listener() as tcp_port,
          samples_server(public, signer.keyid, "T-1", [200]) as stub):
        inv = site(free_port(), tcp_port, throughput={"tests_per_day": 0})
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(inv, allow_unicode=True), encoding="utf-8")
        save_agent_config(home, AgentConfig(server=stub.url, member="T-1", key_dir=key_dir, inventory=path))
        res = run_cli("monitor", "run", "--home", str(home), "--state", str(state), "--once", timeout=120)
        assert res.returncode == 0, res.stderr
        status = run_cli("monitor", "status", "--state", str(state), "--json")
        text = run_cli("monitor", "status", "--state", str(state))
    assert stub.problems == [] and len(stub.batches) == 1
    doc = json.loads(status.stdout)
    assert doc["last_upload"] and doc["queue"]["unsent_batches"] == 0
    assert {e["target"] for e in doc["endpoints"]} == {"wan1/metro", "district", "web"}
    web = next(e for e in doc["endpoints"] if e["target"] == "web")
    assert web["last_reached"] and web["hour_loss_pct"] == 0.0
    assert doc["dns"][0]["name"] == "localhost" and doc["dns"][0]["ok"]
    assert doc["budget"]["limit_bytes"] == 50_000 * 1_000_000
    assert "last upload" in text.stdout


def test_cli_refuses_an_unknown_monitoring_key(tmp_path: Path) -> None:
    inv = site(5201, 80)
    inv["monitoring"]["interval"] = 5
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(inv, allow_unicode=True), encoding="utf-8")
    res = run_cli("monitor", "run", "-i", str(path), "--once", "--state", str(tmp_path / "m"))
    assert res.returncode == 2
    assert "site.yaml" in res.stderr and "monitoring.interval" in res.stderr


@pytest.mark.parametrize("args", [("status",)])
def test_status_without_data_says_how_to_start(tmp_path: Path, args: tuple[str, ...]) -> None:
    res = run_cli("monitor", *args, "--state", str(tmp_path / "none"))
    assert res.returncode == 2 and "auditor monitor run" in res.stderr
