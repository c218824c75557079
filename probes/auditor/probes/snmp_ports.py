"""SNMP port-speed probe: ifHighSpeed and ifOperStatus of the uplink and classroom ports.

A second evidence source next to the iperf3 goodput: a classroom cannot be on 100 Mbit/s if
its access port negotiated 10 Mbit/s. Uses pysnmp's asyncio API with numeric OIDs.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
    usmAesCfb128Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)

from auditor.context import RunContext
from auditor.errors import ProbeError, TargetUnreachable
from auditor.inventory import Device, Inventory, PortRef
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes.parsers.if_table import COLUMNS, IfRow, build_if_table, find_port

KIND = "snmp.interface"
SYSTEM = {"sysDescr": "1.3.6.1.2.1.1.1.0", "sysObjectID": "1.3.6.1.2.1.1.2.0",
          "sysName": "1.3.6.1.2.1.1.5.0"}
_AUTH = {"md5": usmHMACMD5AuthProtocol, "sha": usmHMACSHAAuthProtocol,
         "sha256": usmHMAC192SHA256AuthProtocol, "sha512": usmHMAC384SHA512AuthProtocol}
_PRIV = {"des": usmDESPrivProtocol, "aes": usmAesCfb128Protocol, "aes256": usmAesCfb256Protocol}


class SnmpSettings(BaseModel):
    """Settings of the SNMP probes (profile ``probe_settings: snmp.port_speed``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=2.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=25, ge=1, le=100)


def _port_refs(inventory: Inventory) -> dict[str, list[PortRef]]:
    refs: list[PortRef] = []
    if inventory.uplink and inventory.uplink.port:
        refs.append(inventory.uplink.port)
    refs += [room.access_port for room in inventory.classrooms if room.access_port]
    by_device: dict[str, list[PortRef]] = {}
    for ref in refs:
        ports = by_device.setdefault(ref.device, [])
        if ref not in ports:
            ports.append(ref)
    return by_device


class SnmpPortSpeedProbe:
    """Reads the interface table of every device that serves the uplink or a classroom."""

    name: ClassVar[str] = "snmp.port_speed"
    description: ClassVar[str] = (
        "Port speed and state (IF-MIB ifHighSpeed, ifOperStatus) of uplink and classroom ports"
    )
    settings_model: ClassVar[type[BaseModel]] = SnmpSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        tasks = []
        for device_id, refs in _port_refs(inventory).items():
            device = inventory.device(device_id)
            subjects = tuple((KIND, f"{device.id}/{r.port}") for r in refs)
            tasks.append(ProbeTask(
                probe=self.name, target=device.id, address=str(device.address),
                params={"device": device.id, "ports": [r.port for r in refs],
                        "settings": settings.model_dump()},
                produces=subjects, safety=Safety.PASSIVE,
                locks=frozenset({f"snmp:{device.address}"}), estimated_seconds=3.0,
            ))
        return tasks

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        device = ctx.inventory.device(task.params["device"])
        if device.snmp is None:
            raise ProbeError(f"device {device.id} has no 'snmp' access in the inventory")
        settings = SnmpSettings.model_validate(task.params["settings"])
        session = _Session(device, settings, ctx)
        system = await session.get_system()
        varbinds = await session.walk_columns(COLUMNS)
        artifact = ctx.evidence.put(
            f"snmp/{device.id}-if-table.json",
            json.dumps({"device": device.id, "address": str(device.address),
                        "snmp_version": device.snmp.version, "system": system,
                        "varbinds": varbinds}, ensure_ascii=False, indent=1).encode(),
            "application/json",
            f"IF-MIB ifTable/ifXTable columns walked on {device.id} ({device.address})",
        )
        table = build_if_table((v["oid"], v["value"]) for v in varbinds)
        return [_port_fact(device, port, table, system, artifact.path) for port in task.params["ports"]]


