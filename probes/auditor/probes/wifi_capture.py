"""Wi-Fi survey records: take a scan in an area (``iw`` or ``nmcli``) and keep it for later audits.

A survey is taken on a laptop or small sensor standing in the area; the audit agent itself
usually has no radio. Each survey is one JSON record (schema ``campus-auditor/wifi-survey``
version 1) plus the tool's raw output beside it, in ``<surveys>/<area id>/``. Several points
per area are allowed; the ``wifi.surveys`` probe reads the newest record of each point.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from auditor.errors import InputError, ProbeError
from auditor.facts import Bss
from auditor.inventory import Inventory, WifiArea
from auditor.messages import define, english
from auditor.paths import state_dir
from auditor.probes._proc import run_tool
from auditor.probes.parsers.wifi_scan import (
    NMCLI_FIELDS,
    WifiParseError,
    parse_iw_scan,
    parse_nmcli_terse,
)

SCHEMA = "campus-auditor/wifi-survey"
VERSION = 1
Tool = Literal["iw", "nmcli"]
SCAN_TIMEOUT_S = 60.0
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")

# What reaches a finding (through the wifi.surveys probe); the survey command's own errors are the CLI's.
define({
    "probe.wifi.unreadable": ("勘测记录 {path} 无法读取（{error}）；请将其移走或重新勘测",
                              "survey record {path} is unreadable ({error}); move it away or re-take the "
                              "survey"),
    "probe.wifi.misplaced": ("勘测记录 {path} 属于区域 {area}，却放在 {folder} 的目录中；请移动它",
                             "survey record {path} is for area {area} but lies in the folder of {folder}; "
                             "move it"),
}, recoverable=True)


@dataclass(frozen=True)
class Survey:
    """One survey record as read back from disk."""

    path: Path
    area: str
    area_name: str
    point: str | None
    taken_at: datetime
    host: str | None
    tool: str
    tool_version: str | None
    interface: str | None
    raw_file: str
    bss: list[Bss]
    imported_from: str | None = None

    @property
    def raw_path(self) -> Path:
        return self.path.parent / self.raw_file


def surveys_dir(inventory: Inventory, override: Path | None = None) -> Path:
    """Where survey records live: ``override``, else ``wifi.surveys``, else the state directory."""
    if override is not None:
        return override
    if inventory.wifi is not None and inventory.wifi.surveys is not None:
        return inventory.wifi.surveys
    return state_dir() / "wifi-surveys"


def resolve_area(inventory: Inventory, text: str) -> WifiArea:
    """The inventory's Wi-Fi area named ``text`` (its id or its name)."""
    for area in inventory.wifi_areas:
        if text in (area.id, area.name):
            return area
    known = ", ".join(f"{a.id} ({a.name})" for a in inventory.wifi_areas) or "none"
    raise InputError(f"area {text!r} is not in the inventory's wifi_areas (known: {known})")


def scan_argv(tool: Tool, interface: str | None) -> list[str]:
    """The scan command line of ``tool``."""
    if tool == "iw":
        if not interface:
            raise InputError("an iw scan needs --interface (see `iw dev` for the wireless interfaces)")
        return ["iw", "dev", interface, "scan"]
    argv = ["nmcli", "-t", "-f", ",".join(NMCLI_FIELDS), "dev", "wifi", "list", "--rescan", "yes"]
    return [*argv, "ifname", interface] if interface else argv


def parse_scan(tool: str, text: str) -> list[Bss]:
    """Parse a scan's text with the parser of ``tool``."""
    if tool == "iw":
        return parse_iw_scan(text)
    if tool == "nmcli":
        return parse_nmcli_terse(text)
    raise InputError(f"unknown scan tool {tool!r} (use iw or nmcli)")


_IW_ERRORS: tuple[tuple[str, str], ...] = (
    ("nl80211 not found", "this machine has no wireless support (nl80211 not found): take the survey "
     "on a laptop or sensor with a Wi-Fi adapter, or import a scan with --from-file"),
    ("Operation not permitted", "scanning with iw needs root (CAP_NET_ADMIN): run the survey with sudo, "
     "or use --tool nmcli"),
    ("No such device", "has no wireless interface by that name (list them with `iw dev`)"),
    ("Network is down", "the wireless interface is down: bring it up with `ip link set IF up`"),
    ("Device or resource busy", "the wireless interface is busy with another scan: try again"),
)


