"""The typed facts that probes hand to checks (and that survey records keep).

A check reads these shapes, never a probe's implementation: probes write them, checks import them
from here (the layer contract in ``pyproject.toml`` enforces it). Every fact kind is named once, in
:class:`FactKind`, and has one model of its ``data`` in :data:`FACT_MODELS`: a probe builds the model
and stores :func:`fact_data` of it; a check reads it back with :func:`read_fact`, which validates the
data once per fact and raises :class:`UnreadableFact` (the check's ``error``, never a pass) when the
data is not the shape the probe writes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.model import Fact

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class FactKind(StrEnum):
    """Every kind of fact a probe writes (``Fact.kind``); its data model is ``FACT_MODELS[kind]``."""

    BANDWIDTH_GOODPUT = "bandwidth.goodput"  # iperf3.bandwidth
    SNMP_INTERFACE = "snmp.interface"  # snmp.port_speed
    DEVICE_SNMP = "device.snmp"  # snmp.device_info
    DEFAULT_COMMUNITY = "device.default_community"  # snmp.default_community
    DEVICE_CONFIG = "device.config"  # ssh.device_config, and the offline device audit
    FIREWALL_OUTSIDE = "firewall.outside"  # firewall.outside_view
    FIREWALL_OUTBOUND = "firewall.outbound"  # firewall.outbound
    FIREWALL_RULESET = "firewall.ruleset"  # firewall.ruleset
    BACKUP_LISTING = "backup.listing"  # backup.files
    SERVICES_PORTS = "services.ports"  # nmap.services
    WIFI_SURVEY = "wifi.survey"  # wifi.surveys
    DISCOVERY_HOSTS = "discovery.hosts"  # discovery.arp_sweep
    DHCP_OFFERS = "discovery.dhcp_offers"  # discovery.dhcp


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


# ---------------------------------------------------------------------------- facts by kind
#
# One model per fact kind's ``data``, exactly as its probe writes it (``extra="forbid"``: a field no
# probe writes is an error, not a silent None). Field order follows the probe's; numbers keep the
# type the probe gives them (an ``int`` field is never written as a float, nor the reverse).


def _iso_time(value: str) -> str:
    """An ISO 8601 date-time as written (``Z`` allowed); the text is kept as it is."""
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _iso_day(value: str) -> str:
    """An ISO 8601 date (YYYY-MM-DD) or date-time, as a restore record's first line gives it."""
    if len(value) == 10:
        date.fromisoformat(value)
    else:
        datetime.fromisoformat(value)
    return value


IsoTime = Annotated[str, AfterValidator(_iso_time)]
IsoDay = Annotated[str, AfterValidator(_iso_day)]


class GoodputRun(_Frozen):
    """One iperf3 run of a measurement (Mbit/s, seconds, CPU %), and the evidence file it left.

    ``retransmits`` is the sender's TCP retransmissions (``end.sum_sent.retransmits``; the server's
    count with ``-R``). The round-trip times are the sender's smoothed RTT as the Linux kernel
    reported it to the client (``end.streams[].sender`` ``mean_rtt``/``min_rtt``/``max_rtt``, in ms
    here): only when the client sent, so never with ``-R``. Absent from the JSON: None, never 0.
    The RTT fields are optional so that reports written before they existed still validate.
    """

    goodput_mbps: float
    sender_mbps: float
    seconds: float
    retransmits: int | None
    host_cpu_pct: float | None
    remote_cpu_pct: float | None
    artifact: str
    rtt_ms: float | None = None  # mean of the sender's RTT samples
    rtt_min_ms: float | None = None
    rtt_max_ms: float | None = None


class AgentNic(_Frozen):
    name: str | None  # the agent interface that routes to the server; None: not found
    speed_mbps: int  # 0: unknown


class Goodput(_Frozen):
    """``bandwidth.goodput``: TCP goodput of one link direction, the median of several runs."""

    link: Literal["uplink", "classroom"]
    target: str
    direction: Literal["downstream", "upstream"]
    server: str
    reverse_mode: bool
    command: str
    duration_s: int
    omit_s: int
    runs: tuple[GoodputRun, ...] = Field(min_length=1)
    median_mbps: float
    min_mbps: float
    max_mbps: float
    expected_link_mbps: int
    agent_nic: AgentNic
    agent_cpu_pct: tuple[float, ...]
    valid: bool
    invalid_reasons: tuple[str, ...]
    overlapping_tests: tuple[str, ...]
    # The shape of the path (optional: reports written before these existed still validate).
    # ``retransmits``: sum over the runs, None unless every run reported it; ``rtt_ms``: mean of
    # the runs' mean RTT (ms) over the runs that reported one, None when none did (``-R``).
    retransmits: int | None = None
    rtt_ms: float | None = None


