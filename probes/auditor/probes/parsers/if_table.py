"""Build an interface table from IF-MIB varbinds (numeric OIDs, since IETF MIBs are often absent).

Input is (oid, value) pairs, from pysnmp or from net-snmp's ``snmpbulkwalk -On`` text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
IF_ADMIN = "1.3.6.1.2.1.2.2.1.7"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HIGH_SPEED = "1.3.6.1.2.1.31.1.1.1.15"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
COLUMNS = (IF_NAME, IF_DESCR, IF_ALIAS, IF_HIGH_SPEED, IF_SPEED, IF_ADMIN, IF_OPER)

IF_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
             7: "lowerLayerDown"}


@dataclass
class IfRow:
    """One interface's identity, speed and state."""

    index: int
    name: str | None = None
    descr: str | None = None
    alias: str | None = None
    high_speed_mbps: int | None = None
    speed_bps: int | None = None
    admin_status: str | None = None
    oper_status: str | None = None
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def speed_mbps(self) -> float | None:
        """ifHighSpeed where present (it is exact above 4 Gbit/s), else ifSpeed."""
        if self.high_speed_mbps:
            return float(self.high_speed_mbps)
        if self.speed_bps is not None:
            return self.speed_bps / 1e6
        return None


_LINE = re.compile(r"^\.?(?P<oid>[0-9.]+)\s*=\s*(?:(?P<type>[A-Za-z0-9-]+):\s*)?(?P<value>.*)$")


def parse_snmpwalk_numeric(text: str) -> list[tuple[str, str]]:
    """Parse ``snmpwalk -On`` / ``snmpbulkwalk -On`` output into (oid, value) pairs."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            if pairs and line.strip():  # continuation of a multi-line string
                oid, value = pairs[-1]
                pairs[-1] = (oid, value + "\n" + line.strip())
            continue
        value = match.group("value").strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        pairs.append((match.group("oid"), value))
    return pairs


def _int(value: str) -> int | None:
    """``1``, ``up(1)``, ``1000`` → int; anything else → None."""
    match = re.search(r"\((-?\d+)\)\s*$", value) or re.fullmatch(r"\s*(-?\d+)\s*", value)
    return int(match.group(1)) if match else None


def build_if_table(varbinds: Iterable[tuple[str, str]]) -> dict[int, IfRow]:
    """Rows of the interface table keyed by ifIndex."""
    rows: dict[int, IfRow] = {}
    for raw_oid, value in varbinds:
        column, _, index_text = raw_oid.lstrip(".").rpartition(".")
        if column not in COLUMNS or not index_text.isdigit():
            continue
        row = rows.setdefault(int(index_text), IfRow(index=int(index_text)))
        row.raw[column] = value
        _set(row, column, value)
    return dict(sorted(rows.items()))


def _set(row: IfRow, column: str, value: str) -> None:
    if column == IF_NAME:
        row.name = value
    elif column == IF_DESCR:
        row.descr = value
    elif column == IF_ALIAS:
        row.alias = value
    elif column == IF_HIGH_SPEED:
        row.high_speed_mbps = _int(value)
    elif column == IF_SPEED:
        row.speed_bps = _int(value)
    elif column in (IF_ADMIN, IF_OPER):
        code = _int(value)
        text = IF_STATUS.get(code, f"unknown({value})") if code is not None else value
        if column == IF_ADMIN:
            row.admin_status = text
        else:
            row.oper_status = text


def find_port(table: dict[int, IfRow], port: str) -> IfRow | None:
    """The row whose ifName (else ifDescr) equals ``port``, ignoring case."""
    wanted = port.strip().lower()
    for attr in ("name", "descr"):
        for row in table.values():
            value = getattr(row, attr)
            if value is not None and value.strip().lower() == wanted:
                return row
    return None
