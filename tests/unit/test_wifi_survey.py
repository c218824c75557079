"""Wi-Fi survey records, the ``wifi survey`` command and the ``wifi.surveys`` probe.

Scans come from tests/data/wifi (written by the project in the exact formats ``iw`` and
``nmcli`` print; see test_wifi_parsers.py). The failure paths of a live scan run the real
``iw`` binary (in a network namespace of our own, ``hc-wifi-*``, with no wireless device)
and the real command with a PATH that lacks the scanner.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli.wifi import wifi
from auditor.context import RunContext
from auditor.errors import InputError, ProbeError, TargetUnreachable
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.probes.wifi_capture import (
    SCHEMA,
    import_scan,
    load_surveys,
    read_survey,
    resolve_area,
    scan_argv,
)
from auditor.probes.wifi_surveys import WifiSurveySettings, WifiSurveysProbe
from auditor.secrets import SecretResolver
from tests.support.paths import DATA as DATA_ROOT
from tests.support.wifi import wifi_inventory

DATA = DATA_ROOT / "wifi"


@pytest.fixture()
def inventory(tmp_path: Path) -> tuple[Path, Inventory]:
    return wifi_inventory(tmp_path)


def _ctx(inv: Inventory, bundle: Path) -> RunContext:
    secrets = SecretResolver(None, environ={})
    return RunContext(inv, EvidenceStore(bundle, secrets), secrets)


def _run_probe(inv: Inventory, directory: Path, bundle: Path, area: str, max_age: int = 180) -> object:
    probe = WifiSurveysProbe()
    inv = inv.model_copy(update={"wifi": inv.wifi.model_copy(update={"surveys": directory})}
                         if inv.wifi else {})
    tasks = {t.target: t for t in probe.plan(inv, WifiSurveySettings(max_age_days=max_age))}
    return asyncio.run(probe.run(tasks[f"area/{area}"], _ctx(inv, bundle)))


def test_probe_reads_newest_record_per_point(inventory: tuple[Path, Inventory], tmp_path: Path) -> None:
    _path, inv = inventory
    store = tmp_path / "store"
    now = datetime.now(UTC)
    import_scan(inv, "t301", DATA / "iw-mt76-teaching.txt", "iw", point="back",
                taken_at=now - timedelta(days=40), directory=store)
    import_scan(inv, "t301", DATA / "iw-iwlwifi-teaching.txt", "iw", point="back",
                taken_at=now - timedelta(days=2), directory=store)
    import_scan(inv, "t301", DATA / "nmcli-terse-office.txt", "nmcli", point="front",
                taken_at=now - timedelta(days=1), directory=store)
    import_scan(inv, "t301", DATA / "iw-ath9k-activity.txt", "iw", point="door",
                taken_at=now - timedelta(days=400), directory=store)  # too old: ignored
    assert len(load_surveys(store, "t301")) == 4
    bundle = tmp_path / "bundle"
    facts = _run_probe(inv, store, bundle, "t301")
    assert isinstance(facts, list)
    (fact,) = facts
    assert fact.kind == "wifi.survey" and fact.subject == "area/t301"
    data = fact.data
    assert data["area_class"] == "teaching" and data["superseded"] == 2
    assert [(s["point"], s["tool"]) for s in data["surveys"]] == [("back", "iw"), ("front", "nmcli")]
    assert data["surveys"][0]["bss"][0]["bssid"] == "3c:37:86:5a:1b:2c"  # the newer "back" scan
    assert len(fact.artifacts) == 4
    for rel in fact.artifacts:
        assert (bundle / rel).is_file()
    raw = next(a for a in fact.artifacts if a.endswith(".iw.txt"))
    assert (bundle / raw).read_text("utf-8") == (DATA / "iw-iwlwifi-teaching.txt").read_text("utf-8")


def test_probe_errors_without_current_evidence(inventory: tuple[Path, Inventory], tmp_path: Path) -> None:
    _path, inv = inventory
    store = tmp_path / "store"
    with pytest.raises(TargetUnreachable, match=r"no survey record for area office2 .*auditor wifi survey"):
        _run_probe(inv, store, tmp_path / "b1", "office2")
    import_scan(inv, "office2", DATA / "iw-brcmfmac-office.txt", "iw",
                taken_at=datetime.now(UTC) - timedelta(days=200, hours=1), directory=store)
    with pytest.raises(TargetUnreachable, match=r"no current evidence .* newest survey is 200 days old"):
        _run_probe(inv, store, tmp_path / "b2", "office2")
    facts = _run_probe(inv, store, tmp_path / "b3", "office2", max_age=365)
    assert isinstance(facts, list) and facts[0].data["surveys"][0]["point"] is None


def test_broken_or_misplaced_record_is_an_error(inventory: tuple[Path, Inventory], tmp_path: Path) -> None:
    _path, inv = inventory
    store = tmp_path / "store"
    path, _rows = import_scan(inv, "t301", DATA / "iw-brcmfmac-office.txt", "iw", directory=store)
    (store / "office2").mkdir()
    shutil.copy(path, store / "office2" / path.name)
    with pytest.raises(ProbeError, match="is for area 't301' but lies in the folder of 'office2'"):
        load_surveys(store, "office2")
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProbeError, match=re.escape(f"survey record {path} is unreadable")):
        load_surveys(store, "t301")


def test_area_and_argv(inventory: tuple[Path, Inventory]) -> None:
    _path, inv = inventory
    assert resolve_area(inv, "t301") == resolve_area(inv, "教学楼 301")
    with pytest.raises(InputError):
        resolve_area(inv, "T301")
    assert scan_argv("iw", "wlan0") == ["iw", "dev", "wlan0", "scan"]
    assert scan_argv("nmcli", None)[:4] == ["nmcli", "-t", "-f", "IN-USE,BSSID,SSID,MODE,CHAN,FREQ,RATE,"
                                                                "SIGNAL,SECURITY"]
    with pytest.raises(InputError, match="needs --interface"):
        scan_argv("iw", None)


# -------------------------------------------------------------- real tools, failure paths


def test_cli_import_writes_record_and_raw(inventory: tuple[Path, Inventory], tmp_path: Path) -> None:
    inv_path, _inv = inventory
    res = CliRunner().invoke(wifi, [
        "survey", "-i", str(inv_path), "--area", "教学楼 301", "--point", "front row",
        "--from-file", str(DATA / "iw-iwlwifi-teaching.txt"), "--tool", "iw",
        "--taken-at", "2025-03-04T09:30:00+08:00"])
    assert res.exit_code == 0, res.output
    assert "7 BSS seen, 3 broadcasting a school SSID, best school-SSID signal -41 dBm" in res.output
    folder = tmp_path / "surveys" / "t301"  # wifi.surveys is relative to the inventory file
    (record_path,) = folder.glob("*.json")
    assert record_path.name == "20250304T013000Z-front-row.json"
    record = json.loads(record_path.read_text("utf-8"))
    assert record["schema"] == SCHEMA and record["version"] == 1
    assert (record["area"], record["area_name"], record["point"]) == ("t301", "教学楼 301", "front row")
    assert record["taken_at"] == "2025-03-04T01:30:00Z" and record["tool"] == "iw"
    assert record["imported_from"] == "iw-iwlwifi-teaching.txt"
    raw = folder / record["raw_file"]
    assert raw.read_text("utf-8") == (DATA / "iw-iwlwifi-teaching.txt").read_text("utf-8")
    survey = read_survey(record_path)
    assert [b.bssid for b in survey.bss][:2] == ["3c:37:86:5a:1b:2c", "3c:37:86:5a:1b:20"]
    assert survey.taken_at == datetime(2025, 3, 4, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("args, message", [
    (["--area", "体育馆"], "area '体育馆' is not in the inventory's wifi_areas (known: t301 (教学楼 301)"),
    (["--area", "t301", "--from-file", "x.txt"], "--from-file needs --tool iw or --tool nmcli"),
    (["--area", "t301", "--from-file", str(DATA / "nmcli-terse-office.txt"), "--tool", "iw"],
     "not a iw scan (not iw scan output"),
    (["--area", "t301", "--from-file", str(DATA / "iw-ath9k-activity.txt"), "--tool", "nmcli",
      "--taken-at", "yesterday"], "--taken-at 'yesterday': write an ISO time"),
])
def test_cli_user_errors_exit_2_with_one_line(inventory: tuple[Path, Inventory], args: list[str],
                                               message: str) -> None:
    inv_path, _inv = inventory
    res = CliRunner().invoke(wifi, ["survey", "-i", str(inv_path), *args])
    assert res.exit_code == 2
    assert message in res.output
    assert len(res.output.strip().splitlines()) == 1