def _iw_error(interface: str, text: str, code: int) -> ProbeError:
    for needle, advice in _IW_ERRORS:
        if needle in text:
            if advice.startswith("has no"):
                return ProbeError(f"iw scan on {interface}: this machine {advice}")
            return ProbeError(f"iw scan on {interface}: {advice}")
    detail = text.strip().splitlines()[-1][:200] if text.strip() else f"exit status {code}"
    return ProbeError(f"iw scan on {interface} failed: {detail}")


def _nmcli_error(interface: str | None, text: str, code: int) -> ProbeError:
    where = f"nmcli scan on {interface or 'all Wi-Fi devices'}"
    if "NetworkManager is not running" in text:
        return ProbeError(f"{where}: NetworkManager is not running; start it or use --tool iw")
    if "No Wi-Fi device found" in text or "not a Wi-Fi device" in text or "Device '" in text:
        return ProbeError(f"{where}: no Wi-Fi device found (see `nmcli dev`); run the survey on a "
                          "machine with a Wi-Fi adapter")
    detail = text.strip().splitlines()[-1][:200] if text.strip() else f"exit status {code}"
    return ProbeError(f"{where} failed: {detail}")


async def _version(tool: Tool) -> str | None:
    argv = ["iw", "--version"] if tool == "iw" else ["nmcli", "--version"]
    try:
        res = await run_tool(argv, 10, f"{tool} --version", _install_hint(tool))
    except ProbeError:
        return None
    text = (res.stdout or res.stderr).decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else None


def _install_hint(tool: Tool) -> str:
    return "install it: apt-get install iw" if tool == "iw" else "install it: apt-get install network-manager"


async def take_scan_async(tool: Tool, interface: str | None,
                          timeout: float = SCAN_TIMEOUT_S) -> tuple[str, str | None, list[Bss]]:
    """Run a scan; return (raw text, tool version, rows). Raises ProbeError subclasses."""
    argv = scan_argv(tool, interface)
    res = await run_tool(argv, timeout, f"{tool} Wi-Fi scan", _install_hint(tool))
    out = res.stdout.decode("utf-8", "replace")
    err = res.stderr.decode("utf-8", "replace")
    if res.returncode != 0:
        if tool == "iw":
            raise _iw_error(interface or "?", err + out, res.returncode)
        raise _nmcli_error(interface, err + out, res.returncode)
    try:
        rows = parse_scan(tool, out)
    except WifiParseError as exc:
        raise ProbeError(f"{tool} scan gave output this auditor cannot read ({exc})") from None
    return out, await _version(tool), rows


def take_scan(tool: Tool, interface: str | None,
              timeout: float = SCAN_TIMEOUT_S) -> tuple[str, str | None, list[Bss]]:
    """Synchronous :func:`take_scan_async` (for the command line)."""
    return asyncio.run(take_scan_async(tool, interface, timeout))


def default_tool(interface: str | None) -> Tool:
    """iw when an interface is named (it reports dBm), else nmcli (it finds the adapter itself)."""
    return "iw" if interface else "nmcli"


