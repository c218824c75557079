"""Wi-Fi scan parsers on scans in tests/data/wifi.

The fixtures are written by the project in the exact formats the tools print: ``iw dev IF
scan`` as iw 4.14-6.x prints it for iwlwifi, ath9k, brcmfmac and mt76 (tab indentation,
``signal: -48.00 dBm``, ``freq: 5745.0`` in newer iw, RSN/WPA blocks, ``\\xNN`` escapes for
non-ASCII, hidden SSIDs as an empty name or NUL bytes), and ``nmcli -t -f IN-USE,BSSID,SSID,
MODE,CHAN,FREQ,RATE,SIGNAL,SECURITY dev wifi list`` terse output with ``\\:`` escapes. The
nmcli percentages are NetworkManager's conversion of the same dBm the iw fixtures show.
"""

from __future__ import annotations

import pytest

from auditor.probes.parsers.wifi_scan import (
    Bss,
    WifiParseError,
    band_of,
    channel_of,
    decode_iw_ssid,
    nm_level_to_quality,
    nm_quality_to_dbm,
    parse_iw_scan,
    parse_nmcli_terse,
    split_terse,
)
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "wifi"


def _iw(name: str) -> dict[str, Bss]:
    return {b.bssid: b for b in parse_iw_scan((DATA / name).read_text(encoding="utf-8"))}


def test_iwlwifi_scan() -> None:
    rows = _iw("iw-iwlwifi-teaching.txt")
    assert len(rows) == 7
    ap = rows["3c:37:86:5a:1b:2c"]
    assert (ap.ssid, ap.freq_mhz, ap.band, ap.channel, ap.signal_dbm) == ("BJ-School", 5180, "5GHz", 36, -48)
    assert ap.protocols == ("WPA2", "WPA3") and ap.akm == ("PSK", "SAE") and not ap.signal_approx
    staff = rows["3c:37:86:5a:1b:2d"]
    assert staff.protocols == ("WPA2",) and staff.akm == ("802.1X",)
    assert rows["3c:37:86:5a:1b:20"].band == "2.4GHz" and rows["3c:37:86:5a:1b:20"].channel == 1
    open_net = rows["70:3a:cb:10:22:01"]
    assert open_net.is_open and open_net.security == "open" and not open_net.privacy
    hidden = rows["24:69:68:aa:bb:cc"]
    assert hidden.hidden and hidden.ssid == "" and hidden.channel == 149
    assert rows["c8:3a:35:01:02:03"].ssid == "DIRECT-教学楼打印机"


def test_ath9k_scan_wep_wpa1_and_nul_hidden() -> None:
    rows = _iw("iw-ath9k-activity.txt")
    assert rows["00:1d:0f:aa:10:20"].is_wep and rows["00:1d:0f:aa:10:20"].security == "WEP"
    legacy = rows["3c:37:86:5a:3c:20"]
    assert legacy.protocols == ("WPA1",) and legacy.akm == ("PSK",)
    mixed = rows["14:cf:92:33:44:55"]  # WPA and RSN blocks, then a WPS block that must not leak in
    assert mixed.protocols == ("WPA1", "WPA2") and mixed.akm == ("PSK",)
    nul = rows["5e:a1:09:00:3c:77"]
    assert nul.hidden and nul.ssid == ""
    assert rows["3c:37:86:5a:3c:10"].signal_dbm == -72


def test_brcmfmac_and_mt76_scans() -> None:
    brcm = _iw("iw-brcmfmac-office.txt")
    assert brcm["f2:18:98:4c:61:0a"].ssid == "Teacher Wang's iPhone"
    assert brcm["3c:37:86:5a:2a:1c"].channel == 44 and brcm["3c:37:86:5a:2a:1c"].signal_dbm == -66
    mt = _iw("iw-mt76-teaching.txt")
    assert mt["3c:37:86:5a:1c:4c"].freq_mhz == 5745.0 and mt["3c:37:86:5a:1c:4c"].channel == 149
    six = mt["62:45:b1:00:12:9e"]
    assert (six.band, six.channel, six.ssid) == ("6GHz", 37, "Lab\\Test ")
    assert six.protocols == ("WPA3",) and six.akm == ("SAE",)
    assert mt["3c:37:86:5a:1c:4d"].protocols == ("WPA3",)  # 802.1X/SUITE-B-192
    owe = mt["0a:12:f3:44:55:01"]
    assert owe.protocols == ("OWE",) and not owe.is_open


def test_nmcli_terse() -> None:
    rows = {b.bssid: b for b in parse_nmcli_terse((DATA / "nmcli-terse-office.txt").read_text("utf-8"))}
    assert len(rows) == 10
    ap = rows["3c:37:86:5a:2a:1c"]
    assert ap.signal_percent == 57 and ap.signal_dbm == -66 and ap.signal_approx
    assert (ap.band, ap.channel, ap.protocols) == ("5GHz", 44, ("WPA2", "WPA3"))
    assert rows["3c:37:86:5a:2a:1d"].akm == ("802.1X",)
    assert rows["9a:00:11:22:33:44"].is_open and rows["00:1d:0f:aa:10:20"].is_wep
    assert rows["24:69:68:aa:bb:cc"].hidden
    assert rows["f2:18:98:4c:61:0a"].ssid == "Lab:Printer\\2"
    assert rows["c8:3a:35:01:02:03"].ssid == "DIRECT-教学楼打印机"
    assert rows["3c:37:86:5a:3c:20"].protocols == ("WPA1",)


def test_nm_percentage_conversion_inverts_networkmanager() -> None:
    assert [nm_level_to_quality(d) for d in (-30, -40, -41, -67, -70, -100, -110)] == [
        100, 100, 99, 55, 50, 0, 0]
    for dbm in range(-99, -40):  # exact for integer dBm inside the linear range
        assert nm_quality_to_dbm(nm_level_to_quality(dbm)) == dbm
    assert nm_quality_to_dbm(1) == pytest.approx(-99.4)  # no integer dBm gives 1 %: nearest
    with pytest.raises(WifiParseError):
        nm_quality_to_dbm(101)


def test_helpers() -> None:
    assert split_terse(r"a\:b:c\\:") == ["a:b", "c\\", ""]
    assert decode_iw_ssid(r"\xe6\x95\x99 A\x5c") == ("教 A\\", False)
    assert decode_iw_ssid("") == ("", True)
    assert [band_of(f) for f in (2412, 5180, 5955, 900, None)] == [
        "2.4GHz", "5GHz", "6GHz", "unknown", "unknown"]
    assert [channel_of(f) for f in (2484, 2472, 5825, 5955, 5935)] == [14, 13, 165, 1, 2]


def test_round_trip_json() -> None:
    for b in _iw("iw-mt76-teaching.txt").values():
        assert Bss.from_json(b.to_json()) == b


def test_bad_input_is_rejected() -> None:
    with pytest.raises(WifiParseError, match="not iw scan output"):
        parse_iw_scan("command failed: Operation not permitted (-1)\n")
    assert parse_iw_scan("") == []
    with pytest.raises(WifiParseError, match="fields"):
        parse_nmcli_terse("Error: NetworkManager is not running.\n")
    with pytest.raises(WifiParseError, match="not a BSSID"):
        parse_nmcli_terse(" :xx:BJ:Infra:1:2412 MHz:54 Mbit/s:50:WPA2\n")
