"""The network topology the report shows, from the LLDP neighbours the SNMP probe read."""

from __future__ import annotations

from auditor.facts import DeviceSnmp, FactKind, LldpRow, UnreadableFact, read_fact
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, JsonDict
from auditor.plugins import FactIndex

KIND = FactKind.DEVICE_SNMP


def build_topology(inventory: Inventory, facts: FactIndex) -> JsonDict:
    """Nodes (inventory devices, with what SNMP said they are) and LLDP links between them.

    A neighbour is matched to an inventory device by its LLDP system name against the device's
    sysName, id or name; unmatched neighbours stay as external nodes (an unknown switch). A device
    whose fact failed, or carries data that is not the shape the probe writes, was not seen.
    """
    nodes: list[JsonDict] = []
    by_name: dict[str, str] = {}
    lldp: dict[str, tuple[LldpRow, ...]] = {}
    for device in inventory.devices:
        data = _seen(facts.get(KIND, f"device/{device.id}"))
        nodes.append({"id": device.id, "name": device.name, "address": str(device.address),
                      "role": device.role, "vendor": device.vendor,
                      "snmp_vendor": data.vendor if data else None,
                      "platform": data.platform if data else None,
                      "sys_name": data.sys_name if data else None, "seen": data is not None})
        for name in (data.sys_name if data else None, device.id, device.name):
            if name:
                by_name.setdefault(name.lower(), device.id)
        lldp[device.id] = data.lldp if data else ()
    links: list[JsonDict] = []
    seen: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    external: dict[str, JsonDict] = {}
    for device_id, neighbours in lldp.items():
        for n in neighbours:
            remote_name = n.remote_sys_name or n.remote_chassis or "?"
            remote = by_name.get(remote_name.lower())
            if remote is None:
                external.setdefault(remote_name, {"id": remote_name, "external": True})
            a = (device_id, n.local_port or "?")
            b = (remote or remote_name, n.remote_port or "?")
            key = (min(a, b), max(a, b))
            if key in seen:
                continue  # the same cable, seen from both ends
            seen.add(key)
            links.append({"a": a[0], "a_port": a[1], "b": b[0], "b_port": b[1],
                          "b_in_inventory": remote is not None})
    return {"nodes": nodes, "unknown_neighbours": sorted(external), "links": links}


def _seen(fact: Fact | None) -> DeviceSnmp | None:
    """What SNMP said of a device; None when it said nothing readable."""
    if fact is None or fact.status is not FactStatus.OK:
        return None
    try:
        return read_fact(fact, DeviceSnmp)
    except UnreadableFact:
        return None
