"""SNMP port-speed probe: ifHighSpeed and ifOperStatus of the uplink and classroom ports.

A second evidence source next to the iperf3 goodput: a classroom cannot be on 100 Mbit/s if
its access port negotiated 10 Mbit/s. Uses pysnmp's asyncio API with numeric OIDs.
"""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel

from auditor.context import RunContext
from auditor.errors import ProbeError
from auditor.facts import FactKind, PortSpeed, fact_data
from auditor.inventory import Device, Inventory, PortRef
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._snmp import SnmpSession, SnmpSettings
from auditor.probes.parsers.if_table import COLUMNS, IfRow, build_if_table, find_port

KIND = FactKind.SNMP_INTERFACE


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

define({
    "probe.snmp_ports.no_access": ("清单中没有为设备 {device} 提供 'snmp' 访问方式",
                                   "device {device} has no 'snmp' access in the inventory"),
    "probe.snmp_ports.evidence": ("在 {device}（{address}）上遍历的 IF-MIB ifTable/ifXTable 列",
                                  "IF-MIB ifTable/ifXTable columns walked on {device} ({address})"),
    "probe.snmp_ports.not_found": ("在 {device} 上找不到端口 {port}（按 ifName/ifDescr 查找）；"
                                   "该设备的端口有：{names}",
                                   "port {port} not found on {device} (ifName/ifDescr); it has: {names}"),
}, recoverable=True)


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
            raise ProbeError(english("probe.snmp_ports.no_access", device=device.id))
        settings = SnmpSettings.model_validate(task.params["settings"])
        session = SnmpSession(device, settings, ctx)
        system = await session.get_system()
        varbinds = await session.walk_columns(COLUMNS)
        artifact = ctx.evidence.put(
            f"snmp/{device.id}-if-table.json",
            json.dumps({"device": device.id, "address": str(device.address),
                        "snmp_version": device.snmp.version, "system": system,
                        "varbinds": varbinds}, ensure_ascii=False, indent=1).encode(),
            "application/json",
            english("probe.snmp_ports.evidence", device=device.id, address=str(device.address)),
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
                    error=english("probe.snmp_ports.not_found", port=repr(port), device=device.id,
                                  names=names),
                    artifacts=(artifact,))
    data = PortSpeed(
        device=device.id, address=str(device.address), sys_name=system.get("sysName"),
        port=port, if_index=row.index, if_name=row.name, if_descr=row.descr,
        if_alias=row.alias, high_speed_mbps=row.high_speed_mbps, speed_bps=row.speed_bps,
        speed_mbps=row.speed_mbps, admin_status=row.admin_status,
        oper_status=row.oper_status,
    )
    return Fact(KIND, subject, SnmpPortSpeedProbe.name, FactStatus.OK, data=fact_data(data),
                artifacts=(artifact,))
