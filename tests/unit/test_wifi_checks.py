"""Wi-Fi checks on facts built from the scans in tests/data/wifi.

The scans are written by the project in the exact formats ``iw`` and ``nmcli`` print (see
test_wifi_parsers.py); the facts have the shape the ``wifi.surveys`` probe yields.
"""

from __future__ import annotations

from typing import Any

from auditor.checks.wifi import (
    Band5GHz,
    Rogue,
    RogueParams,
    Security,
    Signal,
    SignalParams,
    SsidParams,
    looks_like,
)
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.parsers.wifi_scan import parse_iw_scan, parse_nmcli_terse
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "wifi"
BASE: dict[str, Any] = {
    "school": {"name": "t"}, "scope": {"allow": ["10.250.0.0/16"]},
    "wifi": {"ssids": ["BJ-School", "BJ-School-Staff"]},
    "wifi_areas": [{"id": "a", "name": "教学楼 301", "area_class": "teaching"}],
}


def inv(area_class: str = "teaching", known: list[str] | None = None) -> Inventory:
    data = {**BASE, "wifi_areas": [{"id": "a", "name": "教学楼 301", "area_class": area_class}],
            "wifi": {**BASE["wifi"], "known_bssids": known or []}}
    return Inventory.model_validate(data)


def scan(name: str) -> list[dict[str, Any]]:
    text = (DATA / name).read_text("utf-8")
    rows = parse_nmcli_terse(text) if name.startswith("nmcli") else parse_iw_scan(text)
    return [b.to_json() for b in rows]


def fact(*points: tuple[str | None, str]) -> FactIndex:
    """A ``wifi.survey`` fact as the probe writes it, one survey point per recorded scan."""
    surveys = [{"taken_at": "2025-03-04T01:30:00Z", "point": p, "host": "h",
                "tool": "nmcli" if name.startswith("nmcli") else "iw", "tool_version": None,
                "interface": "wlan0", "record": f"evidence/wifi/a/{n}.json", "bss": scan(name)}
               for n, (p, name) in enumerate(points)]
    index = FactIndex()
    index.add(Fact("wifi.survey", "area/a", "wifi.surveys", FactStatus.OK,
                   {"area": "a", "area_name": "教学楼 301", "area_class": "teaching", "max_age_days": 180,
                    "superseded": 0, "surveys": surveys}, None, ("evidence/wifi/a/x.json",)))
    return index


def run(check: Any, facts: FactIndex, params: Any, inventory: Inventory | None = None) -> Finding:
    found: list[Finding] = check.evaluate(CheckContext(inventory or inv(), facts, params))
    (finding,) = found
    assert finding.target == "area/a"
    return finding


def test_signal_pass_fail_by_point_and_class() -> None:
    good = run(Signal(), fact(("front", "iw-iwlwifi-teaching.txt")), SignalParams())
    assert good.status is Status.PASS and good.measured == -41 and good.threshold == -67
    assert good.artifacts == ("evidence/wifi/a/x.json",)
    two = fact(("front", "iw-iwlwifi-teaching.txt"), ("back", "iw-mt76-teaching.txt"))
    mixed = run(Signal(), two, SignalParams())  # mt76 point: best school SSID -60 dBm on 2.4 GHz
    assert mixed.status is Status.PASS and mixed.measured == -60
    weak = run(Signal(), fact(("front", "iw-iwlwifi-teaching.txt"), ("corner", "iw-ath9k-activity.txt")),
               SignalParams())
    assert weak.status is Status.FAIL and weak.measured == -69
    assert "below -67 dBm at corner" in weak.message and "front: -41 dBm ≥ -67 dBm" in weak.message
    assert any(line.startswith("corner: BJ-School 3c:37:86:5a:3c:20") for line in weak.lines)
    office = run(Signal(), fact(("corner", "iw-ath9k-activity.txt")), SignalParams(), inv("office"))
    assert office.status is Status.PASS and office.threshold == -70  # -69 ≥ -70
    strict = run(Signal(), fact(("corner", "iw-ath9k-activity.txt")), SignalParams(office_dbm=-65),
                 inv("office"))
    assert strict.status is Status.FAIL