class PortSpeed(_Frozen):
    """``snmp.interface``: one inventory port's row of the interface table."""

    device: str
    address: str
    sys_name: str | None
    port: str
    if_index: int
    if_name: str | None
    if_descr: str | None
    if_alias: str | None
    high_speed_mbps: int | None
    speed_bps: int | None
    speed_mbps: float | None  # ifHighSpeed where present, else ifSpeed
    admin_status: str | None
    oper_status: str | None


class SnmpIfRow(_Frozen):
    index: int
    name: str | None
    descr: str | None
    alias: str | None
    admin: str | None
    oper: str | None
    speed_mbps: float | None


class LldpRow(_Frozen):
    local_port: str | None
    remote_sys_name: str | None
    remote_port: str | None
    remote_port_desc: str | None
    remote_chassis: str | None


class DeviceSnmp(_Frozen):
    """``device.snmp``: what a device says of itself over SNMP, its interfaces and LLDP neighbours."""

    address: str
    sys_descr: str
    sys_object_id: str
    sys_name: str
    uptime_s: float | None
    vendor: str | None  # from the enterprise number of sysObjectID
    enterprise: int | None
    platform: str | None
    version: str | None
    inventory_vendor: str
    snmp_version: Literal["2c", "3"]
    security: Literal["community", "authPriv", "authNoPriv", "noAuthNoPriv"]
    interfaces: tuple[SnmpIfRow, ...]
    lldp: tuple[LldpRow, ...]


class DefaultCommunity(_Frozen):
    """``device.default_community``: which well-known communities the device answered."""

    address: str
    port: int
    tried: tuple[str, ...]
    answered: dict[str, str]  # community -> sysDescr it answered with
    silent: tuple[str, ...]
    control_requests_answered: int
    note: str


class DeviceConfig(_Frozen):
    """``device.config``: what was read from a switch or router (live over SSH, or offline from saved
    files) and the :class:`DeviceView` its vendor family made of it.

    A live fact also carries the TCP connects, the session and the audit's own login; offline these
    are absent. The archive part (``config_sha256`` ... ``diff_lines``) is there when a complete
    configuration was read live.
    """

    vendor: str
    driver: str | None = None
    live: bool
    address: str | None = None
    view: DeviceView
    outputs: dict[str, str]  # output kind -> evidence file (offline: the file given)
    tcp: dict[str, str] | None = None  # port -> open, closed, filtered or "error: ..."
    failed_commands: dict[str, str] | None = None  # output kind -> why its command failed
    host_key: str | None = None
    login: LoginUsed | None = None
    config_sha256: str | None = None
    changed: bool | None = None  # None: no earlier audit to compare with
    previous_sha256: str | None = None
    previous_audit: str | None = None
    diff_artifact: str | None = None
    diff_lines: int = 0

    @model_validator(mode="after")
    def _live_parts(self) -> DeviceConfig:
        live = {"driver": self.driver, "address": self.address, "tcp": self.tcp,
                "failed_commands": self.failed_commands, "login": self.login}
        if self.live:
            missing = [name for name, value in live.items() if value is None]
            if missing:
                raise ValueError("a live device.config fact carries the session too; missing: "
                                 + ", ".join(missing))
        elif any(value is not None for value in live.values()):
            raise ValueError("an offline device.config fact carries no session (driver, address, tcp, "
                             "failed_commands, login)")
        return self


ConnectState = Literal["open", "closed", "rejected", "filtered", "error", "untested"]


class ConnectResult(_Frozen):
    """One TCP connect of the firewall probes' connect script (UDP entries: ``untested``)."""

    address: str
    port: int
    proto: Literal["tcp", "udp"]
    state: ConnectState
    detail: str

    @property
    def key(self) -> str:
        return f"{self.port}/{self.proto}"

    def show(self) -> str:
        return f"{self.address}:{self.key} {self.state}"


class OutsideView(_Frozen):
    """``firewall.outside``: connects to the outside and management addresses from a vantage point."""

    vantage: str
    timeout_s: float
    results: tuple[ConnectResult, ...]


