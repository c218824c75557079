"""The site inventory: what the school has and where the auditor may look.

Validated at the edge with pydantic (unknown keys are errors, messages name file, line and
field). Credentials appear only as *references* (an environment variable or a key in a
permission-checked secrets file), never inline.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import ipaddress
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from auditor.errors import InputError, SecretError
from auditor.inbound import read_document
from auditor.model import JsonDict
from auditor.secrets import SecretRef, read_secrets_file
from auditor.vendors import names as vendor_names
from auditor.yamlsrc import FieldError, format_loc, line_of, load_yaml, validate

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
# strict: YAML 1.1 reads `yes`/`on` as true, and a number must not come from a boolean or a float
Port = Annotated[int, Field(ge=1, le=65535, strict=True)]
MAX_RATE_MBPS = 400_000  # 400 Gbit/s: beyond any school link; a typo's 1e30 is refused
RateMbps = Annotated[int, Field(gt=0, le=MAX_RATE_MBPS, strict=True)]
WIDE_PREFIX = 8  # a scope wider than a /8 needs scope.allow_wide: true


def _hh_mm(value: object) -> object:
    """A time of day must be written as text: YAML 1.1 reads an unquoted 8:00 as the number 480."""
    if isinstance(value, bool):
        raise ValueError('write the time in quotes, e.g. "08:00" (YAML read a true/false word here)')
    if isinstance(value, int | float):
        hours, minutes = divmod(int(value), 60)
        meant = f"{hours}:{minutes:02d}"
        if 0 <= value < 24 * 60:
            raise ValueError(f'write the time in quotes: YAML reads an unquoted {meant} as the number '
                             f'{value}; write "{hours:02d}:{minutes:02d}"')
        raise ValueError(f'write the time in quotes, e.g. "08:00" (YAML read the number {value})')
    return value


TimeOfDay = Annotated[time, BeforeValidator(_hh_mm)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnmpAccess(_Model):
    """SNMP access to a device. v2c needs a community reference; v3 a user and keys."""

    version: Literal["2c", "3"] = "2c"
    port: Port = 161
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: Literal["sha", "sha256", "sha512", "md5"] | None = None
    auth_key: SecretRef | None = None
    priv_protocol: Literal["aes", "aes256", "des"] | None = None
    priv_key: SecretRef | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.version == "2c" and self.community is None:
            raise ValueError("SNMP v2c needs 'community' (a reference such as {env: NAME})")
        if self.version == "3" and not self.user:
            raise ValueError("SNMP v3 needs 'user'")
        return self


class SshAccess(_Model):
    """SSH access: a username and a password or a private key, all as references."""

    port: Port = 22
    username: SecretRef
    password: SecretRef | None = None
    key_file: Path | None = None
    enable: SecretRef | None = None  # Cisco/Ruijie enable secret, when the user lands unprivileged

    @model_validator(mode="after")
    def _some_credential(self) -> Self:
        if self.password is None and self.key_file is None:
            raise ValueError("SSH access needs 'password' (a reference) or 'key_file'")
        return self


def _vendor_name(value: str) -> str:
    allowed = (*vendor_names(), *NON_DEVICE_VENDORS)
    if value not in allowed:
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown vendor {value!r}: {hint}use one of {', '.join(allowed)}")
    return value


NON_DEVICE_VENDORS = ("linux", "other")  # devices the auditor knows but has no configuration checks for
VendorName = Annotated[str, AfterValidator(_vendor_name),
                       WithJsonSchema({"type": "string", "enum": [*vendor_names(), *NON_DEVICE_VENDORS]})]


class Device(_Model):
    """A network device: switch, router, firewall, WLAN controller."""

    id: Ident
    name: str | None = None
    address: ipaddress.IPv4Address
    vendor: VendorName
    platform: str | None = None
    role: Literal["core", "access", "distribution", "firewall", "wlc", "router", "other"] = "other"
    driver: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")] | None = None  # netmiko type override
    snmp: SnmpAccess | None = None
    ssh: SshAccess | None = None


class PortRef(_Model):
    """A switch port, by the device id and the interface name as the device names it."""

    device: Ident
    port: Annotated[str, StringConstraints(min_length=1)]


class Iperf3Endpoint(_Model):
    """An iperf3 server the agent tests against.

    ``bottleneck`` names the narrowest shared link on the path from the agent. Tests whose
    bottlenecks differ may run at the same time; tests without one are treated as sharing a
    single bottleneck and run one after another (the safe default).
    """

    address: ipaddress.IPv4Address
    port: Port = 5201
    bottleneck: Ident | None = None


class UplinkEndpoint(Iperf3Endpoint):
    """An iperf3 server on the district/metro side of the school's uplink."""

    id: Ident
    name: str | None = None