def _port_fact(device: Device, port: str, table: dict[int, IfRow], system: dict[str, str],
               artifact: str) -> Fact:
    subject = f"{device.id}/{port}"
    row = find_port(table, port)
    if row is None:
        names = ", ".join(r.name or r.descr or str(r.index) for r in table.values())
        return Fact(KIND, subject, SnmpPortSpeedProbe.name, FactStatus.ERROR,
                    error=f"port {port!r} not found on {device.id} (ifName/ifDescr); it has: {names}",
                    artifacts=(artifact,))
    data: dict[str, Any] = {
        "device": device.id, "address": str(device.address), "sys_name": system.get("sysName"),
        "port": port, "if_index": row.index, "if_name": row.name, "if_descr": row.descr,
        "if_alias": row.alias, "high_speed_mbps": row.high_speed_mbps, "speed_bps": row.speed_bps,
        "speed_mbps": row.speed_mbps, "admin_status": row.admin_status,
        "oper_status": row.oper_status,
    }
    return Fact(KIND, subject, SnmpPortSpeedProbe.name, FactStatus.OK, data=data,
                artifacts=(artifact,))


class _Session:
    """One device's SNMP access through the run's shared engine."""

    def __init__(self, device: Device, settings: SnmpSettings, ctx: RunContext) -> None:
        assert device.snmp is not None
        self.device, self.settings = device, settings
        self.engine: SnmpEngine = ctx.shared_client("snmp-engine", SnmpEngine)
        self.where = f"{device.address}:{device.snmp.port}"
        self.auth = _auth(device, ctx)
        self._transport: UdpTransportTarget | None = None

    async def _target(self) -> UdpTransportTarget:
        """The device's transport target, created once per session."""
        assert self.device.snmp is not None
        if self._transport is None:
            self._transport = await UdpTransportTarget.create(
                (str(self.device.address), self.device.snmp.port),
                timeout=self.settings.timeout_s, retries=self.settings.retries,
            )
        return self._transport

    def _fail(self, indication: object) -> ProbeError:
        s = self.settings
        text = str(indication)
        if "timeout" in text.lower():
            return TargetUnreachable(
                f"no SNMP response from {self.device.id} ({self.where}) within {s.timeout_s:g} s "
                f"x {s.retries + 1} tries: wrong community or credentials, an ACL, or the device is down"
            )
        return TargetUnreachable(f"SNMP request to {self.device.id} ({self.where}) failed: {text}")

    async def get_system(self) -> dict[str, str]:
        err, status, _index, binds = await get_cmd(
            self.engine, self.auth, await self._target(), ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in SYSTEM.values()),
        )
        if err:
            raise self._fail(err)
        if status:
            raise ProbeError(f"SNMP error from {self.device.id}: {status.prettyPrint()}")
        names = list(SYSTEM)
        return {names[i]: _text(vb[1]) for i, vb in enumerate(binds)}

    async def walk_columns(self, columns: tuple[str, ...]) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        target = await self._target()
        for column in columns:
            async for err, status, _index, binds in bulk_walk_cmd(
                self.engine, self.auth, target, ContextData(), 0, self.settings.max_repetitions,
                ObjectType(ObjectIdentity(column)), lexicographicMode=False,
            ):
                if err:
                    raise self._fail(err)
                if status:
                    raise ProbeError(f"SNMP error from {self.device.id}: {status.prettyPrint()}")
                for name, value in binds:
                    rows.append({"oid": str(name.getOid() if hasattr(name, "getOid") else name),
                                 "type": type(value).__name__, "value": _text(value)})
        return rows


def _text(value: Any) -> str:
    """A varbind value as text; object identifiers stay numeric (no MIB name lookup)."""
    if hasattr(value, "asTuple"):
        return ".".join(str(part) for part in value.asTuple())
    return str(value.prettyPrint())


def _auth(device: Device, ctx: RunContext) -> CommunityData | UsmUserData:
    snmp = device.snmp
    assert snmp is not None
    where = f"devices[{device.id}].snmp"
    if snmp.version == "2c":
        assert snmp.community is not None
        return CommunityData(ctx.secrets.resolve(snmp.community, f"{where}.community"),
                             mpModel=1)  # noqa: S508 - v2c is what many school switches speak
    auth_key = ctx.secrets.resolve(snmp.auth_key, f"{where}.auth_key") if snmp.auth_key else None
    priv_key = ctx.secrets.resolve(snmp.priv_key, f"{where}.priv_key") if snmp.priv_key else None
    kwargs: dict[str, Any] = {}
    if auth_key:
        kwargs["authProtocol"] = _AUTH[snmp.auth_protocol or "sha"]
    if priv_key:
        kwargs["privProtocol"] = _PRIV[snmp.priv_protocol or "aes"]
    return UsmUserData(snmp.user, authKey=auth_key, privKey=priv_key, **kwargs)
