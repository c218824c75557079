"""Parse Wi-Fi scans: ``iw dev IF scan`` text and ``nmcli -t -f ... dev wifi list`` terse output.

Every BSS becomes a :class:`Bss`: BSSID, SSID (decoded to text), frequency, band, channel,
signal in dBm and the security it advertises.

``iw`` prints the driver's signal in dBm (``signal: -48.00 dBm``); drivers that only know a
relative level print ``signal: 60/100``, which is kept as a percentage with no dBm value.
nmcli only shows NetworkManager's 0-100 "strength", which NetworkManager computes from the
supplicant's dBm by ``nm_wifi_utils_level_to_quality``: clamp to −100..−40 dBm, then
``100 - int(100 * |dBm + 40| / 60)``. :func:`nm_quality_to_dbm` inverts that. The inverse is
exact for the integer dBm values the supplicant reports between −99 and −41; 100 % means
"−40 dBm or stronger" and 0 % "−100 dBm or weaker", and percentages no integer dBm maps to
(the scale has 101 steps for 61 dBm values) get the nearest value. A BSS measured through
nmcli is therefore marked ``signal_approx``.
"""

from __future__ import annotations

import re

from auditor.facts import Bss

# nmcli fields the survey asks for, in this order (``nmcli -t -f <these> dev wifi list``).
NMCLI_FIELDS = ("IN-USE", "BSSID", "SSID", "MODE", "CHAN", "FREQ", "RATE", "SIGNAL", "SECURITY")

# iw RSN/WPA authentication-suite names → normalised AKM token and the generation it implies.
_AKM: dict[str, tuple[str, str]] = {
    "PSK": ("PSK", "WPA2"),
    "FT/PSK": ("PSK", "WPA2"),
    "PSK/SHA-256": ("PSK", "WPA2"),
    "IEEE 802.1X": ("802.1X", "WPA2"),
    "FT/IEEE 802.1X": ("802.1X", "WPA2"),
    "IEEE 802.1X/SHA-256": ("802.1X", "WPA2"),
    "FT/IEEE 802.1X/SHA-384": ("802.1X", "WPA3"),
    "IEEE 802.1X/SUITE-B": ("802.1X", "WPA3"),
    "IEEE 802.1X/SUITE-B-192": ("802.1X", "WPA3"),
    "SAE": ("SAE", "WPA3"),
    "FT/SAE": ("SAE", "WPA3"),
    "SAE-EXT-KEY": ("SAE", "WPA3"),
    "FT/SAE-EXT-KEY": ("SAE", "WPA3"),
    "OWE": ("OWE", "OWE"),
    "FILS/SHA-256": ("FILS", "WPA2"),
    "FILS/SHA-384": ("FILS", "WPA2"),
    "FT/FILS/SHA-256": ("FILS", "WPA2"),
    "FT/FILS/SHA-384": ("FILS", "WPA2"),
}


class WifiParseError(ValueError):
    """The text is not a scan in the expected format."""




def band_of(freq_mhz: float | None) -> str:
    """The band a centre frequency lies in."""
    if freq_mhz is None:
        return "unknown"
    if 2400 <= freq_mhz < 2500:
        return "2.4GHz"
    if 4900 <= freq_mhz < 5925:
        return "5GHz"
    if 5925 <= freq_mhz <= 7125:
        return "6GHz"
    return "unknown"


def channel_of(freq_mhz: float | None) -> int | None:
    """The IEEE channel number of a 2.4, 5 or 6 GHz centre frequency."""
    if freq_mhz is None:
        return None
    f = round(freq_mhz)
    band = band_of(freq_mhz)
    if band == "2.4GHz":
        return 14 if f == 2484 else (f - 2407) // 5
    if band == "5GHz":
        return (f - 5000) // 5
    if band == "6GHz":
        return 2 if f == 5935 else (f - 5950) // 5
    return None


def nm_level_to_quality(dbm: int) -> int:
    """NetworkManager's dBm → strength percentage (``nm_wifi_utils_level_to_quality``)."""
    distance = abs(min(max(dbm, -100), -40) + 40)
    return min(max(100 - int(100.0 * distance / 60.0), 0), 100)


