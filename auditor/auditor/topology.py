"""The network topology the report shows, from the LLDP neighbours the SNMP probe read."""

from __future__ import annotations

from typing import Any

from auditor.inventory import Inventory
from auditor.model import FactStatus, JsonDict
from auditor.plugins import FactIndex

KIND = "device.snmp"


def build_topology(inventory: Inventory, facts: FactIndex) -> JsonDict:
    """Nodes (inventory devices, with what SNMP said they are) and LLDP links between them.

    A neighbour is matched to an inventory device by its LLDP system name against the device's
    sysName, id or name; unmatched neighbours stay as external nodes (an unknown switch).
    """
    nodes: list[JsonDict] = []
    by_name: dict[str, str] = {}
    lldp: dict[str, list[dict[str, Any]]] = {}
    for device in inventory.devices:
        fact = facts.get(KIND, f"device/{device.id}")
        ok = fact is not None and fact.status is FactStatus.OK
        data = dict(fact.data) if fact is not None and ok else {}
        nodes.append({"id": device.id, "name": device.name, "address": str(device.address),
                      "role": device.role, "vendor": device.vendor,
                      "snmp_vendor": data.get("vendor"), "platform": data.get("platform"),
                      "sys_name": data.get("sys_name"), "seen": ok})
        for key in (data.get("sys_name"), device.id, device.name):
            if key:
                by_name.setdefault(str(key).lower(), device.id)
        lldp[device.id] = list(data.get("lldp", []))
    links: list[JsonDict] = []
    seen: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    external: dict[str, JsonDict] = {}
    for device_id, neighbours in lldp.items():
        for n in neighbours:
            remote_name = str(n.get("remote_sys_name") or n.get("remote_chassis") or "?")
            remote = by_name.get(remote_name.lower())
            if remote is None:
                external.setdefault(remote_name, {"id": remote_name, "external": True})
            a = (device_id, str(n.get("local_port") or "?"))
            b = (remote or remote_name, str(n.get("remote_port") or "?"))
            key = (min(a, b), max(a, b))
            if key in seen:
                continue  # the same cable, seen from both ends
            seen.add(key)
            links.append({"a": a[0], "a_port": a[1], "b": b[0], "b_port": b[1],
                          "b_in_inventory": remote is not None})
    return {"nodes": nodes, "unknown_neighbours": sorted(external), "links": links}