class UplinkContract(_Model):
    """What the school's contract with its provider says of one uplink: the contracted rates,
    which may be lower than the port's link rate (``rate_mbps``)."""

    provider: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    down_mbps: Annotated[float, Field(gt=0, le=MAX_RATE_MBPS)]
    up_mbps: Annotated[float, Field(gt=0, le=MAX_RATE_MBPS)]


class Uplink(_Model):
    """The school's connection to the internet or the education metro network."""

    id: Ident = "uplink"  # names the uplink in monitoring samples (a school may have two)
    rate_mbps: RateMbps = 1000
    provider: str | None = None
    medium: Literal["fibre", "copper", "wireless", "unknown"] = "unknown"
    endpoints: Annotated[list[UplinkEndpoint], Field(min_length=1)]
    port: PortRef | None = None
    contract: UplinkContract | None = None


class Classroom(_Model):
    """A classroom: where its iperf3 endpoint is and which switch port serves it."""

    id: Ident
    name: str
    building: str | None = None
    rate_mbps: RateMbps = 100
    endpoint: Iperf3Endpoint | None = None
    access_port: PortRef | None = None


class School(_Model):
    name: Annotated[str, StringConstraints(min_length=1)]
    code: str | None = None
    district: str | None = None


class Scope(_Model):
    """Networks the auditor may probe. Anything outside is refused. A network wider than a /8
    (such as 0.0.0.0/0, "everything") is almost always a mistake, so it needs ``allow_wide: true``."""

    allow: Annotated[list[ipaddress.IPv4Network], Field(min_length=1)]
    allow_wide: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _not_too_wide(self) -> Self:
        wide = [str(net) for net in self.allow if net.prefixlen < WIDE_PREFIX]
        if wide and not self.allow_wide:
            raise ValueError(f"{', '.join(wide)} is wider than a /{WIDE_PREFIX}: probes could reach "
                             "networks that are not the school's; list the school's own networks, or "
                             "add 'allow_wide: true' under scope if you really mean it")
        return self

    def contains(self, address: ipaddress.IPv4Address) -> bool:
        return any(address in net for net in self.allow)


class Period(_Model):
    days: Annotated[list[Weekday], Field(min_length=1)]
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("'end' must be after 'start'")
        return self


class DateRange(_Model):
    """A span of whole days, both ends included (a term, or a holiday)."""

    start: date
    end: date
    name: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError("'end' must not be before 'start'")
        return self


class Schedule(_Model):
    """The timetable: lesson periods on school days (in a term, not a holiday), during which
    bandwidth tests do not run unless forced."""

    timezone: str = "Asia/Shanghai"
    class_hours: list[Period] = Field(default_factory=list)
    terms: list[DateRange] = Field(default_factory=list)  # none given: every week is a school week
    holidays: list[DateRange] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from None
        return value


AllowedPort = Port | Annotated[str, StringConstraints(pattern=r"^[0-9]{1,5}/(tcp|udp)$")]


def port_key(entry: int | str) -> str:
    """``443`` → ``443/tcp``; ``"161/udp"`` stays as it is."""
    return f"{entry}/tcp" if isinstance(entry, int) else entry


class Zone(_Model):
    """A network zone and the ports its hosts may expose (``443`` = TCP, ``"161/udp"``)."""

    id: Ident
    name: str | None = None
    allowed_ports: list[AllowedPort] = Field(default_factory=list)


class Server(_Model):
    """A server the exposed-services probe scans; ``zone`` names an entry of ``zones``."""

    id: Ident
    name: str | None = None
    address: ipaddress.IPv4Address
    zone: Ident | None = None
    allowed_ports: list[AllowedPort] = Field(default_factory=list)


class SshTarget(_Model):
    """A host the agent logs into over SSH (backup hosts, vantage points)."""

    address: ipaddress.IPv4Address
    ssh: SshAccess