def nm_quality_to_dbm(percent: int) -> float:
    """Invert :func:`nm_level_to_quality`: the integer dBm NetworkManager turned into ``percent``.

    0 and 100 are the clamped ends (−100 and −40: the real signal may be beyond them);
    percentages no integer dBm produces get the nearest value on the linear scale.
    """
    if not 0 <= percent <= 100:
        raise WifiParseError(f"signal strength {percent}% is outside 0..100")
    for dbm in range(-100, -39):
        if nm_level_to_quality(dbm) == percent:
            return float(dbm)
    return round(-100 + 0.6 * percent, 1)


# ---------------------------------------------------------------------------- iw

_BSS = re.compile(r"^BSS (?P<bssid>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})(?:\(on (?P<dev>[^)]*)\))?")
_SIGNAL_DBM = re.compile(r"^signal:\s*(?P<v>-?\d+(?:\.\d+)?)\s*dBm")
_SIGNAL_UNSPEC = re.compile(r"^signal:\s*(?P<v>\d+)/100")
_FREQ = re.compile(r"^freq:\s*(?P<v>\d+(?:\.\d+)?)")
_HEX = re.compile(rb"\\x([0-9a-fA-F]{2})")


def decode_iw_ssid(text: str) -> tuple[str, bool]:
    """Undo iw's SSID escaping (``\\xNN`` for non-printable bytes, spaces at the ends and ``\\``).

    Returns (ssid, hidden): an empty SSID or one of only NUL bytes is a hidden network.
    """
    raw = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    if not raw or not raw.strip(b"\x00"):
        return "", True
    return raw.decode("utf-8", "replace"), False


class _IwBss:
    """Accumulates the lines of one ``BSS`` block."""

    def __init__(self, bssid: str) -> None:
        self.bssid = bssid.lower()
        self.ssid: str | None = None
        self.hidden = True
        self.freq: float | None = None
        self.signal_dbm: float | None = None
        self.signal_pct: int | None = None
        self.privacy = False
        self.wpa1 = False
        self.rsn = False
        self.akm_names: list[str] = []
        self.rsn_akm: list[str] = []
        self.section: str | None = None

    def feed(self, line: str) -> None:
        text = line.strip()
        indent = len(line) - len(line.lstrip("\t"))
        if indent == 1 and not text.startswith("*"):
            self.section = None
        if (m := _FREQ.match(text)) and indent == 1:
            self.freq = float(m.group("v"))
        elif (m := _SIGNAL_DBM.match(text)) and indent == 1:
            self.signal_dbm = float(m.group("v"))
        elif (m := _SIGNAL_UNSPEC.match(text)) and indent == 1:
            self.signal_pct = int(m.group("v"))
        elif text.startswith("capability:") and indent == 1:
            self.privacy = "Privacy" in text.split()
        elif text.startswith("SSID:") and indent == 1 and self.ssid is None:
            value = line.split("SSID:", 1)[1]
            value = value[1:] if value.startswith(" ") else value
            self.ssid, self.hidden = decode_iw_ssid(value.rstrip("\n"))
        elif text.startswith("RSN:") and indent == 1:
            self.rsn, self.section = True, "RSN"
        elif text.startswith("WPA:") and indent == 1:
            self.wpa1, self.section = True, "WPA"
        if self.section and "Authentication suites:" in text:
            names = _split_suites(text.split("Authentication suites:", 1)[1])
            if self.section == "RSN":
                self.rsn_akm.extend(names)
            self.akm_names.extend(names)

    def build(self) -> Bss:
        protocols: list[str] = []
        akm: list[str] = []
        for name in self.akm_names:
            token = _AKM.get(name, (name, ""))[0]
            if token not in akm:
                akm.append(token)
        if self.wpa1:
            protocols.append("WPA1")
        if self.rsn:
            gens = {_AKM.get(n, ("", "WPA2"))[1] for n in self.rsn_akm} or {"WPA2"}
            protocols.extend(g for g in ("WPA2", "WPA3", "OWE") if g in gens)
        if not protocols and self.privacy:
            protocols.append("WEP")
        return Bss(
            bssid=self.bssid, ssid=self.ssid or "", hidden=self.hidden if self.ssid is not None else True,
            freq_mhz=self.freq, band=band_of(self.freq), channel=channel_of(self.freq),
            signal_dbm=self.signal_dbm, signal_percent=self.signal_pct, signal_approx=False,
            protocols=tuple(protocols), akm=tuple(akm), privacy=self.privacy,
        )


