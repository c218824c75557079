"""Interface names: one comparable key for ``GE1/0/1``, ``Gi1/0/1``, ``GigabitEthernet 1/0/1``."""

from __future__ import annotations

import functools
import re

_FULL = {
    "ge": "gigabitethernet", "gi": "gigabitethernet", "gig": "gigabitethernet",
    "xge": "tengigabitethernet", "te": "tengigabitethernet", "ten": "tengigabitethernet",
    "xgigabitethernet": "tengigabitethernet", "ten-gigabitethernet": "tengigabitethernet",
    "fa": "fastethernet", "fe": "fastethernet", "eth": "ethernet", "et": "ethernet",
    "mge": "multigeethernet", "fge": "fortygigabitethernet", "fo": "fortygigabitethernet",
    "hge": "hundredgigabitethernet", "hu": "hundredgigabitethernet",
    "twe": "twentyfivegige", "wge": "twentyfivegige", "25ge": "twentyfivegige",
    "vlan-interface": "vlanif", "vlan": "vlanif", "vl": "vlanif",
    "po": "port-channel", "bagg": "bridge-aggregation", "agg": "aggregateport",
}
_SPLIT = re.compile(r"^([A-Za-z][A-Za-z-]*?|25GE)\s*(\d[\d/.:]*)")


@functools.lru_cache(maxsize=65536)
def canonical(name: str) -> str:
    """A key equal for the abbreviated and the full spelling of one interface name."""
    cleaned = re.sub(r"\(.*?\)$", "", name.strip())
    found = _SPLIT.match(cleaned)
    if not found:
        return cleaned.lower().replace(" ", "")
    prefix = found.group(1).lower()
    return f"{_FULL.get(prefix, prefix.replace('-', ''))}{found.group(2)}"


ETHERNET = re.compile(r"^(?:\S*ethernet|multigeethernet|twentyfivegige)\d", re.IGNORECASE)


def is_ethernet_port(name: str) -> bool:
    """A physical Ethernet port (not a VLAN interface, aggregate, loopback or management port)."""
    return bool(ETHERNET.match(canonical(name)))