class Vantage(_Model):
    """Where "outside" is measured from: a host beyond the boundary firewall.

    ``netns`` runs the probe inside a local network namespace (the demo school's ISP side);
    ``ssh`` runs it on a remote host the agent logs into (a district server, a cloud VM).
    """

    netns: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None
    ssh: SshTarget | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.netns is None) == (self.ssh is None):
            raise ValueError("give exactly one of 'netns' or 'ssh'")
        return self


_MGMT_PORTS: tuple[AllowedPort, ...] = (22, 23, 80, 443, 8443)
_FORBIDDEN_OUT: tuple[AllowedPort, ...] = (23, 25, 135, 139, 445, 1433, 3389, 6379)


class Firewall(_Model):
    """The boundary firewall and what the outside may reach through it.

    ``published`` are the services that must be reachable on ``outside_addresses`` from the
    vantage point (``443`` = TCP, ``"53/udp"``); every other port in the probe's sample must
    not be. ``management`` are the firewall's own management ports, which must not be
    reachable from outside. ``outbound_probe`` is an address beyond the firewall that the
    agent tries ``forbidden_outbound`` ports on (they must be blocked). ``device`` names an
    entry of ``devices`` whose ruleset can be read over SSH (a Linux host: ``nft list ruleset``).
    """

    id: Ident
    name: str | None = None
    device: Ident | None = None
    outside_addresses: list[ipaddress.IPv4Address] = Field(default_factory=list)
    published: list[AllowedPort] = Field(default_factory=list)
    management_address: ipaddress.IPv4Address | None = None
    management_ports: list[AllowedPort] = Field(default_factory=lambda: list(_MGMT_PORTS))
    vantage: Vantage | None = None
    outbound_probe: ipaddress.IPv4Address | None = None
    forbidden_outbound: list[AllowedPort] = Field(default_factory=lambda: list(_FORBIDDEN_OUT))


class BackupLocation(_Model):
    """Where backup files of one system lie: a host, a directory and a file-name pattern."""

    host: ipaddress.IPv4Address
    ssh: SshAccess
    path: Annotated[str, StringConstraints(pattern=r"^/")]
    pattern: Annotated[str, StringConstraints(min_length=1)] = "*"


class BackupTarget(_Model):
    """A backed-up system: the primary backup location, an optional off-site copy, and
    an optional restore-test record file on the primary host (first line: ISO date)."""

    id: Ident
    name: str | None = None
    system: str | None = None
    host: ipaddress.IPv4Address
    ssh: SshAccess
    path: Annotated[str, StringConstraints(pattern=r"^/")]
    pattern: Annotated[str, StringConstraints(min_length=1)] = "*"
    offsite: BackupLocation | None = None
    restore_record: Annotated[str, StringConstraints(pattern=r"^/")] | None = None


class WifiArea(_Model):
    """An area that must have Wi-Fi coverage; surveys name it by ``id`` or ``name``."""

    id: Ident
    name: str
    area_class: Literal["teaching", "office", "activity"]


class Wifi(_Model):
    """The school's wireless network: its SSIDs, where survey records are kept, the
    controller (a ``devices`` id) and the BSSIDs the school knows as its own."""

    ssids: Annotated[list[str], Field(min_length=1)]
    surveys: Path | None = None
    controller: Ident | None = None
    known_bssids: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")]] = (
        Field(default_factory=list))


class KnownHost(_Model):
    """A host the inventory knows that is not a device, server or endpoint (a printer, a PC)."""

    address: ipaddress.IPv4Address
    mac: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")] | None = None
    name: str | None = None


class Discovery(_Model):
    """LAN discovery: the agent's interface on the segments to sweep, the segments, the
    authorised DHCP servers and hosts the inventory knows besides its devices and servers."""

    interface: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,15}$")]
    segments: Annotated[list[ipaddress.IPv4Network], Field(min_length=1)]
    dhcp_servers: list[ipaddress.IPv4Address] = Field(default_factory=list)
    known_hosts: list[KnownHost] = Field(default_factory=list)


class Tailoring(_Model):
    """A site's override of one check's parameters on one profile item.

    Overrides may tighten freely; loosening past the bound the profile declares makes the
    item fail ("threshold weakened below what the standard requires").
    """

    profile: Annotated[str, StringConstraints(min_length=1)]
    item: Annotated[str, StringConstraints(min_length=1)]
    check: Annotated[str, StringConstraints(min_length=1)]
    params: dict[str, float | int | str | list[str]]
    reason: Annotated[str, StringConstraints(min_length=1)]