class OutboundTest(_Frozen):
    """``firewall.outbound``: connects from the agent to forbidden ports beyond the firewall."""

    probe_address: str
    timeout_s: float
    results: tuple[ConnectResult, ...]


class ChainSummary(_Frozen):
    """An IPv4 filter base chain on the input or forward hook, as far as default-drop needs it."""

    family: str
    table: str
    chain: str
    hook: str
    priority: str | None
    policy: str
    declaration: str
    rules: int
    final_drop: str | None  # the unconditional drop/reject rule that ends the chain
    accept_all: tuple[str, ...]  # accept rules without a match


class Ruleset(_Frozen):
    """``firewall.ruleset``: the nftables ruleset of a Linux firewall, summarised."""

    device: str
    source: Literal["json", "text"]
    chains: tuple[ChainSummary, ...]
    tables: tuple[str, ...]


class BackupFile(_Frozen):
    name: str
    size: int  # bytes
    mtime: int  # seconds since the epoch, by the backup host's clock


class ListedLocation(_Frozen):
    """One backup location's listing: the host's clock, the matching files (oldest first)."""

    host: str
    path: str
    pattern: str
    remote_time: int
    files: tuple[BackupFile, ...]
    clock_skew_s: float  # the host's clock ahead of the agent's (behind: negative)

    def where(self) -> str:
        return f"{self.host}:{self.path}/{self.pattern}"


class RestoreRecordRead(_Frozen):
    date: IsoDay  # the first line of the record
    text: str  # its first 200 characters


class BackupListing(_Frozen):
    """``backup.listing``: a backup target's files, its off-site copy and its restore-test record."""

    primary: ListedLocation
    offsite: ListedLocation | None
    offsite_error: str | None
    restore_record: RestoreRecordRead | None
    restore_record_error: str | None
    restore_record_state: Literal["not_declared", "missing", "unreadable", "invalid", "ok"]
    listed_at: IsoTime  # the agent's clock when the listing was taken


class OpenPort(_Frozen):
    proto: str
    port: int
    service: str | None
    product: str | None
    version: str | None
    method: str | None  # probed (service detection) or table (guessed from the port number)

    @property
    def key(self) -> str:
        return f"{self.port}/{self.proto}"


class ScannedPort(_Frozen):
    proto: str
    port: int
    state: str


class ServicePorts(_Frozen):
    """``services.ports``: one server's nmap scan."""

    address: str
    command: str
    udp_scanned: bool
    open: tuple[OpenPort, ...]
    inconclusive: tuple[str, ...]  # "PORT/PROTO STATE" of filtered and unanswered ports
    scanned: tuple[ScannedPort, ...]


class BssRow(_Frozen):
    """One access point as a survey record keeps it (:meth:`Bss.to_json`)."""

    bssid: str
    ssid: str
    hidden: bool
    freq_mhz: float | None
    band: str
    channel: int | None
    signal_dbm: float | None
    signal_percent: int | None
    signal_approx: bool
    security: str
    protocols: tuple[str, ...]
    akm: tuple[str, ...]
    privacy: bool

    @classmethod
    def of(cls, bss: Bss) -> BssRow:
        return cls.model_validate(bss.to_json())

    def bss(self) -> Bss:
        return Bss(bssid=self.bssid, ssid=self.ssid, hidden=self.hidden, freq_mhz=self.freq_mhz,
                   band=self.band, channel=self.channel, signal_dbm=self.signal_dbm,
                   signal_percent=self.signal_percent, signal_approx=self.signal_approx,
                   protocols=self.protocols, akm=self.akm, privacy=self.privacy)


class SurveyPoint(_Frozen):
    """The newest survey record of one survey point."""

    taken_at: IsoTime
    point: str | None
    host: str | None
    tool: str
    tool_version: str | None
    interface: str | None
    record: str  # the record's evidence file
    bss: tuple[BssRow, ...]


class WifiSurvey(_Frozen):
    """``wifi.survey``: an area's current survey records."""

    area: str
    area_name: str
    area_class: Literal["teaching", "office", "activity"]
    max_age_days: int
    superseded: int  # older records of the same points, and stale ones
    surveys: tuple[SurveyPoint, ...]


class LanHost(_Frozen):
    ip: str
    mac: str  # lower case
    vendor: str | None  # from the MAC's OUI

    def describe(self) -> str:
        return f"{self.ip} {self.mac}" + (f" ({self.vendor})" if self.vendor else "")


