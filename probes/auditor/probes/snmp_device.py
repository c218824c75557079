"""SNMP discovery of inventory devices, and the explicit default-community test.

``snmp.device_info`` reads the system group (vendor and platform from sysObjectID and sysDescr),
the interface table (ifTable/ifXTable) and the LLDP neighbour table, which the report draws
as the topology. ``snmp.default_community`` asks each inventory device, and only those, for
sysDescr with the communities ``public`` and ``private``: a reply is a finding.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pysnmp.hlapi.v3arch.asyncio import CommunityData

from auditor.context import RunContext
from auditor.errors import ProbeError, TargetUnreachable
from auditor.inventory import Device, Inventory
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._snmp import SnmpSession, SnmpSettings
from auditor.probes.parsers.if_table import COLUMNS as IF_COLUMNS
from auditor.probes.parsers.if_table import build_if_table
from auditor.probes.parsers.snmp_system import LLDP_COLUMNS, LLDP_LOC_SYS_NAME, build_lldp, identify

INFO_KIND = "device.snmp"
DEFAULT_KIND = "device.default_community"
UPTIME = "1.3.6.1.2.1.1.3.0"


def _security(device: Device) -> str:
    snmp = device.snmp
    assert snmp is not None
    if snmp.version == "2c":
        return "community"
    if snmp.priv_key is not None:
        return "authPriv"
    return "authNoPriv" if snmp.auth_key is not None else "noAuthNoPriv"


class SnmpDeviceInfoProbe:
    """System identity, interfaces and LLDP neighbours of every device with SNMP access."""

    name: ClassVar[str] = "snmp.device_info"
    description: ClassVar[str] = "Vendor, platform, interfaces and LLDP neighbours of devices (SNMP)"
    settings_model: ClassVar[type[BaseModel]] = SnmpSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        return [
            ProbeTask(probe=self.name, target=f"device/{d.id}", address=str(d.address),
                      params={"device": d.id, "settings": settings.model_dump()},
                      produces=((INFO_KIND, f"device/{d.id}"),), safety=Safety.PASSIVE,
                      locks=frozenset({f"snmp:{d.address}"}), estimated_seconds=3.0)
            for d in inventory.devices if d.snmp is not None
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        device = ctx.inventory.device(task.params["device"])
        assert device.snmp is not None
        settings = SnmpSettings.model_validate(task.params["settings"])
        session = SnmpSession(device, settings, ctx)
        system = await session.get({**_SYSTEM_ALL, "lldpLocSysName": LLDP_LOC_SYS_NAME})
        if_binds = await session.walk_columns(IF_COLUMNS)
        lldp_binds = await session.walk_columns(LLDP_COLUMNS)
        artifact = ctx.evidence.put(
            f"snmp/{device.id}-discovery.json",
            json.dumps({"device": device.id, "address": str(device.address),
                        "snmp_version": device.snmp.version, "system": system,
                        "interfaces": if_binds, "lldp": lldp_binds}, ensure_ascii=False, indent=1).encode(),
            "application/json", f"SNMP system group, IF-MIB and LLDP-MIB walked on {device.id}")
        ident = identify(system["sysObjectID"], system["sysDescr"])
        table = build_if_table((v["oid"], v["value"]) for v in if_binds)
        names = {i: (r.name or r.descr or str(i)) for i, r in table.items()}
        neighbours = build_lldp(((v["oid"], v["value"]) for v in lldp_binds), names)
        data: dict[str, Any] = {
            "address": str(device.address), "sys_descr": system["sysDescr"],
            "sys_object_id": system["sysObjectID"], "sys_name": system["sysName"],
            "uptime_s": _uptime_s(system["sysUpTime"]), "vendor": ident.vendor,
            "enterprise": ident.enterprise, "platform": ident.platform, "version": ident.version,
            "inventory_vendor": device.vendor,
            "snmp_version": device.snmp.version, "security": _security(device),
            "interfaces": [{"index": r.index, "name": r.name, "descr": r.descr, "alias": r.alias,
                            "admin": r.admin_status, "oper": r.oper_status, "speed_mbps": r.speed_mbps}
                           for r in table.values()],
            "lldp": [{"local_port": n.local_port, "remote_sys_name": n.remote_sys_name,
                      "remote_port": n.remote_port, "remote_port_desc": n.remote_port_desc,
                      "remote_chassis": n.remote_chassis} for n in neighbours],
        }
        return [Fact(INFO_KIND, task.target, self.name, FactStatus.OK, data=data,
                     artifacts=(artifact.path,))]


_SYSTEM_ALL = {"sysDescr": "1.3.6.1.2.1.1.1.0", "sysObjectID": "1.3.6.1.2.1.1.2.0",
               "sysName": "1.3.6.1.2.1.1.5.0", "sysUpTime": UPTIME}


def _uptime_s(ticks: str) -> float | None:
    return int(ticks) / 100 if ticks.strip().isdigit() else None


class DefaultCommunitySettings(BaseModel):
    """Settings of ``snmp.default_community`` (profile ``probe_settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    communities: list[str] = Field(default_factory=lambda: ["public", "private"], min_length=1)
    timeout_s: float = Field(default=1.5, gt=0, le=10)
    retries: int = Field(default=1, ge=0, le=3)
    port: int = Field(default=161, ge=1, le=65535)


class SnmpDefaultCommunityProbe:
    """Tries the well-known default communities on each inventory device (v2c GET sysDescr)."""

    name: ClassVar[str] = "snmp.default_community"
    description: ClassVar[str] = "Whether inventory devices answer the SNMP communities public/private"
    settings_model: ClassVar[type[BaseModel]] = DefaultCommunitySettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        return [
            ProbeTask(probe=self.name, target=f"device/{d.id}", address=str(d.address),
                      params={"device": d.id, "settings": settings.model_dump()},
                      produces=((DEFAULT_KIND, f"device/{d.id}"),), safety=Safety.ACTIVE,
                      locks=frozenset({f"snmp:{d.address}"}), estimated_seconds=4.0)
            for d in inventory.devices
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        device = ctx.inventory.device(task.params["device"])
        s = DefaultCommunitySettings.model_validate(task.params["settings"])
        snmp_settings = SnmpSettings(timeout_s=s.timeout_s, retries=s.retries)
        port_device = device.model_copy(update={"snmp": None})
        answered: dict[str, str] = {}
        silent: list[str] = []
        for community in s.communities:
            auth = CommunityData(community, mpModel=1)  # noqa: S508 - testing for exactly this weakness
            session = SnmpSession(port_device, snmp_settings, ctx, auth=auth)
            session.port = s.port
            session.where = f"{device.address}:{s.port}"
            try:
                system = await session.get({"sysDescr": "1.3.6.1.2.1.1.1.0"})
            except TargetUnreachable:
                silent.append(community)
                continue
            except ProbeError as exc:  # an SNMP error PDU is still an answer to that community
                answered[community] = f"(error reply) {exc}"
                continue
            answered[community] = system["sysDescr"][:200]
        data = {"address": str(device.address), "port": s.port, "tried": list(s.communities),
                "answered": answered, "silent": silent,
                "note": f"a silent community is inconclusive on its own: no reply within "
                        f"{s.timeout_s:g} s x {s.retries + 1} tries"}
        return [Fact(DEFAULT_KIND, task.target, self.name, FactStatus.OK, data=data)]
