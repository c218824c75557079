"""``auditor run`` puts the monitoring timeline into the signed report: a real run (every target
outside the scope allow-list, so it sends nothing anywhere) beside a monitor store the test fills
with the samples of the last two days; and a run with no store says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.monitor.store import DB_NAME, Store
from auditor.probes._bandwidth_lock import bandwidth_lock
from auditor.wire.monitoring import Sample
from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE

INVENTORY = OUT_OF_SCOPE.replace(
    "uplink:\n  endpoints:",
    "uplink:\n  contract: {provider: 中国电信, down_mbps: 500, up_mbps: 100}\n  endpoints:",
) + "monitoring:\n  interval_min: 30\n"
ROUNDS = 96  # two days every 30 minutes, before now


def _fill(directory: Path, now: datetime) -> None:
    """The monitor's samples: reach of the uplink's endpoint (three rounds unanswered ten hours
    ago), heartbeats, one test each way (downstream below the contract, upstream refused)."""
    samples: list[Sample] = []
    for k in range(1, ROUNDS + 1):
        at = now - timedelta(minutes=30 * k)
        lost = 20 <= k < 23
        samples += [Sample(kind="heartbeat", at=at),
                    Sample(kind="reach", at=at, target="uplink/district", uplink="uplink", method="tcp",
                           sent=5, received=0 if lost else 5, rtt_ms=None if lost else 1.5)]
    at = now - timedelta(hours=5)
    samples += [
        Sample(kind="throughput", at=at, target="10.200.0.2:5201", uplink="uplink", direction="down",
               mbps=321.0, bytes=200_000_000, valid=True),
        Sample(kind="throughput", at=at, target="10.200.0.2:5201", uplink="uplink", direction="up", bytes=0,
               valid=False, reason="refused: the test may move 100 bytes and the month's budget has 0 left"),
    ]
    store = Store(directory)
    try:
        store.add(samples)
        store.make_batch(now, "T-1", "school-box", (), None)
    finally:
        store.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("monitored")
    assert run_cli("keys", "init", "--key-dir", str(base / "keys")).returncode == 0
    (base / "site.yaml").write_text(INVENTORY, encoding="utf-8")
    _fill(base / "monitor", datetime.now(UTC))
    return base


def _run(base: Path, out: str, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    res = run_cli("run", "-q", "-i", str(base / "site.yaml"), "-p", "beijing-smart-campus-2023",
                  "-o", str(base / out), "--key-dir", str(base / "keys"), "--allow-class-hours",
                  "--no-history", *extra, env={"SNMP_COMMUNITY": "not-used-here", **(env or {})})
    assert res.returncode == 1, res.stdout + res.stderr  # refused targets are errors, not passes
    assert "Traceback" not in res.stderr
    return dict(json.loads((base / out / "report.json").read_bytes()))


@pytest.fixture(scope="module")
def bundle(base: Path) -> Path:
    _run(base, "audit", "--monitor-state", str(base / "monitor"))
    return base / "audit"


def test_the_signed_report_carries_the_timeline(bundle: Path, base: Path) -> None:
    report = json.loads((bundle / "report.json").read_bytes())
    assert report["schema_version"] == "1.2"
    m = report["monitoring"]
    assert m["status"] == "data" and m["window"]["days"] == 7
    assert m["source"]["path"] == str((base / "monitor" / DB_NAME).resolve())
    assert m["source"]["agents"] == ["school-box"] and m["source"]["school"] == "T-1"
    assert m["source"]["in_window"] == {"reach": ROUNDS, "dns": 0, "throughput": 2, "heartbeat": ROUNDS}
    uplink = m["uplinks"][0]
    assert (uplink["id"], uplink["provider"], uplink["down_mbps"]) == ("uplink", "中国电信", 500)
    assert [o["minutes"] for o in uplink["outages"]] == [90.0]
    down, up = sorted(m["throughput"], key=lambda t: t["direction"])
    assert (down["mbps"], down["below_contract"], down["pct_of_contract"]) == (321.0, True, 64.2)
    assert (up["valid"], up["below_contract"]) == (False, None) and up["reason"].startswith("refused")
    assert m["totals"]["uptime_pct"] is not None and m["totals"]["loss_pct"] == round(100 * 15 / 480, 1)


def test_the_bundle_verifies_with_the_timeline_signed(bundle: Path, base: Path) -> None:
    res = run_cli("verify", str(bundle), "--key", str(base / "keys" / "agent-ed25519.pub"))
    assert res.returncode == 0, res.stderr
    page = (bundle / "report.html").read_text(encoding="utf-8")
    assert '<section id="monitoring"' in page and "监测时间线" in page and "321.0 Mbit/s" in page
    assert "## 监测时间线" in (bundle / "report.md").read_text(encoding="utf-8")


def test_without_a_store_the_report_says_so(base: Path) -> None:
    empty = base / "no-monitor-here"
    report = _run(base, "audit-none", env={"AUDITOR_MONITOR_DIR": str(empty)})
    m = report["monitoring"]
    assert (m["status"], m["reason"]) == ("no_data", "no_store")
    assert str(empty.resolve() / DB_NAME) in m["text"]["en"]
    assert not empty.exists(), "the run never creates the monitor's store"
    assert m["text"]["zh"] in (base / "audit-none" / "report.html").read_text(encoding="utf-8")


def test_a_run_waits_for_a_monitoring_test_and_gives_up_saying_who_holds_the_lock(base: Path) -> None:
    """A box with a monitor: the audit holds the monitor's bandwidth lock, so it never measures
    beside a monitoring test; one that keeps the lock longer than --lock-wait stops the run, named."""
    with bandwidth_lock(base / "monitor", what="auditor monitor: throughput test") as held:
        assert held
        res = run_cli("run", "-q", "-i", str(base / "site.yaml"), "-p", "beijing-smart-campus-2023",
                      "-o", str(base / "audit-locked"), "--key-dir", str(base / "keys"), "--no-history",
                      "--monitor-state", str(base / "monitor"), "--lock-wait", "1",
                      env={"SNMP_COMMUNITY": "not-used-here"})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "throughput.lock" in res.stderr and "auditor monitor: throughput test" in res.stderr
    assert "Traceback" not in res.stderr and not (base / "audit-locked" / "report.json").exists()
