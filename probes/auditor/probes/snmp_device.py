"""SNMP discovery of inventory devices, and the explicit default-community test.

``snmp.device_info`` reads the system group (vendor and platform from sysObjectID and sysDescr),
the interface table (ifTable/ifXTable) and the LLDP neighbour table, which the report draws
as the topology. ``snmp.default_community`` asks each inventory device, and only those, for
sysDescr with the communities ``public`` and ``private``: a reply is a finding.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pysnmp.hlapi.v3arch.asyncio import CommunityData

from auditor.context import RunContext
from auditor.errors import ProbeError, TargetUnreachable
from auditor.facts import DefaultCommunity, DeviceSnmp, FactKind, LldpRow, SnmpIfRow, fact_data
from auditor.inventory import Device, Inventory
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._snmp import SnmpSession, SnmpSettings
from auditor.probes.parsers.if_table import COLUMNS as IF_COLUMNS
from auditor.probes.parsers.if_table import build_if_table
from auditor.probes.parsers.snmp_system import LLDP_COLUMNS, LLDP_LOC_SYS_NAME, build_lldp, identify

INFO_KIND = FactKind.DEVICE_SNMP
DEFAULT_KIND = FactKind.DEFAULT_COMMUNITY
UPTIME = "1.3.6.1.2.1.1.3.0"

define({
    "probe.snmp_device.evidence": ("在 {device} 上遍历的 SNMP 系统组、IF-MIB 和 LLDP-MIB",
                                   "SNMP system group, IF-MIB and LLDP-MIB walked on {device}"),
    "probe.snmp_device.note": ("对无应答的团体名询问了 {times} 次（每次 {timeout:g} 秒），"
                               "每次重试前都先用清单中的凭据发送一次控制请求并得到设备应答；"
                               "任何一次控制请求无应答都会使测试结果为错误（路径丢包）",
                               "a silent community was asked {times} times ({timeout:g} s each), and each "
                               "repeat followed a request with the inventory's own credentials that the "
                               "device answered; any unanswered control request makes the test an error "
                               "(the path loses packets)"),
    "probe.snmp_device.error_reply": ("（错误应答）{error}", "(error reply) {error}"),
    "probe.snmp_device.lossy": ("{device}（{address}）没有应答 {community}，而使用清单凭据的控制请求也没有应"
                                "答：路径丢包（或设备已停止应答），因此没有应答不能说明问题；"
                                "请在网络正常时重新审计",
                                "{device} ({address}) did not answer {community}, and a control request "
                                "with the inventory's own credentials went unanswered too: the path loses "
                                "packets (or the device stopped answering), so silence proves nothing; "
                                "audit again when the network is healthy"),
}, recoverable=True)


def _security(device: Device) -> Literal["community", "authPriv", "authNoPriv", "noAuthNoPriv"]:
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
            "application/json", english("probe.snmp_device.evidence", device=device.id))
        data = device_info(device, system, if_binds, lldp_binds)
        return [Fact(INFO_KIND, task.target, self.name, FactStatus.OK, data=fact_data(data),
                     artifacts=(artifact.path,))]


def device_info(device: Device, system: dict[str, str], if_binds: list[dict[str, str]],
                lldp_binds: list[dict[str, str]]) -> DeviceSnmp:
    """The ``device.snmp`` data of what a device answered: system group, ifTable, LLDP table."""
    assert device.snmp is not None
    ident = identify(system["sysObjectID"], system["sysDescr"])
    table = build_if_table((v["oid"], v["value"]) for v in if_binds)
    names = {i: (r.name or r.descr or str(i)) for i, r in table.items()}
    neighbours = build_lldp(((v["oid"], v["value"]) for v in lldp_binds), names)
    return DeviceSnmp(
        address=str(device.address), sys_descr=system["sysDescr"],
        sys_object_id=system["sysObjectID"], sys_name=system["sysName"],
        uptime_s=_uptime_s(system["sysUpTime"]), vendor=ident.vendor,
        enterprise=ident.enterprise, platform=ident.platform, version=ident.version,
        inventory_vendor=device.vendor,
        snmp_version=device.snmp.version, security=_security(device),
        interfaces=tuple(SnmpIfRow(index=r.index, name=r.name, descr=r.descr, alias=r.alias,
                                   admin=r.admin_status, oper=r.oper_status, speed_mbps=r.speed_mbps)
                         for r in table.values()),
        lldp=tuple(LldpRow(local_port=n.local_port, remote_sys_name=n.remote_sys_name,
                           remote_port=n.remote_port, remote_port_desc=n.remote_port_desc,
                           remote_chassis=n.remote_chassis) for n in neighbours),
    )


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
    # Repeats of a silent community, each after a control request (see _confirmed_reply): under
    # 30 % loss a device answering ``public`` stays silent through 2 + 2 tries 0.8 % of the time,
    # and then also has to answer both control requests.
    confirm_rounds: int = Field(default=2, ge=0, le=5)


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
        answered: dict[str, str] = {}
        silent: list[str] = []
        controls = 0
        for community in s.communities:
            reply, asked = await _confirmed_reply(device, community, s, ctx)
            controls += asked
            if reply is None:
                silent.append(community)
            else:
                answered[community] = reply
        data = community_data(device, s, answered, silent, controls)
        return [Fact(DEFAULT_KIND, task.target, self.name, FactStatus.OK, data=fact_data(data))]


def community_data(device: Device, s: DefaultCommunitySettings, answered: dict[str, str], silent: list[str],
                   controls: int) -> DefaultCommunity:
    """The ``device.default_community`` data: which communities answered (with their sysDescr)."""
    return DefaultCommunity(
        address=str(device.address), port=s.port, tried=tuple(s.communities), answered=answered,
        silent=tuple(silent), control_requests_answered=controls,
        note=english("probe.snmp_device.note", times=s.retries + 1 + s.confirm_rounds, timeout=s.timeout_s))


async def _ask(device: Device, community: str, settings: SnmpSettings, port: int,
               ctx: RunContext) -> str | None:
    """sysDescr as ``community`` answers it; None when nothing came back."""
    auth = CommunityData(community, mpModel=1)  # noqa: S508 - testing for exactly this weakness
    session = SnmpSession(device.model_copy(update={"snmp": None}), settings, ctx, auth=auth)
    session.port = port
    session.where = f"{device.address}:{port}"
    try:
        system = await session.get({"sysDescr": "1.3.6.1.2.1.1.1.0"})
    except TargetUnreachable:
        return None
    except ProbeError as exc:  # an SNMP error PDU is still an answer to that community
        return english("probe.snmp_device.error_reply", error=str(exc))
    return system["sysDescr"][:200]


async def _confirmed_reply(device: Device, community: str, s: DefaultCommunitySettings,
                           ctx: RunContext) -> tuple[str | None, int]:
    """The community's reply; silence only once it survives ``confirm_rounds`` repeats, each after
    a control request with the inventory's credentials that was answered (a lost control request
    means packet loss: the silence proves nothing, and TargetUnreachable says so). Also returns
    how many control requests were answered."""
    reply = await _ask(device, community, SnmpSettings(timeout_s=s.timeout_s, retries=s.retries), s.port, ctx)
    once = SnmpSettings(timeout_s=s.timeout_s, retries=0)
    control = SnmpSession(device, once, ctx) if device.snmp is not None else None
    answered = 0
    for _round in range(s.confirm_rounds):
        if reply is not None:
            break
        if control is not None:
            try:
                await control.get({"sysUpTime": UPTIME})
            except ProbeError:
                raise TargetUnreachable(english("probe.snmp_device.lossy", device=device.id,
                                                address=str(device.address),
                                                community=repr(community))) from None
            answered += 1
        reply = await _ask(device, community, once, s.port, ctx)
    return reply, answered
