"""What the auditor knows about each network-device vendor, one module per family.

``auditor.vendors.huawei`` (Huawei VRP), ``h3c`` (H3C Comware), ``ruijie`` (Ruijie RGOS) and
``cisco`` (Cisco IOS/IOS-XE) each hold one family's commands, completeness rule, error replies,
parsers, documented defaults and remediation syntax behind the contract of
:class:`auditor.vendors.contract.VendorFamily`. Probes and checks look a family up here; no vendor
list exists outside these modules. A check never imports a probe's implementation (the layer
contract in ``pyproject.toml``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the contract (and the typed facts) load with the first family, not with names()
    from auditor.vendors.contract import VendorFamily


def families() -> dict[str, VendorFamily]:
    """Every family by its inventory ``vendor`` name."""
    from auditor.vendors import cisco, h3c, huawei, ruijie  # noqa: PLC0415 - ntc-templates load on use

    return {f.name: f for f in (huawei.FAMILY, h3c.FAMILY, ruijie.FAMILY, cisco.FAMILY)}


def family(name: str) -> VendorFamily:
    """The family of inventory vendor ``name``; KeyError when the auditor has none for it."""
    return families()[name]


def names() -> tuple[str, ...]:
    """The vendor names the device checks support."""
    return ("huawei", "h3c", "ruijie", "cisco")


def by_enterprise(number: int) -> str | None:
    """The family whose devices report SNMP enterprise ``number`` (sysObjectID)."""
    for fam in families().values():
        if number in fam.enterprises:
            return fam.name
    return None


# SNMP enterprise numbers of vendors the auditor identifies but has no device checks for
# (IANA Private Enterprise Numbers).
OTHER_ENTERPRISES: dict[int, str] = {
    11: "hpe",  # older H3C/HP Comware and ProCurve agents answer under HP's number
    2636: "juniper",
    8072: "linux",  # net-snmp
    14988: "mikrotik",
    41112: "ubiquiti",
}


def enterprise_vendor(number: int) -> str | None:
    """The vendor name of SNMP enterprise ``number``: a family's, or one the auditor only names."""
    return by_enterprise(number) or OTHER_ENTERPRISES.get(number)
