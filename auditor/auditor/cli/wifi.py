"""``auditor wifi``: take Wi-Fi survey scans in an area and keep them as audit evidence.

Registered on the main command group by ``auditor.cli``. User errors (unknown area, no wireless
interface, tool missing, a scan that needs root) print one line and exit with status 2.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from auditor.errors import AuditorError, InputError

if TYPE_CHECKING:  # loaded when a survey runs, not with every `auditor` command
    from auditor.facts import Bss


@click.group()
def wifi() -> None:
    """Wi-Fi coverage surveys (run on a laptop or sensor standing in the area)."""


def _summary(rows: list[Bss], ssids: list[str]) -> str:
    school = [b for b in rows if b.ssid in ssids]
    best = max((b.signal_dbm for b in school if b.signal_dbm is not None), default=None)
    shown = f", best school-SSID signal {best:.0f} dBm" if best is not None else ""
    return f"{len(rows)} BSS seen, {len(school)} broadcasting a school SSID{shown}"


def _taken_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--taken-at {text!r}: write an ISO time, e.g. 2024-05-20T09:30:00+08:00") from None
    if when.tzinfo is None:
        raise InputError(f"--taken-at {text!r}: give the time zone, e.g. +08:00 or Z")
    return when.astimezone(UTC)


@wifi.command()
@click.option("--inventory", "-i", "inventory_path", required=True, type=click.Path(path_type=Path),
              help="Site inventory (YAML).")
@click.option("--area", required=True, help="Wi-Fi area id or name, e.g. \"教学楼 301\".")
@click.option("--point", default=None, help="Label of the survey point within the area, e.g. \"front\".")
@click.option("--interface", default=None, help="Wireless interface (iw needs it; nmcli picks one).")
@click.option("--tool", type=click.Choice(["iw", "nmcli"]), default=None,
              help="Scanner: iw (dBm, needs root) or nmcli (percent, via NetworkManager). "
              "Default: iw when --interface is given, else nmcli.")
@click.option("--surveys", "surveys_path", type=click.Path(path_type=Path), default=None,
              help="Survey directory (default: the inventory's wifi.surveys, else the state directory).")
@click.option("--from-file", "from_file", type=click.Path(path_type=Path), default=None,
              help="Import a scan captured elsewhere (needs --tool to say which tool printed it).")
@click.option("--taken-at", "taken_at", default=None,
              help="With --from-file: when the scan was taken (ISO time; default the file's mtime).")
def survey(inventory_path: Path, area: str, point: str | None, interface: str | None,
           tool: str | None, surveys_path: Path | None, from_file: Path | None,
           taken_at: str | None) -> None:
    """Scan here (or import a scan) and save a survey record for AREA."""
    try:
        _survey(inventory_path, area, point, interface, tool, surveys_path, from_file, taken_at)
    except AuditorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


def _survey(inventory_path: Path, area: str, point: str | None, interface: str | None,
            tool: str | None, surveys_path: Path | None, from_file: Path | None,
            taken_at: str | None) -> None:
    from auditor.inventory import load_inventory
    from auditor.probes.wifi_capture import Tool, import_scan, surveys_dir
    from auditor.probes.wifi_capture import survey as take_survey

    inv = load_inventory(inventory_path).inventory
    if inv.wifi is None:
        raise InputError(f"{inventory_path}: the inventory has no 'wifi' section (school SSIDs)")
    directory = surveys_path or surveys_dir(inv)
    if not directory.is_absolute() and surveys_path is None:
        directory = inventory_path.parent / directory  # relative to the inventory, like secrets_file
    if from_file is not None:
        if tool is None:
            raise InputError("--from-file needs --tool iw or --tool nmcli (which tool printed the file)")
        path, rows = import_scan(inv, area, from_file, cast(Tool, tool), point=point,
                                 taken_at=_taken_at(taken_at), directory=directory)
    else:
        if taken_at is not None:
            raise InputError("--taken-at only applies to --from-file (a new scan is taken now)")
        path, rows = take_survey(inv, area, tool=cast("Tool | None", tool), interface=interface,
                                 point=point, directory=directory)
    click.echo(f"recorded {path}: {_summary(rows, inv.wifi.ssids)}")