class LanHosts(_Frozen):
    """``discovery.hosts``: the hosts that answered an ARP sweep of one segment."""

    segment: str
    interface: str
    agent_ip: str
    sent: int
    passes: int
    hosts: tuple[LanHost, ...]


class DhcpOffer(_Frozen):
    server_id: str | None  # option 54
    source_ip: str
    source_mac: str
    offered: str
    relay: str | None  # giaddr, when a relay forwarded the offer
    router: tuple[str, ...]
    dns: tuple[str, ...]
    subnet_mask: str | None
    lease_s: int | None
    domain: str | None

    @property
    def server(self) -> str:
        """Who made the offer: the server identifier (names the real server behind a relay), else the
        packet's source."""
        return self.server_id or self.source_ip


class DhcpOffers(_Frozen):
    """``discovery.dhcp_offers``: every DHCP offer a DISCOVER drew on the agent's LAN interface."""

    interface: str
    client_mac: str
    client_mac_mode: Literal["interface", "random"]
    xid: str
    discovers_sent: int
    listened_s: float
    segments: tuple[str, ...]
    offers: tuple[DhcpOffer, ...]
    seconds: float


FACT_MODELS: dict[str, type[BaseModel]] = {
    FactKind.BANDWIDTH_GOODPUT: Goodput,
    FactKind.SNMP_INTERFACE: PortSpeed,
    FactKind.DEVICE_SNMP: DeviceSnmp,
    FactKind.DEFAULT_COMMUNITY: DefaultCommunity,
    FactKind.DEVICE_CONFIG: DeviceConfig,
    FactKind.FIREWALL_OUTSIDE: OutsideView,
    FactKind.FIREWALL_OUTBOUND: OutboundTest,
    FactKind.FIREWALL_RULESET: Ruleset,
    FactKind.BACKUP_LISTING: BackupListing,
    FactKind.SERVICES_PORTS: ServicePorts,
    FactKind.WIFI_SURVEY: WifiSurvey,
    FactKind.DISCOVERY_HOSTS: LanHosts,
    FactKind.DHCP_OFFERS: DhcpOffers,
}


def fact_data(model: BaseModel) -> dict[str, Any]:
    """What a probe stores as a fact's ``data``: the model as JSON. A top-level field the probe left
    unset (an optional part it did not write, such as ``device.config``'s archive part after an
    incomplete configuration) stays out, as it always has."""
    return model.model_dump(mode="json", include=set(model.model_fields_set))


class UnreadableFact(ValueError):
    """A fact's data is not the shape its probe writes: the check cannot judge it (``error``)."""

    def __init__(self, fact: Fact, model: type[BaseModel], exc: ValidationError) -> None:
        self.fact_id = fact.id
        problems = [f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in exc.errors()]
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        super().__init__(f"fact {fact.id} (from {fact.probe}) is not the {model.__name__} shape its probe "
                         f"writes, so it cannot be judged: {'; '.join(problems[:5])}{more}")


# Models read from facts, by the fact that carries them, for as long as the fact lives (one audit).
_READ: dict[int, tuple[weakref.ref[Fact], dict[type[BaseModel], BaseModel]]] = {}


def read_fact(fact: Fact, model: type[M]) -> M:
    """The fact's data as ``model``, validated once for all the checks that read it (a switch with
    thousands of interfaces takes milliseconds to validate). Raises :class:`UnreadableFact` when the
    data is not that shape, and TypeError when ``model`` is not the model of the fact's kind."""
    expected = FACT_MODELS.get(fact.kind)
    if expected is not None and expected is not model:
        raise TypeError(f"a {fact.kind} fact carries {expected.__name__}, not {model.__name__}")
    key = id(fact)
    entry = _READ.get(key)
    if entry is None or entry[0]() is not fact:
        entry = (weakref.ref(fact, _forget(key)), {})
        _READ[key] = entry
    cached = entry[1].get(model)
    if cached is None:
        try:
            cached = model.model_validate(fact.data)
        except ValidationError as exc:
            raise UnreadableFact(fact, model, exc) from None
        entry[1][model] = cached
    return cast(M, cached)


def _forget(key: int) -> Callable[[weakref.ref[Fact]], None]:
    """Drop the entry of a fact that died (unless a later fact with the same id took its place)."""

    def forget(ref: weakref.ref[Fact]) -> None:
        entry = _READ.get(key)
        if entry is not None and entry[0] is ref:
            del _READ[key]

    return forget
