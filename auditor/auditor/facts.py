"""The typed facts that probes hand to checks (and that survey records keep).

A check reads these shapes, never a probe's implementation: probes write them, checks import them
from here (the layer contract in ``pyproject.toml`` enforces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bss:
    """One access point (BSS) as a scan saw it."""

    bssid: str  # lower-case aa:bb:cc:dd:ee:ff
    ssid: str  # "" when hidden
    hidden: bool
    freq_mhz: float | None
    band: str  # "2.4GHz", "5GHz", "6GHz" or "unknown"
    channel: int | None
    signal_dbm: float | None
    signal_percent: int | None = None
    signal_approx: bool = False
    protocols: tuple[str, ...] = ()  # subset of WEP, WPA1, WPA2, WPA3, OWE; () = open
    akm: tuple[str, ...] = ()  # PSK, SAE, 802.1X, OWE, FILS
    privacy: bool = False  # the capability "Privacy" bit (iw) or any security (nmcli)

    @property
    def security(self) -> str:
        """A short label: ``open``, ``WEP``, ``WPA1``, ``WPA2``, ``WPA2/WPA3``..."""
        return "/".join(self.protocols) if self.protocols else "open"

    @property
    def is_open(self) -> bool:
        return not self.protocols

    @property
    def is_wep(self) -> bool:
        return self.protocols == ("WEP",)

    def describe(self) -> str:
        """One line for findings: SSID, BSSID, band, channel, signal, security."""
        name = self.ssid if not self.hidden else "<hidden>"
        if self.signal_dbm is not None:
            sig = f"{'~' if self.signal_approx else ''}{self.signal_dbm:.0f} dBm"
        elif self.signal_percent is not None:
            sig = f"{self.signal_percent}/100 (no dBm)"
        else:
            sig = "no signal"
        chan = f" ch {self.channel}" if self.channel is not None else ""
        akm = f" ({' '.join(self.akm)})" if self.akm else ""
        return f"{name} {self.bssid} {self.band}{chan} {sig} {self.security}{akm}"

    def to_json(self) -> dict[str, Any]:
        return {
            "bssid": self.bssid, "ssid": self.ssid, "hidden": self.hidden, "freq_mhz": self.freq_mhz,
            "band": self.band, "channel": self.channel, "signal_dbm": self.signal_dbm,
            "signal_percent": self.signal_percent, "signal_approx": self.signal_approx,
            "security": self.security, "protocols": list(self.protocols), "akm": list(self.akm),
            "privacy": self.privacy,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bss:
        """Read back a row written by :meth:`to_json` (survey records)."""
        return cls(
            bssid=str(data["bssid"]), ssid=str(data["ssid"]), hidden=bool(data["hidden"]),
            freq_mhz=_opt_float(data.get("freq_mhz")), band=str(data["band"]),
            channel=data.get("channel"), signal_dbm=_opt_float(data.get("signal_dbm")),
            signal_percent=data.get("signal_percent"), signal_approx=bool(data.get("signal_approx")),
            protocols=tuple(data.get("protocols", ())), akm=tuple(data.get("akm", ())),
            privacy=bool(data.get("privacy")),
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
