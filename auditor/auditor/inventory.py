"""The site inventory: what the school has and where the auditor may look.

Validated at the edge with pydantic (unknown keys are errors, messages name file, line and
field). Credentials appear only as *references* (an environment variable or a key in a
permission-checked secrets file), never inline.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from auditor.yamlsrc import load_yaml, validate

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Model):
    """Where a credential comes from: ``{env: NAME}`` or ``{secret: KEY}`` (in secrets_file)."""

    env: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    secret: Annotated[str, StringConstraints(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline(cls, value: object) -> object:
        if isinstance(value, str | int):
            raise ValueError(
                "inline secrets are not allowed: write {env: VARIABLE_NAME} or "
                "{secret: KEY} (a key in the secrets_file)"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.secret is None):
            raise ValueError("give exactly one of 'env' or 'secret'")
        return self

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"secret {self.secret!r}"


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


class Device(_Model):
    """A network device: switch, router, firewall, WLAN controller."""

    id: Ident
    name: str | None = None
    address: ipaddress.IPv4Address
    vendor: Literal["huawei", "h3c", "ruijie", "cisco", "linux", "other"]
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


class Uplink(_Model):
    """The school's connection to the internet or the education metro network."""

    rate_mbps: Annotated[int, Field(gt=0)] = 1000
    provider: str | None = None
    medium: Literal["fibre", "copper", "wireless", "unknown"] = "unknown"
    endpoints: Annotated[list[UplinkEndpoint], Field(min_length=1)]
    port: PortRef | None = None


class Classroom(_Model):
    """A classroom: where its iperf3 endpoint is and which switch port serves it."""

    id: Ident
    name: str
    building: str | None = None
    rate_mbps: Annotated[int, Field(gt=0)] = 100
    endpoint: Iperf3Endpoint | None = None
    access_port: PortRef | None = None


class School(_Model):
    name: Annotated[str, StringConstraints(min_length=1)]
    code: str | None = None
    district: str | None = None


class Scope(_Model):
    """Networks the auditor may probe. Anything outside is refused."""

    allow: Annotated[list[ipaddress.IPv4Network], Field(min_length=1)]

    def contains(self, address: ipaddress.IPv4Address) -> bool:
        return any(address in net for net in self.allow)


class Period(_Model):
    days: Annotated[list[Weekday], Field(min_length=1)]
    start: time
    end: time

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
    device_concurrency: Annotated[int, Field(ge=1, le=64)] = 16


class Inventory(_Model):
    """A school site's inventory (``version: 1``)."""

    version: Literal[1] = 1
    school: School
    scope: Scope
    secrets_file: Path | None = None
    agent: Agent = Agent()
    schedule: Schedule = Schedule()
    uplink: Uplink | None = None
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

    @model_validator(mode="after")
    def _references(self) -> Self:
        _unique("classrooms", [c.id for c in self.classrooms])
        _unique("devices", [d.id for d in self.devices])
        if self.uplink:
            _unique("uplink.endpoints", [e.id for e in self.uplink.endpoints])
        _unique("servers", [s.id for s in self.servers])
        zones = {z.id for z in self.zones}
        for server in self.servers:
            if server.zone is not None and server.zone not in zones:
                raise ValueError(f"server {server.id!r} names zone {server.zone!r}, which is not in "
                                 f"'zones' (known: {', '.join(sorted(zones)) or 'none'})")
        _unique("firewalls", [f.id for f in self.firewalls])
        _unique("backups", [b.id for b in self.backups])
        _unique("wifi_areas", [a.id for a in self.wifi_areas])
        known = {d.id for d in self.devices}
        named = [(f"firewall {f.id!r} device", f.device) for f in self.firewalls]
        named.append(("wifi.controller", self.wifi.controller if self.wifi else None))
        for where, device_id in named:
            if device_id is not None and device_id not in known:
                raise ValueError(f"{where} names device {device_id!r}, which is not in 'devices' "
                                 f"(known: {', '.join(sorted(known)) or 'none'})")
        refs: list[tuple[str, PortRef | None]] = [
            ("uplink.port", self.uplink.port if self.uplink else None)
        ]
        refs += [(f"classroom {c.id!r} access_port", c.access_port) for c in self.classrooms]
        for where, ref in refs:
            if ref is not None and ref.device not in known:
                raise ValueError(
                    f"{where} names device {ref.device!r}, which is not in 'devices' "
                    f"(known: {', '.join(sorted(known)) or 'none'})"
                )
        return self

    def allowed_ports(self, server: Server) -> set[str]:
        """The ports a server may expose: its zone's and its own (``"443/tcp"`` form)."""
        zone = next((z for z in self.zones if z.id == server.zone), None)
        entries = [*(zone.allowed_ports if zone else []), *server.allowed_ports]
        return {port_key(e) for e in entries}

    def device(self, device_id: str) -> Device:
        return next(d for d in self.devices if d.id == device_id)


def _unique(where: str, ids: list[str]) -> None:
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"{where}: duplicate id {', '.join(map(repr, dupes))}; ids must be unique")


class LoadedInventory:
    """An inventory with where it came from and the digest of its exact bytes."""

    def __init__(self, path: Path, inventory: Inventory, raw: bytes) -> None:
        self.path = path
        self.inventory = inventory
        self.raw = raw
        self.sha256 = hashlib.sha256(raw).hexdigest()


_M = TypeVar("_M", Device, BackupTarget, BackupLocation)


def _with_key_file(model: _M, base: Path) -> _M:
    """The model with its ssh.key_file made absolute (relative to the inventory's folder)."""
    ssh = model.ssh
    if ssh is None or ssh.key_file is None or ssh.key_file.is_absolute():
        return model
    key_file = (base / ssh.key_file).resolve()
    return model.model_copy(update={"ssh": ssh.model_copy(update={"key_file": key_file})})


def load_inventory(path: Path) -> LoadedInventory:
    """Load and validate an inventory file. Raises InputError naming file, line and field."""
    data, node, raw = load_yaml(path)
    inventory = validate(Inventory, data, node, str(path))
    if inventory.secrets_file is not None and not inventory.secrets_file.is_absolute():
        resolved = (path.parent / inventory.secrets_file).resolve()
        inventory = inventory.model_copy(update={"secrets_file": resolved})
    # Relative paths in the inventory are relative to the inventory file, wherever the agent runs.
    wifi = inventory.wifi
    if wifi is not None and wifi.surveys is not None and not wifi.surveys.is_absolute():
        wifi = wifi.model_copy(update={"surveys": (path.parent / wifi.surveys).resolve()})
        inventory = inventory.model_copy(update={"wifi": wifi})
    devices = [_with_key_file(d, path.parent) for d in inventory.devices]
    backups = [_with_key_file(b, path.parent) for b in inventory.backups]
    backups = [b.model_copy(update={"offsite": _with_key_file(b.offsite, path.parent)}) if b.offsite else b
               for b in backups]
    inventory = inventory.model_copy(update={"devices": devices, "backups": backups})
    agent = inventory.agent
    if agent.known_hosts is not None and not agent.known_hosts.is_absolute():
        agent = agent.model_copy(update={"known_hosts": (path.parent / agent.known_hosts).resolve()})
        inventory = inventory.model_copy(update={"agent": agent})
    return LoadedInventory(path, inventory, raw)
