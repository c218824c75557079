"""SNMP access shared by the SNMP probes: one engine per run, v2c or v3 from inventory references.

Numeric OIDs only (no MIB loading), pysnmp's asyncio API.
"""

from __future__ import annotations

from typing import Any

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
from auditor.inventory import Device
from auditor.messages import define, english

SYSTEM = {"sysDescr": "1.3.6.1.2.1.1.1.0", "sysObjectID": "1.3.6.1.2.1.1.2.0",
          "sysName": "1.3.6.1.2.1.1.5.0"}
_AUTH = {"md5": usmHMACMD5AuthProtocol, "sha": usmHMACSHAAuthProtocol,
         "sha256": usmHMAC192SHA256AuthProtocol, "sha512": usmHMAC384SHA512AuthProtocol}
_PRIV = {"des": usmDESPrivProtocol, "aes": usmAesCfb128Protocol, "aes256": usmAesCfb256Protocol}

define({
    "probe.snmp.garbage": ("{device}（{address}）在 {timeout:g} 秒 × {tries} 次尝试内没有可用的 SNMP 应答："
                           "丢弃了来自它的 {count} 个无法解码的数据报（该端口上不是 SNMP 代理，"
                           "或代理有故障）",
                           "no usable SNMP response from {device} ({address}) within {timeout:g} s x "
                           "{tries} tries: {count} undecodable datagram(s) from it were dropped (not an "
                           "SNMP agent on that port, or a broken one)"),
    "probe.snmp.no_response": ("{device}（{address}）在 {timeout:g} 秒 × {tries} 次尝试内没有 SNMP 应答："
                               "团体名或凭据错误、被 ACL 拦截，或设备已停机",
                               "no SNMP response from {device} ({address}) within {timeout:g} s x {tries} "
                               "tries: wrong community or credentials, an ACL, or the device is down"),
    "probe.snmp.failed": ("对 {device}（{address}）的 SNMP 请求失败：{error}",
                          "SNMP request to {device} ({address}) failed: {error}"),
    "probe.snmp.error": ("{device} 返回 SNMP 错误：{error}", "SNMP error from {device}: {error}"),
}, recoverable=True)


class SnmpSettings(BaseModel):
    """Settings of the SNMP probes (profile ``probe_settings: snmp.*``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=2.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)
    max_repetitions: int = Field(default=25, ge=1, le=100)


class SnmpSession:
    """One device's SNMP access through the run's shared engine."""

    def __init__(self, device: Device, settings: SnmpSettings, ctx: RunContext,
                 auth: CommunityData | UsmUserData | None = None) -> None:
        assert device.snmp is not None or auth is not None
        self.device, self.settings = device, settings
        self.engine: SnmpEngine = ctx.shared_client("snmp-engine", _engine)
        self.port = device.snmp.port if device.snmp else 161
        self.where = f"{device.address}:{self.port}"
        self.auth = auth if auth is not None else _auth(device, ctx)
        self._transport: UdpTransportTarget | None = None

    async def _target(self) -> UdpTransportTarget:
        """The device's transport target, created once per session."""
        if self._transport is None:
            self._transport = await UdpTransportTarget.create(
                (str(self.device.address), self.port),
                timeout=self.settings.timeout_s, retries=self.settings.retries,
            )
        return self._transport

    def _fail(self, indication: object) -> ProbeError:
        s = self.settings
        text = str(indication)
        garbage = getattr(self.engine, "undecodable", {}).get(str(self.device.address), 0)
        if "timeout" in text.lower() and garbage:
            return TargetUnreachable(english(
                "probe.snmp.garbage", device=self.device.id, address=self.where, timeout=s.timeout_s,
                tries=s.retries + 1, count=garbage))
        if "timeout" in text.lower():
            return TargetUnreachable(english("probe.snmp.no_response", device=self.device.id,
                                             address=self.where, timeout=s.timeout_s, tries=s.retries + 1))
        return TargetUnreachable(english("probe.snmp.failed", device=self.device.id, address=self.where,
                                         error=text))

    async def get_system(self) -> dict[str, str]:
        return await self.get(SYSTEM)

    async def get(self, oids: dict[str, str]) -> dict[str, str]:
        """GET named scalar OIDs; a value the agent lacks comes back as ``""``."""
        err, status, _index, binds = await get_cmd(
            self.engine, self.auth, await self._target(), ContextData(),
            *(ObjectType(ObjectIdentity(oid)) for oid in oids.values()),
        )
        if err:
            raise self._fail(err)
        if status:
            raise ProbeError(english("probe.snmp.error", device=self.device.id, error=status.prettyPrint()))
        names = list(oids)
        return {names[i]: _value(vb[1]) for i, vb in enumerate(binds)}

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
                    raise ProbeError(english("probe.snmp.error", device=self.device.id,
                                             error=status.prettyPrint()))
                for name, value in binds:
                    rows.append({"oid": str(name.get_oid() if hasattr(name, "get_oid") else name),
                                 "type": type(value).__name__, "value": text_value(value)})
        return rows


def _engine() -> SnmpEngine:
    """The run's SNMP engine, hardened against datagrams it cannot decode.

    pysnmp drops most malformed replies itself, but some garbage makes pyasn1 raise an error
    pysnmp does not catch (a TypeError), which asyncio then prints with a traceback. Such a
    datagram is dropped here and counted per source address; the request it did not answer
    times out and the error names the garbage.
    """
    engine = SnmpEngine()
    receive = engine.message_dispatcher.receive_message
    undecodable: dict[str, int] = {}

    def guarded(snmp_engine: Any, domain: Any, address: Any, whole_msg: bytes) -> Any:
        try:
            return receive(snmp_engine, domain, address, whole_msg)
        except Exception:  # an undecodable datagram must not become a traceback
            source = str(address[0]) if isinstance(address, tuple) and address else str(address)
            undecodable[source] = undecodable.get(source, 0) + 1
            return b""

    engine.message_dispatcher.receive_message = guarded
    engine.undecodable = undecodable
    return engine


def text_value(value: Any) -> str:
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


def _value(value: Any) -> str:
    """A GET result as text; noSuchObject/noSuchInstance/endOfMibView become ``""``."""
    if type(value).__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return ""
    return text_value(value)
