"""Parse nmap's XML output (``-oX``): hosts, their state, and every scanned port.

The standard library's ElementTree reads it; the XML comes from an nmap process the probe
started itself, never from the network.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass(frozen=True)
class PortResult:
    proto: str
    port: int
    state: str  # open, closed, filtered, open|filtered, ...
    reason: str
    service: str | None
    product: str | None
    version: str | None
    extrainfo: str | None
    method: str | None  # "probed" (service detection) or "table" (guessed from the port number)


@dataclass(frozen=True)
class HostResult:
    address: str
    status: str  # up / down
    reason: str
    ports: tuple[PortResult, ...]

    def open_ports(self) -> list[PortResult]:
        return [p for p in self.ports if p.state == "open"]


@dataclass(frozen=True)
class NmapRun:
    version: str
    args: str
    exit: str  # "success" or "error"
    errormsg: str | None
    summary: str | None
    hosts: tuple[HostResult, ...]


class NmapParseError(ValueError):
    """The text is not nmap XML output."""


def _port(el: ET.Element) -> PortResult:
    state = el.find("state")
    svc = el.find("service")

    def get(key: str) -> str | None:
        return svc.get(key) if svc is not None else None

    return PortResult(
        proto=el.get("protocol", "?"), port=int(el.get("portid", "0")),
        state=state.get("state", "unknown") if state is not None else "unknown",
        reason=state.get("reason", "") if state is not None else "",
        service=get("name"), product=get("product"), version=get("version"),
        extrainfo=get("extrainfo"), method=get("method"),
    )


def _host(el: ET.Element) -> HostResult:
    status = el.find("status")
    addr = el.find("address")
    return HostResult(
        address=addr.get("addr", "?") if addr is not None else "?",
        status=status.get("state", "unknown") if status is not None else "unknown",
        reason=status.get("reason", "") if status is not None else "",
        ports=tuple(_port(p) for p in el.iterfind("ports/port")),
    )


def parse_nmap_xml(text: str) -> NmapRun:
    """Parse one ``nmap -oX`` document."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - see module docstring
    except ET.ParseError as exc:
        raise NmapParseError(f"not XML: {exc}") from None
    if root.tag != "nmaprun":
        raise NmapParseError(f"not nmap XML (root element {root.tag!r})")
    finished = root.find("runstats/finished")
    return NmapRun(
        version=root.get("version", "unknown"),
        args=root.get("args", ""),
        exit=finished.get("exit", "unknown") if finished is not None else "incomplete",
        errormsg=finished.get("errormsg") if finished is not None else None,
        summary=finished.get("summary") if finished is not None else None,
        hosts=tuple(_host(h) for h in root.iterfind("host")),
    )