MAX_DEADLINE_DAYS = 730  # two years: a remediation deadline beyond that is a typo, not a plan
DeadlineDays = Annotated[int, Field(ge=1, le=MAX_DEADLINE_DAYS, strict=True)]


class DeadlinesDays(_Model):
    """Days from the audit date to the remediation deadline of a problem, by its risk level."""

    high: DeadlineDays = 30
    medium: DeadlineDays = 90
    low: DeadlineDays = 180


class Remediation(_Model):
    """How the problem list (问题清单 in ``report.xlsx``, ``report.docx``, ``findings.csv``) sets
    deadlines: ``deadlines_days`` by risk level (高 30, 中 90, 低 180 days unless given)."""

    deadlines_days: DeadlinesDays = DeadlinesDays()


class Agent(_Model):
    """Where the auditor runs. ``interface`` pins the NIC used for the NIC-speed sanity check.

    ``known_hosts`` is the SSH known-hosts file the agent keeps (default: in its state
    directory). ``ssh_first_contact`` decides what happens when a device's host key is not in
    it yet: ``reject`` (the default: the device is an error until its key is added) or
    ``accept-new`` (record the key on first contact, as ssh's StrictHostKeyChecking=accept-new
    does; the report says which keys were learnt). A changed key is always refused.
    """

    interface: str | None = None
    known_hosts: Path | None = None
    ssh_first_contact: Literal["reject", "accept-new"] = "reject"
    device_concurrency: Annotated[int, Field(ge=1, le=64, strict=True)] = 16


def _window(value: str) -> str:
    start, end = _window_times(value)
    if end <= start:
        raise ValueError(f"window {value!r}: the end must be after the start")
    return value


def _window_times(value: str) -> tuple[time, time]:
    start, _, end = value.partition("-")
    try:
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"window {value!r}: write it as \"HH:MM-HH:MM\" (school time)") from None