def _split_suites(text: str) -> list[str]:
    """``PSK SAE`` → [PSK, SAE]; ``IEEE 802.1X FT/IEEE 802.1X`` → the two names."""
    words = text.split()
    names: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.endswith("IEEE") and i + 1 < len(words):  # "IEEE 802.1X", "FT/IEEE 802.1X/SHA-384"
            word = f"{word} {words[i + 1]}"
            i += 1
        names.append(word)
        i += 1
    return names


def parse_iw_scan(text: str) -> list[Bss]:
    """Parse ``iw dev IF scan`` (or ``scan dump``) output into BSS rows, in output order.

    Raises :class:`WifiParseError` when the text has content but no ``BSS`` block (an error
    message or another tool's output); an empty scan (no networks) parses to ``[]``.
    """
    blocks: list[_IwBss] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _BSS.match(line)
        if match:
            blocks.append(_IwBss(match.group("bssid")))
        elif blocks and line.startswith("\t"):
            blocks[-1].feed(line)
        elif not blocks:
            raise WifiParseError(f"not iw scan output: first line is {line.strip()[:80]!r}")
    return [b.build() for b in blocks]


# ---------------------------------------------------------------------------- nmcli


def split_terse(line: str) -> list[str]:
    """Split one line of ``nmcli -t`` output at unescaped colons; unescape ``\\:`` and ``\\\\``."""
    fields: list[str] = []
    current: list[str] = []
    chars = iter(line)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    return fields


def _nm_security(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    tokens = set(text.split())
    protocols = [p for p in ("WEP", "WPA1", "WPA2", "WPA3", "OWE") if p in tokens]
    akm: list[str] = []
    if "802.1X" in tokens:
        akm.append("802.1X")
    if ("WPA1" in tokens or "WPA2" in tokens) and "802.1X" not in tokens:
        akm.append("PSK")
    if "WPA3" in tokens and "802.1X" not in tokens:
        akm.append("SAE")
    if "OWE" in tokens or "OWE-TM" in tokens:
        akm.append("OWE")
        if "OWE" not in protocols:
            protocols.append("OWE")
    if "802.1X" in tokens and not protocols:  # dynamic WEP / WPA enterprise without generation
        protocols.append("WPA2")
    return tuple(protocols), tuple(akm)


def _nm_number(text: str) -> float | None:
    match = re.match(r"\s*(\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else None


def parse_nmcli_terse(text: str, fields: tuple[str, ...] = NMCLI_FIELDS) -> list[Bss]:
    """Parse ``nmcli -t -f <fields> dev wifi list`` output (terse: colon-separated, escaped).

    ``fields`` must name BSSID, SSID, FREQ, SIGNAL and SECURITY. Raises
    :class:`WifiParseError` on a line with the wrong number of fields (nmcli's error text,
    or output made with other ``-f`` fields).
    """
    need = {"BSSID", "SSID", "FREQ", "SIGNAL", "SECURITY"}
    if not need <= set(fields):
        raise WifiParseError(f"nmcli fields {','.join(fields)} lack one of {', '.join(sorted(need))}")
    rows: list[Bss] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        values = split_terse(line)
        if len(values) != len(fields):
            raise WifiParseError(
                f"line {number} has {len(values)} fields, expected {len(fields)} "
                f"({','.join(fields)}): {line.strip()[:80]!r}")
        row = dict(zip(fields, values, strict=True))
        bssid = row["BSSID"].lower()
        if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", bssid):
            raise WifiParseError(f"line {number}: {row['BSSID']!r} is not a BSSID")
        freq = _nm_number(row["FREQ"])
        pct_value = _nm_number(row["SIGNAL"])
        if pct_value is None:
            raise WifiParseError(f"line {number}: signal {row['SIGNAL']!r} is not a percentage")
        percent = int(pct_value)
        security = "" if row["SECURITY"].strip() == "--" else row["SECURITY"]
        protocols, akm = _nm_security(security)
        ssid = "" if row["SSID"] == "--" else row["SSID"]
        rows.append(Bss(
            bssid=bssid, ssid=ssid, hidden=not ssid.strip("\x00"), freq_mhz=freq, band=band_of(freq),
            channel=channel_of(freq), signal_dbm=nm_quality_to_dbm(percent), signal_percent=percent,
            signal_approx=True, protocols=protocols, akm=akm, privacy=bool(protocols),
        ))
    return rows

