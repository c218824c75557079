"""A thin query layer over hier_config's configuration tree.

hier_config (MIT, typed, pydantic-only dependency) parses both styles we meet: Cisco IOS /
Ruijie RGOS (``!`` separators, indented sections, banners) with its ``cisco_ios`` driver, and
Huawei VRP / H3C Comware (``#`` separators, ``undo`` negation) with its ``huawei_vrp`` driver
(its comware5 driver does not drop the ``#`` separator lines). ciscoconfparse2 was evaluated
too: it pins an old hier_config, pulls a dozen packages and is GPL-licensed, so it was not used.
What no library does -- knowing what a line *means* for security -- is in ``vrp.py``/``ios.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hier_config import Platform, get_hconfig
from hier_config.child import HConfigChild

from auditor.probes.parsers.netconfig.mask import mask_line

PLATFORMS = {"huawei": Platform.HUAWEI_VRP, "h3c": Platform.HUAWEI_VRP,
             "cisco": Platform.CISCO_IOS, "ruijie": Platform.CISCO_IOS}


@dataclass(frozen=True)
class Hit:
    """A configuration line that matched, with its regex match and its (masked) evidence lines."""

    node: HConfigChild
    match: re.Match[str]

    @property
    def lines(self) -> list[str]:
        return evidence(self.node)

    def group(self, index: int | str) -> str | None:
        value = self.match.group(index)
        return value if isinstance(value, str) else None


def evidence(node: HConfigChild) -> list[str]:
    """The node's line and its parents' lines, indented as in the configuration, secrets masked."""
    chain: list[HConfigChild] = []
    current: object = node
    while isinstance(current, HConfigChild):
        chain.append(current)
        current = current.parent
    return [mask_line(" " * depth + n.text) for depth, n in enumerate(reversed(chain))]


class Config:
    """A parsed running configuration."""

    def __init__(self, vendor: str, text: str) -> None:
        self.vendor = vendor
        self.root = get_hconfig(PLATFORMS[vendor], text)

    def top(self, pattern: str) -> list[Hit]:
        """Root-level lines matching ``pattern`` (a regex anchored at the line start)."""
        return _match(self.root.children, pattern)

    def under(self, section: HConfigChild, pattern: str) -> list[Hit]:
        """Direct children of ``section`` matching ``pattern``."""
        return _match(section.children, pattern)

    def first(self, pattern: str) -> Hit | None:
        hits = self.top(pattern)
        return hits[0] if hits else None

    def nested(self, section_pattern: str, pattern: str) -> list[Hit]:
        """Children matching ``pattern`` of every root section matching ``section_pattern``."""
        return [hit for sec in self.top(section_pattern) for hit in self.under(sec.node, pattern)]


def _match(children: Iterable[HConfigChild], pattern: str) -> list[Hit]:
    regex = re.compile(pattern, re.IGNORECASE)
    hits = []
    for child in children:
        found = regex.match(child.text)
        if found:
            hits.append(Hit(child, found))
    return hits


def lines_of(hits: list[Hit]) -> list[str]:
    """Evidence lines of several hits; a parent line shared with the previous hit is not repeated."""
    out: list[str] = []
    previous: list[str] = []
    for hit in hits:
        chain = hit.lines
        shared = 0
        while shared < len(chain) - 1 and shared < len(previous) - 1 and chain[shared] == previous[shared]:
            shared += 1
        out.extend(chain[shared:])
        previous = chain
    return out