Window = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$"), AfterValidator(_window)]
HostName = Annotated[str, StringConstraints(
    max_length=253, pattern=r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")]


class ReachEndpoint(_Model):
    """A further endpoint whose reachability and latency are measured (ICMP where permitted,
    else a TCP connect to ``tcp_port``). Its address must lie inside ``scope.allow``."""

    id: Ident
    host: ipaddress.IPv4Address
    tcp_port: Port | None = None


class Throughput(_Model):
    """Short iperf3 tests of each uplink a few times a school day, inside ``windows`` (school time;
    none given: before school, lunch and after school from the timetable, else 07:00-07:40,
    12:00-13:00 and 17:00-18:00), never in lessons unless ``allow_class_hours``, bounded in
    seconds and bytes and counted against the month's budget."""

    tests_per_day: Annotated[int, Field(ge=0, le=24, strict=True)] = 4
    windows: list[Window] | None = None
    allow_class_hours: Annotated[bool, Field(strict=True)] = False
    duration_s: Annotated[int, Field(ge=1, le=30, strict=True)] = 5
    max_bytes_per_test: Annotated[int, Field(ge=1_000_000, le=100_000_000_000, strict=True)] = 1_000_000_000
    monthly_budget_mb: Annotated[int, Field(ge=1, le=100_000_000, strict=True)] = 50_000


class Retention(_Model):
    raw_days: Annotated[int, Field(ge=1, le=3650, strict=True)] = 90
    hourly_days: Annotated[int, Field(ge=1, le=36500, strict=True)] = 1095


class Monitoring(_Model):
    """Light measurements between audits (``auditor monitor``): every ``interval_min`` the reach
    of each uplink endpoint, the district and ``endpoints``, and the resolution time of
    ``dns_names``; throughput tests a few times a school day."""

    # minutes between rounds; below 1 only for a lab (every round sends a batch to the district)
    interval_min: Annotated[float, Field(ge=0.1, le=1440, strict=True)] = 5
    probes: Annotated[int, Field(ge=1, le=20, strict=True)] = 5  # echoes (or connects) per reach sample
    endpoints: list[ReachEndpoint] = Field(default_factory=list)
    dns_names: list[HostName] = Field(default_factory=list)
    throughput: Throughput = Throughput()
    retention: Retention = Retention()


class Authorisation(_Model):
    """The written authorisation to audit this network: who gave it, its reference, its window.

    GB/T 22239 assessments (and any active scan of a school network) need written permission
    from the network's owner. ``valid_from`` and ``valid_until`` are whole days, both included,
    in the timetable's time zone; ``document`` (optional) is a scan of the signed letter,
    relative to the inventory, hashed into every bundle. ``auditor run`` refuses to probe
    without a record that is current; so do scheduled runs and district jobs.
    """

    authorised_by: Annotated[str, StringConstraints(min_length=1)]
    role: Annotated[str, StringConstraints(min_length=1)]
    organisation: str | None = None
    reference: Annotated[str, StringConstraints(min_length=1)]
    valid_from: date
    valid_until: date
    document: Path | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.valid_until < self.valid_from:
            raise FieldError(("valid_until",), "'valid_until' is before 'valid_from'; check the dates")
        return self


class Inventory(_Model):
    """A school site's inventory (``version: 1``)."""

    version: Literal[1] = 1
    school: School
    scope: Scope
    authorisation: Authorisation | None = None
    secrets_file: Path | None = None
    agent: Agent = Agent()
    schedule: Schedule = Schedule()
    uplink: Uplink | None = None
    other_uplinks: list[Uplink] = Field(default_factory=list)  # a second (or third) connection
    monitoring: Monitoring = Monitoring()
    classrooms: list[Classroom] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    firewalls: list[Firewall] = Field(default_factory=list)
    backups: list[BackupTarget] = Field(default_factory=list)
    wifi: Wifi | None = None
    wifi_areas: list[WifiArea] = Field(default_factory=list)
    discovery: Discovery | None = None
    tailoring: list[Tailoring] = Field(default_factory=list)
    remediation: Remediation = Remediation()

    @model_validator(mode="after")
    def _references(self) -> Self:
        _unique(("classrooms",), [c.id for c in self.classrooms])
        _unique(("devices",), [d.id for d in self.devices])
        if self.uplink:
            _unique(("uplink", "endpoints"), [e.id for e in self.uplink.endpoints])
        for i, other in enumerate(self.other_uplinks):
            _unique(("other_uplinks", i, "endpoints"), [e.id for e in other.endpoints])
        if self.other_uplinks:
            if self.uplink is None:
                raise FieldError(("other_uplinks",), "'other_uplinks' needs 'uplink' first; move the "
                                                     "first entry to 'uplink'")
            ids = [self.uplink.id, *(u.id for u in self.other_uplinks)]
            for i, ident in enumerate(ids[1:]):
                if ident in ids[: i + 1]:
                    raise FieldError(("other_uplinks", i, "id"),
                                     f"duplicate uplink id {ident!r}; give each uplink its own 'id'")
        _unique(("monitoring", "endpoints"), [e.id for e in self.monitoring.endpoints])
        for i, ep in enumerate(self.monitoring.endpoints):
            if ep.id == "district":
                raise FieldError(("monitoring", "endpoints", i, "id"),
                                 "'district' names the district server's own reach samples; give this "
                                 "endpoint another id")
        _unique(("servers",), [s.id for s in self.servers])
        _unique(("zones",), [z.id for z in self.zones])
        zones = {z.id for z in self.zones}
        for i, server in enumerate(self.servers):
            if server.zone is not None and server.zone not in zones:
                raise FieldError(("servers", i, "zone"),
                                 f"server {server.id!r} names zone {server.zone!r}, which is not in "
                                 f"'zones' (known: {', '.join(sorted(zones)) or 'none'}); add it there")
        _unique(("firewalls",), [f.id for f in self.firewalls])
        _unique(("backups",), [b.id for b in self.backups])
        _unique(("wifi_areas",), [a.id for a in self.wifi_areas])
        known = {d.id for d in self.devices}
        for loc, device_id in self._device_refs():
            if device_id not in known:
                raise FieldError(loc, f"names device {device_id!r}, which is not in 'devices' "
                                      f"(known: {', '.join(sorted(known)) or 'none'}); add it or fix the id")
        return self

    def _device_refs(self) -> Iterator[tuple[tuple[int | str, ...], str]]:
        for i, fw in enumerate(self.firewalls):
            if fw.device is not None:
                yield ("firewalls", i, "device"), fw.device
        if self.wifi is not None and self.wifi.controller is not None:
            yield ("wifi", "controller"), self.wifi.controller
        if self.uplink is not None and self.uplink.port is not None:
            yield ("uplink", "port", "device"), self.uplink.port.device
        for i, other in enumerate(self.other_uplinks):
            if other.port is not None:
                yield ("other_uplinks", i, "port", "device"), other.port.device
        for i, room in enumerate(self.classrooms):
            if room.access_port is not None:
                yield ("classrooms", i, "access_port", "device"), room.access_port.device

    def uplinks(self) -> list[Uplink]:
        """The school's uplinks: ``uplink`` first, then ``other_uplinks``."""
        return [*([self.uplink] if self.uplink else []), *self.other_uplinks]

    def allowed_ports(self, server: Server) -> set[str]:
        """The ports a server may expose: its zone's and its own (``"443/tcp"`` form)."""
        zone = next((z for z in self.zones if z.id == server.zone), None)
        entries = [*(zone.allowed_ports if zone else []), *server.allowed_ports]
        return {port_key(e) for e in entries}

    @functools.cached_property
    def _devices_by_id(self) -> dict[str, Device]:
        return {d.id: d for d in self.devices}

    def device(self, device_id: str) -> Device:
        """The device with this id (ids are unique: checked when the inventory is validated)."""
        return self._devices_by_id[device_id]

    def report_site(self) -> JsonDict:
        """What the signed report's ``site`` carries besides the school and scope, for the problem
        list and the system components of the renderings (report.xlsx, report.docx, findings.csv):
        the remediation deadlines, and the inventory's servers, firewalls, backup targets,
        classrooms, Wi-Fi areas and uplink by id, name and address (never a credential, a path or
        a setting the renderings do not show). Devices are in the report's ``topology``."""
        uplink = self.uplink
        return {
            "remediation": self.remediation.model_dump(mode="json"),
            "components": {
                "servers": [{"id": s.id, "name": s.name, "address": str(s.address), "zone": s.zone}
                            for s in self.servers],
                "firewalls": [{"id": f.id, "name": f.name, "device": f.device,
                               "outside_addresses": [str(a) for a in f.outside_addresses],
                               "management_address": _text(f.management_address)}
                              for f in self.firewalls],
                "backups": [{"id": b.id, "name": b.name, "system": b.system, "host": str(b.host),
                             "offsite_host": _text(b.offsite.host if b.offsite else None)}
                            for b in self.backups],
                "classrooms": [{"id": c.id, "name": c.name, "building": c.building,
                                "rate_mbps": c.rate_mbps,
                                "endpoint": _text(c.endpoint.address if c.endpoint else None),
                                "access_port": (c.access_port.model_dump(mode="json")
                                                if c.access_port else None)}
                               for c in self.classrooms],
                "wifi_areas": [{"id": a.id, "name": a.name, "area_class": a.area_class}
                               for a in self.wifi_areas],
                "uplink": None if uplink is None else {
                    "rate_mbps": uplink.rate_mbps, "provider": uplink.provider, "medium": uplink.medium,
                    "endpoints": [{"id": e.id, "name": e.name, "address": str(e.address)}
                                  for e in uplink.endpoints],
                    "port": uplink.port.model_dump(mode="json") if uplink.port else None},
            },
        }


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _unique(where: tuple[int | str, ...], ids: list[str]) -> None:
    first_at: dict[str, int] = {}
    for i, ident in enumerate(ids):
        first = first_at.setdefault(ident, i)
        if first < i:
            also = format_loc([*where, first])
            raise FieldError((*where, i, "id"), f"duplicate id {ident!r} (also {also}); ids must be unique: "
                                                "rename one")


class LoadedInventory:
    """An inventory with where it came from and the digest of its exact bytes.

    ``node`` is the parsed YAML node tree (for line numbers in later messages), when loaded
    from a file.
    """

    def __init__(self, path: Path, inventory: Inventory, raw: bytes, node: Any = None) -> None:
        self.path = path
        self.inventory = inventory
        self.raw = raw
        self.node = node
        self.sha256 = hashlib.sha256(raw).hexdigest()

    def where(self, loc: tuple[int | str, ...]) -> str:
        """``site.yaml:12: devices[0].address`` for a field of this inventory."""
        line = line_of(self.node, loc)
        return f"{self.path}{f':{line}' if line is not None else ''}: {format_loc(loc)}"


_M = TypeVar("_M", Device, BackupTarget, BackupLocation)


def _with_key_file(model: _M, base: Path) -> _M:
    """The model with its ssh.key_file made absolute (relative to the inventory's folder)."""
    ssh = model.ssh
    if ssh is None or ssh.key_file is None or ssh.key_file.is_absolute():
        return model
    key_file = (base / ssh.key_file).resolve()
    return model.model_copy(update={"ssh": ssh.model_copy(update={"key_file": key_file})})


def load_inventory(path: Path) -> LoadedInventory:
    """Load and validate an inventory file. Raises InputError naming file, line and field.

    Besides the schema, the secrets file is checked here (private to this user, readable,
    holding every ``{secret: NAME}`` the inventory refers to) and so is the authorisation's
    document, so a mistake in either stops the run before anything is probed.
    """
    data, node, raw = load_yaml(path)
    inventory = _absolute_paths(validate(Inventory, data, node, str(path)), path.parent)
    loaded = LoadedInventory(path, inventory, raw, node)
    _check_secrets(loaded)
    _check_authorisation_document(loaded)
    return loaded


def _absolute_paths(inventory: Inventory, base: Path) -> Inventory:
    """Relative paths in the inventory are relative to the inventory file, wherever the agent runs."""
    if inventory.secrets_file is not None and not inventory.secrets_file.is_absolute():
        inventory = inventory.model_copy(update={"secrets_file": (base / inventory.secrets_file).resolve()})
    wifi = inventory.wifi
    if wifi is not None and wifi.surveys is not None and not wifi.surveys.is_absolute():
        wifi = wifi.model_copy(update={"surveys": (base / wifi.surveys).resolve()})
        inventory = inventory.model_copy(update={"wifi": wifi})
    devices = [_with_key_file(d, base) for d in inventory.devices]
    backups = [_with_key_file(b, base) for b in inventory.backups]
    backups = [b.model_copy(update={"offsite": _with_key_file(b.offsite, base)}) if b.offsite else b
               for b in backups]
    inventory = inventory.model_copy(update={"devices": devices, "backups": backups})
    agent = inventory.agent
    if agent.known_hosts is not None and not agent.known_hosts.is_absolute():
        agent = agent.model_copy(update={"known_hosts": (base / agent.known_hosts).resolve()})
        inventory = inventory.model_copy(update={"agent": agent})
    auth = inventory.authorisation
    if auth is not None and auth.document is not None and not auth.document.is_absolute():
        auth = auth.model_copy(update={"document": (base / auth.document).resolve()})
        inventory = inventory.model_copy(update={"authorisation": auth})
    return inventory


# ------------------------------------------------------------------ secret references


Loc = tuple[int | str, ...]


def secret_refs(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, SecretRef]]:
    """Every credential reference in a model, with its field path."""
    if isinstance(value, SecretRef):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from secret_refs(getattr(value, name), (*loc, name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from secret_refs(item, (*loc, i))


def _check_secrets(loaded: LoadedInventory) -> None:
    """The secrets file is private and readable, and names every secret referred to."""
    inv = loaded.inventory
    wanted = [(loc, ref.secret) for loc, ref in secret_refs(inv) if ref.secret is not None]
    if inv.secrets_file is None:
        if wanted:
            loc, name = wanted[0]
            raise InputError(f"{loaded.where(loc)}: refers to secret {name!r}, but the inventory has no "
                             "secrets_file; add 'secrets_file: PATH' (a YAML file of name: value, mode 0600)")
        return
    try:
        values = read_secrets_file(inv.secrets_file)
    except SecretError as exc:
        raise InputError(f"{loaded.where(('secrets_file',))}: {exc}") from None
    for loc, name in wanted:
        if name not in values:
            raise InputError(f"{loaded.where(loc)}: secret {name!r} is not in {inv.secrets_file}; "
                             "add it there or fix the name")


def _check_authorisation_document(loaded: LoadedInventory) -> None:
    """The document is copied into the signed bundle: a signed document by its content, under a
    size limit, and never the secrets file or key material (:mod:`auditor.inbound`)."""
    auth = loaded.inventory.authorisation
    if auth is None or auth.document is None:
        return
    where = loaded.where(("authorisation", "document"))
    if not auth.document.is_file():
        raise InputError(f"{where}: {auth.document} is not a readable file; give the path of the signed "
                         "authorisation (relative to the inventory)")
    read_document(auth.document, where, loaded.inventory.secrets_file)


# ------------------------------------------------------------------ scope


def scope_targets(inv: Inventory) -> Iterator[tuple[tuple[int | str, ...], ipaddress.IPv4Address]]:
    """Every address the probes would send to, with its field path (the scope's subjects)."""
    yield from _uplink_targets(inv)
    for i, room in enumerate(inv.classrooms):
        if room.endpoint is not None:
            yield ("classrooms", i, "endpoint", "address"), room.endpoint.address
    for i, dev in enumerate(inv.devices):
        yield ("devices", i, "address"), dev.address
    for i, srv in enumerate(inv.servers):
        yield ("servers", i, "address"), srv.address
    for i, fw in enumerate(inv.firewalls):
        for j, addr in enumerate(fw.outside_addresses):
            yield ("firewalls", i, "outside_addresses", j), addr
        for name in ("management_address", "outbound_probe"):
            addr = getattr(fw, name)
            if addr is not None:
                yield ("firewalls", i, name), addr
    for i, bk in enumerate(inv.backups):
        yield ("backups", i, "host"), bk.host
        if bk.offsite is not None:
            yield ("backups", i, "offsite", "host"), bk.offsite.host


def _uplink_targets(inv: Inventory) -> Iterator[tuple[tuple[int | str, ...], ipaddress.IPv4Address]]:
    """The uplinks' iperf3 servers and the monitoring endpoints."""
    if inv.uplink is not None:
        for i, ep in enumerate(inv.uplink.endpoints):
            yield ("uplink", "endpoints", i, "address"), ep.address
    for u, other in enumerate(inv.other_uplinks):
        for i, ep in enumerate(other.endpoints):
            yield ("other_uplinks", u, "endpoints", i, "address"), ep.address
    for i, reach in enumerate(inv.monitoring.endpoints):
        yield ("monitoring", "endpoints", i, "host"), reach.host


def check_scope(loaded: LoadedInventory) -> None:
    """Every target and discovery segment lies inside ``scope.allow``; else InputError naming it.

    ``auditor validate`` calls this; ``auditor run`` instead refuses such targets one by one
    (each an ``error`` finding with the reason), so the rest of the school is still audited.
    """
    inv = loaded.inventory
    allowed = ", ".join(str(n) for n in inv.scope.allow)
    problems = [f"{loaded.where(loc)}: {addr} is outside scope.allow ({allowed}); add its network to "
                "scope.allow if the school authorised it, or correct the address"
                for loc, addr in scope_targets(inv) if not inv.scope.contains(addr)]
    segments = inv.discovery.segments if inv.discovery else []
    problems += [f"{loaded.where(('discovery', 'segments', i))}: segment {seg} is not inside scope.allow "
                 f"({allowed}); add it to scope.allow or remove it"
                 for i, seg in enumerate(segments) if not any(seg.subnet_of(n) for n in inv.scope.allow)]
    if len(problems) == 1:
        raise InputError(problems[0])
    if problems:
        head = f"{loaded.path}: {len(problems)} targets outside the scope:\n  "
        raise InputError(head + "\n  ".join(problems))


# ------------------------------------------------------------------ authorisation


def audit_clock(inv: Inventory, now: datetime | None = None) -> datetime:
    """The agent's clock in the school's time zone: the stated clock every validity window
    (authorisation, attestations, waivers) is judged by."""
    moment = now if now is not None else datetime.now().astimezone()
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(ZoneInfo(inv.schedule.timezone))


def check_authorisation(loaded: LoadedInventory, now: datetime | None = None) -> Authorisation:
    """The inventory's authorisation, if it is current on the audit clock; else InputError."""
    inv = loaded.inventory
    auth = inv.authorisation
    clock = audit_clock(inv, now)
    stated = f"today is {clock.date()} in {inv.schedule.timezone} by this computer's clock"
    if auth is None:
        raise InputError(
            f"{loaded.path}: authorisation: the inventory has no authorisation record; add one "
            "(authorised_by, role, reference, valid_from, valid_until, optional document) for the "
            "written permission to audit this network")
    if clock.date() > auth.valid_until:
        raise InputError(f"{loaded.where(('authorisation', 'valid_until'))}: authorisation {auth.reference} "
                         f"expired on {auth.valid_until} ({stated}); renew it before auditing")
    if clock.date() < auth.valid_from:
        raise InputError(f"{loaded.where(('authorisation', 'valid_from'))}: authorisation {auth.reference} "
                         f"starts on {auth.valid_from} ({stated}); wait until then or check the clock")
    return auth

