"""The typed facts that probes hand to checks (and that survey records keep).

A check reads these shapes, never a probe's implementation: probes write them, checks import them
from here (the layer contract in ``pyproject.toml`` enforces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


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


# ---------------------------------------------------------------------------- network devices
#
# What the ``ssh.device_config`` probe (and ``auditor device audit``, offline) hands to the device
# checks: each vendor family's parser (``auditor.vendors``) fills a :class:`DeviceView`. Every
# setting says how it is known (``source``), and when it is not, why (``note``); every value carries
# the lines it rests on, with their file and line number and secrets masked.

Source = Literal["config", "default", "output", "unknown"]
OutputStatus = Literal["ok", "missing", "error_reply", "empty", "unprivileged", "incomplete"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineRef(_Frozen):
    """One line of one collected output: ``output`` is its kind (config, version, ssh, ...)."""

    output: str
    line: int
    text: str  # secrets masked

    def render(self) -> str:
        return f"{self.output}:{self.line}: {self.text}"


class OutputState(_Frozen):
    """Whether one command's answer can be read as evidence, and if not, why."""

    status: OutputStatus
    reason: str = ""
    command: str = ""
    artifact: str | None = None  # the masked copy kept as evidence


class Known(_Frozen, Generic[T]):
    """A setting: its value, how it is known, and the lines it rests on.

    ``source``: ``config`` (a line says so), ``default`` (absent from a complete configuration:
    the vendor's documented default, ``note`` names the document), ``output`` (a show/display
    command said so), ``unknown`` (``value`` is None; ``note`` says why: missing or incomplete
    output, an error reply, a default nobody documented).
    """

    value: T | None = None
    source: str = "unknown"  # a Source, or n/a: the vendor family has no such setting
    note: str = ""
    lines: tuple[LineRef, ...] = ()


class LocalUser(_Frozen):
    name: str
    privilege: int | None = None
    password_form: str | None = None  # plaintext, reversible, hashed, none or unknown (form_reason says why)
    form_reason: str = ""  # what the stored form was judged from (keyword, prefix, type number)
    service_types: tuple[str, ...] | None = None
    lines: tuple[LineRef, ...] = ()


class StoredSecret(_Frozen):
    """A secret that is not an account's: enable/super password, line password, server key."""

    what: str
    form: str  # plaintext, weak (an encoding such as Cisco type 7), reversible or hashed
    form_reason: str = ""
    lines: tuple[LineRef, ...] = ()


class Lockout(_Frozen):
    attempts: int | None = None
    lock_minutes: float | None = None


class Terminal(_Frozen):
    """A console, AUX or VTY line (range) and how it lets people in."""

    name: str
    kind: str  # console, aux or vty
    idle_timeout_s: int | None  # 0: never; None: unknown
    timeout_source: str = "unknown"  # a Source
    acl: str | None = None
    transport: tuple[str, ...] | None = None  # protocols it accepts; None: not configured
    transport_source: str = "unknown"
    login: str | None = None  # how it authenticates: none, password, local or aaa
    login_source: str = "unknown"
    has_password: bool = False
    lines: tuple[LineRef, ...] = ()


class RemoteAuth(_Frozen):
    """Central authentication of administrators: configured servers, and whether the login path
    administrators really take uses them."""

    protocols: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    used_for_login: bool | None = None
    why: str = ""


class Community(_Frozen):
    name: str  # masked unless a well-known default
    guessable: bool | None
    reason: str = ""
    access: str = "ro"  # ro or rw
    acl: str | None = None
    lines: tuple[LineRef, ...] = ()


class V3Group(_Frozen):
    name: str
    level: str  # authPriv, authNoPriv or noAuthNoPriv
    acl: str | None = None
    lines: tuple[LineRef, ...] = ()


class Snmp(_Frozen):
    enabled: bool
    versions: tuple[str, ...] = ()
    versions_source: str = "unknown"
    communities: tuple[Community, ...] = ()
    v3: tuple[V3Group, ...] = ()
    v3_users: tuple[str, ...] = ()
    acl: str | None = None


class Interface(_Frozen):
    name: str
    key: str  # canonical name (auditor.vendors.interfaces)
    shutdown: bool | None = None
    description: str | None = None
    mode: str | None = None  # access, trunk, hybrid or routed
    link: str | None = None  # up, down or admin-down
    lines: tuple[LineRef, ...] = ()


class SshServer(_Frozen):
    enabled: bool | None = None
    v1_allowed: bool | None = None
    v1_source: str = "unknown"
    version: str | None = None  # as the server reports it (2.0, 1.99)


class VersionInfo(_Frozen):
    model: str | None = None
    software: str | None = None  # e.g. "VRP V200R019C10SPC500", "Comware 7.1.070 Release 6615"
    uptime: str | None = None


class NtpSync(_Frozen):
    synchronised: bool
    stratum: int | None = None


class LoggingState(_Frozen):
    """What ``display info-center`` / ``show logging`` says: is syslog really sending."""

    enabled: bool | None = None
    hosts: tuple[str, ...] = ()


class Neighbour(_Frozen):
    local_port: str
    remote_name: str | None = None
    remote_port: str | None = None
    remote_address: str | None = None


class Clock(_Frozen):
    device_time: str  # ISO 8601, as the device printed it (converted with its time zone offset)
    skew_s: float | None = None  # device minus the agent's clock when read; None offline


class DeviceView(_Frozen):
    """Everything the device checks may read about one switch or router."""

    vendor: str
    outputs: dict[str, OutputState] = Field(default_factory=dict)
    complete: bool = False  # the configuration ends as the vendor prints it
    version: Known[VersionInfo] = Known()
    hostname: Known[str] = Known()
    telnet: Known[bool] = Known()
    ssh: Known[SshServer] = Known()
    http: Known[bool] = Known()
    https: Known[bool] = Known()
    users: Known[tuple[LocalUser, ...]] = Known()
    secrets: Known[tuple[StoredSecret, ...]] = Known()  # enable/super/line passwords
    server_keys: Known[tuple[StoredSecret, ...]] = Known()  # RADIUS/TACACS shared keys
    lockout: Known[Lockout] = Known()  # value None and source config/default: no lockout
    lockout_enabled: Known[bool] = Known()
    terminals: Known[tuple[Terminal, ...]] = Known()
    ssh_acl: Known[str] = Known()
    aaa: Known[RemoteAuth] = Known()
    syslog: Known[tuple[str, ...]] = Known()
    ntp_servers: Known[tuple[str, ...]] = Known()
    ntp_sync: Known[NtpSync] = Known()
    snmp: Known[Snmp] = Known()
    interfaces: Known[tuple[Interface, ...]] = Known()
    password_recovery: Known[bool] = Known()
    logging: Known[LoggingState] = Known()
    clock: Known[Clock] = Known()
    lldp: Known[tuple[Neighbour, ...]] = Known()

    def output_problem(self, kind: str) -> str | None:
        """Why output ``kind`` is not evidence (None: it is)."""
        state = self.outputs.get(kind)
        if state is None:
            return f"the `{kind}` output was not collected"
        return None if state.status == "ok" else state.reason


class LoginUsed(_Frozen):
    """The account the audit itself logged in with (never its password)."""

    username: str
    well_known_default: bool  # a vendor's documented or widely published default pair
    reason: str = ""
