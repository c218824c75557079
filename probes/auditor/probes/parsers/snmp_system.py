"""Vendor and platform from SNMPv2-MIB system values (sysObjectID, sysDescr), and LLDP-MIB rows.

The enterprise number under 1.3.6.1.4.1 names the vendor (``auditor.vendors.enterprise_vendor``);
the platform is the first product-like token of sysDescr when the vendor prints one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.vendors import enterprise_vendor

ENTERPRISES = "1.3.6.1.4.1."
_PLATFORM = re.compile(
    r"\b(S\d{4}[A-Z0-9-]*|CE\d{4}[A-Z0-9-]*|AR\d{3,4}[A-Z0-9-]*|AC\d{4}[A-Z0-9-]*|"  # Huawei
    r"MSR\d{2,4}[A-Z0-9-]*|WX\d{4}[A-Z0-9-]*|"  # H3C
    r"RG-[A-Z0-9-]+|"  # Ruijie
    r"WS-C\d{4}[A-Z0-9-]*|C\d{4}[A-Z0-9-]*|ISR\d{4}[A-Z0-9-]*|C9\d{3}[A-Z0-9-]*)\b")
_VERSION = re.compile(r"\bVersion\s+([0-9A-Za-z.()_-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class SystemIdentity:
    vendor: str | None
    enterprise: int | None
    platform: str | None
    version: str | None


def identify(sys_object_id: str, sys_descr: str) -> SystemIdentity:
    """Vendor from the enterprise arc of sysObjectID; platform and version from sysDescr."""
    enterprise = None
    oid = sys_object_id.strip().lstrip(".")
    if oid.startswith(ENTERPRISES):
        arc = oid[len(ENTERPRISES):].split(".", 1)[0]
        enterprise = int(arc) if arc.isdigit() else None
    vendor = enterprise_vendor(enterprise) if enterprise is not None else None
    platform = _PLATFORM.search(sys_descr)
    version = _VERSION.search(sys_descr)
    return SystemIdentity(vendor, enterprise, platform.group(1) if platform else None,
                          version.group(1).rstrip(",") if version else None)


# LLDP-MIB (IEEE 802.1AB-2005), numeric
LLDP_LOC_SYS_NAME = "1.0.8802.1.1.2.1.3.3.0"
LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_LOC_PORT_DESC = "1.0.8802.1.1.2.1.3.7.1.4"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"
_REM_COLUMNS = {5: "chassis_id", 7: "port_id", 8: "port_desc", 9: "sys_name", 10: "sys_descr"}
LLDP_COLUMNS = (LLDP_LOC_PORT_ID, LLDP_LOC_PORT_DESC,
                *(f"{LLDP_REM}.{c}" for c in _REM_COLUMNS))


@dataclass(frozen=True)
class LldpNeighbour:
    local_port_num: int
    local_port: str | None
    remote_sys_name: str | None
    remote_port: str | None
    remote_port_desc: str | None
    remote_chassis: str | None


def build_lldp(varbinds: Iterable[tuple[str, str]],
               if_names: dict[int, str] | None = None) -> list[LldpNeighbour]:
    """Neighbours from lldpRemTable rows (index: timeMark.localPortNum.remIndex).

    The local port's name comes from lldpLocPortTable (lldpLocPortId, else its description),
    else from the interface table when the agent numbers LLDP ports by ifIndex.
    """
    local: dict[int, dict[str, str]] = {}
    remote: dict[tuple[int, int, int], dict[str, str]] = {}
    for raw_oid, value in varbinds:
        oid = raw_oid.lstrip(".")
        for column, key in ((LLDP_LOC_PORT_ID, "id"), (LLDP_LOC_PORT_DESC, "desc")):
            if oid.startswith(column + "."):
                num = oid[len(column) + 1:]
                if num.isdigit():
                    local.setdefault(int(num), {})[key] = value
        if oid.startswith(LLDP_REM + "."):
            parts = oid[len(LLDP_REM) + 1:].split(".")
            if len(parts) == 4 and all(p.isdigit() for p in parts) and int(parts[0]) in _REM_COLUMNS:
                key3 = (int(parts[1]), int(parts[2]), int(parts[3]))
                remote.setdefault(key3, {})[_REM_COLUMNS[int(parts[0])]] = value
    out = []
    for (_mark, port_num, _idx), row in sorted(remote.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        loc = local.get(port_num, {})
        name = loc.get("id") or loc.get("desc") or (if_names or {}).get(port_num)
        out.append(LldpNeighbour(port_num, name, row.get("sys_name"), row.get("port_id"),
                                 row.get("port_desc"), row.get("chassis_id")))
    return out