def write_survey(directory: Path, area: WifiArea, tool: str, raw: str, rows: list[Bss], *,
                 point: str | None = None, interface: str | None = None,
                 tool_version: str | None = None, host: str | None = None,
                 taken_at: datetime | None = None, imported_from: str | None = None) -> Path:
    """Write a survey record and the raw scan beside it; return the record's path."""
    when = (taken_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    folder = directory / area.id
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the survey directory {folder}: {exc.strerror}") from None
    stem = when.strftime("%Y%m%dT%H%M%SZ") + (f"-{_SAFE.sub('-', point).strip('-') or 'point'}"
                                              if point else "")
    n, base = 1, stem
    while (folder / f"{stem}.json").exists():
        n += 1
        stem = f"{base}-{n}"
    raw_name = f"{stem}.{tool}.txt"
    record: dict[str, Any] = {
        "schema": SCHEMA, "version": VERSION,
        "area": area.id, "area_name": area.name, "area_class": area.area_class,
        "point": point, "taken_at": when.isoformat().replace("+00:00", "Z"),
        "host": host, "tool": tool, "tool_version": tool_version, "interface": interface,
        "raw_file": raw_name, "imported_from": imported_from,
        "bss": [b.to_json() for b in rows],
    }
    (folder / raw_name).write_text(raw, encoding="utf-8")
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def survey(inventory: Inventory, area_text: str, *, tool: Tool | None = None,
           interface: str | None = None, point: str | None = None,
           directory: Path | None = None) -> tuple[Path, list[Bss]]:
    """Take a scan here and record it for ``area_text``; return (record path, rows)."""
    area = resolve_area(inventory, area_text)
    chosen = tool or default_tool(interface)
    raw, version, rows = take_scan(chosen, interface)
    path = write_survey(surveys_dir(inventory, directory), area, chosen, raw, rows, point=point,
                        interface=interface, tool_version=version, host=socket.gethostname())
    return path, rows


def import_scan(inventory: Inventory, area_text: str, source: Path, tool: Tool, *,
                point: str | None = None, taken_at: datetime | None = None,
                directory: Path | None = None) -> tuple[Path, list[Bss]]:
    """Record a scan captured elsewhere (``iw dev IF scan > FILE`` on a sensor).

    The survey time is ``taken_at`` or else the file's modification time.
    """
    area = resolve_area(inventory, area_text)
    try:
        raw = source.read_text(encoding="utf-8", errors="replace")
        mtime = datetime.fromtimestamp(os.stat(source).st_mtime, UTC)
    except OSError as exc:
        raise InputError(f"{source}: cannot read the scan file ({exc.strerror})") from None
    try:
        rows = parse_scan(tool, raw)
    except WifiParseError as exc:
        hint = ("iw dev IF scan" if tool == "iw"
                else f"nmcli -t -f {','.join(NMCLI_FIELDS)} dev wifi list --rescan yes")
        raise InputError(f"{source}: not a {tool} scan ({exc}); capture it with `{hint}`") from None
    path = write_survey(surveys_dir(inventory, directory), area, tool, raw, rows, point=point,
                        taken_at=taken_at or mtime, imported_from=source.name)
    return path, rows


def read_survey(path: Path) -> Survey:
    """Read one survey record. Raises ProbeError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA or data.get("version") != VERSION:
            raise ValueError(f"not a {SCHEMA} version {VERSION} record")
        taken = datetime.fromisoformat(str(data["taken_at"]).replace("Z", "+00:00"))
        if taken.tzinfo is None:
            raise ValueError("taken_at has no time zone")
        raw_file = str(data["raw_file"])
        if Path(raw_file).name != raw_file or raw_file.startswith("."):
            raise ValueError(f"raw_file {raw_file!r} is not a file name beside the record")
        return Survey(
            path=path, area=str(data["area"]), area_name=str(data.get("area_name", "")),
            point=data.get("point"), taken_at=taken, host=data.get("host"), tool=str(data["tool"]),
            tool_version=data.get("tool_version"), interface=data.get("interface"),
            raw_file=raw_file, bss=[Bss.from_json(b) for b in data["bss"]],
            imported_from=data.get("imported_from"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProbeError(english("probe.wifi.unreadable", path=str(path), error=str(exc))) from None


def load_surveys(directory: Path, area_id: str) -> list[Survey]:
    """Every survey record of an area, oldest first."""
    folder = directory / area_id
    if not folder.is_dir():
        return []
    records = [read_survey(p) for p in sorted(folder.glob("*.json"))]
    for record in records:
        if record.area != area_id:
            raise ProbeError(english("probe.wifi.misplaced", path=str(record.path), area=repr(record.area),
                                     folder=repr(area_id)))
    return sorted(records, key=lambda s: s.taken_at)