def test_signal_from_nmcli_is_marked_approximate_and_missing_ssid_fails() -> None:
    found = run(Signal(), fact((None, "nmcli-terse-office.txt")), SignalParams())
    assert found.status is Status.PASS and found.measured == -58
    assert "~-58 dBm" in found.message and "approximate" in found.message
    only_staff = run(Signal(), fact(("p", "iw-iwlwifi-teaching.txt")), SignalParams(ssids=["Other"]))
    assert only_staff.status is Status.FAIL and "p: no school SSID heard" in only_staff.message


def test_band_5ghz() -> None:
    assert run(Band5GHz(), fact(("p", "iw-brcmfmac-office.txt")), SsidParams()).status is Status.PASS
    no5 = run(Band5GHz(), fact(("p", "iw-ath9k-activity.txt")), SsidParams())
    assert no5.status is Status.FAIL and "seen only on 2.4GHz" in no5.message


def test_security() -> None:
    ok = run(Security(), fact(("p", "iw-iwlwifi-teaching.txt")), SsidParams())
    assert ok.status is Status.PASS and "WPA2/WPA3 (PSK SAE)" in ok.message
    bad = run(Security(), fact(("p", "iw-ath9k-activity.txt")), SsidParams())
    assert bad.status is Status.FAIL and "BJ-School 3c:37:86:5a:3c:20: WPA1" in bad.message
    assert bad.measured == 1
    unseen = run(Security(), fact(("p", "iw-iwlwifi-teaching.txt")), SsidParams(ssids=["Nope"]))
    assert unseen.status is Status.ERROR


def test_rogue_lookalikes_and_unknown_bssids() -> None:
    found = run(Rogue(), fact(("p", "iw-iwlwifi-teaching.txt")), RogueParams())
    assert found.status is Status.FAIL
    assert "open look-alike 'bj-school-free' 9a:00:11:22:33:44" in found.message
    assert "known_bssids is empty" in found.message
    wep = run(Rogue(), fact(("p", "iw-ath9k-activity.txt")), RogueParams())
    assert wep.status is Status.FAIL and "WEP look-alike 'BJ_School'" in wep.message
    known = ["3c:37:86:5a:2a:1c", "3c:37:86:5a:2a:10", "3c:37:86:5a:2a:1d"]
    twin = run(Rogue(), fact(("p", "iw-brcmfmac-office.txt")), RogueParams(), inv(known=known))
    assert twin.status is Status.FAIL and twin.measured == 1
    assert "unregistered BSSID de:ad:be:ef:00:01 broadcasting 'BJ-School'" in twin.message
    clean = run(Rogue(), fact(("p", "iw-brcmfmac-office.txt")), RogueParams(),
                inv(known=[*known, "de:ad:be:ef:00:01"]))
    assert clean.status is Status.PASS and "all registered" in clean.message
    # the OWE "BJSchool-Guest" is encrypted, so not an open look-alike
    assert run(Rogue(), fact(("p", "iw-mt76-teaching.txt")), RogueParams()).status is Status.PASS


def test_looks_like() -> None:
    assert looks_like("bj-school-free", "BJ-School", 0.8)
    assert looks_like("BJ_SCHOOL", "BJ-School", 0.8)
    assert looks_like("BJ-Schoo1", "BJ-School", 0.8)
    assert not looks_like("CMCC-WEB", "BJ-School", 0.8)
    assert not looks_like("", "BJ-School", 0.8)


def test_missing_and_errored_facts_are_never_pass() -> None:
    for check, params in ((Signal(), SignalParams()), (Band5GHz(), SsidParams()),
                          (Security(), SsidParams()), (Rogue(), RogueParams())):
        missing = run(check, FactIndex(), params)
        assert missing.status is Status.ERROR
        errored = FactIndex()
        errored.add(Fact("wifi.survey", "area/a", "wifi.surveys", FactStatus.ERROR,
                         error="no current evidence for area a: the newest survey is 200 days old"))
        got = run(check, errored, params)
        assert got.status is Status.ERROR and "no current evidence" in got.message
        empty = run(check, fact(), params)
        assert empty.status is Status.ERROR
    no_wifi = Inventory.model_validate({k: v for k, v in BASE.items() if k != "wifi"})
    (f,) = Signal().evaluate(CheckContext(no_wifi, FactIndex(), SignalParams()))
    assert f.status is Status.ERROR and "no 'wifi' section" in f.message
