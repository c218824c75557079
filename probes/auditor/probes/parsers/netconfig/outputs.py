"""Parsers of the ``display``/``show`` outputs: version, NTP status, SSH server, interface status.

ntc-templates (TextFSM) parse where a template exists in ntc-templates 9.3: Huawei ``display
version``, ``display ntp-service status`` (its template is indexed as ``display ntp status``, so the
template file is used directly), ``display interface brief``; Comware ``display interface brief``;
Cisco ``show version`` and ``show interfaces status``. There are no templates for Comware
``display version``/NTP/SSH, Cisco ``show ip ssh``/``show ntp status``, or anything Ruijie RGOS,
so those few fixed-format outputs are read with small regular expressions here. Ruijie's output
formats are from the vendor's command references (RGOS 11.x).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ntc_templates
import textfsm

from auditor.probes.parsers.netconfig.mask import mask_line
from auditor.vendors.interfaces import canonical

TEMPLATES = Path(ntc_templates.__file__).parent / "templates"


def textfsm_rows(template: str, text: str) -> list[dict[str, Any]]:
    """Rows of an ntc-templates template (by file name without ``.textfsm``), keys lower-cased.

    An output the template rejects (a line it does not know) gives no rows: the caller reports
    the fact as unknown rather than guessing.
    """
    with (TEMPLATES / f"{template}.textfsm").open(encoding="utf-8") as handle:
        fsm = textfsm.TextFSM(handle)
    try:
        rows = fsm.ParseText(text)
    except textfsm.TextFSMError:
        return []
    header = [h.lower() for h in fsm.header]
    return [dict(zip(header, row, strict=True)) for row in rows]


def _lines_matching(text: str, *patterns: str) -> list[str]:
    regexes = [re.compile(p, re.IGNORECASE) for p in patterns]
    return [mask_line(line.rstrip()) for line in text.splitlines() if any(r.search(line) for r in regexes)]


def _ev(value: Any, lines: list[str], **extra: Any) -> dict[str, Any]:
    return {"value": value, "lines": lines, **extra}


def _unknown() -> dict[str, Any]:
    return _ev(None, [])


# ---- version -----------------------------------------------------------------------------------

def version(vendor: str, text: str | None) -> dict[str, Any]:
    """``{"value": "<model> <software version>", "model", "version", "uptime", "lines"}``."""
    if text is None:
        return _ev(None, [], model=None, version=None, uptime=None)
    model, software, uptime, lines = _VERSION[vendor](text)
    value = " ".join(x for x in (model, software) if x) or None
    return _ev(value, lines, model=model, version=software, uptime=uptime)


Version = tuple[str | None, str | None, str | None, list[str]]


def _huawei_version(text: str) -> Version:
    rows = textfsm_rows("huawei_vrp_display_version", text)
    if not rows:
        return None, None, None, []
    row = rows[0]
    model = re.sub(r"\s+(Routing Switch|Router|Switch)$", "", row["model"].strip()) or None
    software = f"VRP {row['vrp_version']} ({row['product_version']})" if row["vrp_version"] else None
    return model, software, row["uptime"] or None, _lines_matching(text, r"^VRP \(R\)", r"uptime is")[:2]


def _h3c_version(text: str) -> Version:
    release = re.search(r"Comware Software, Version (\S+), Release (\S+)", text)
    model = re.search(r"^(?:H3C|HPE?) (\S+) uptime is (.+)$", text, re.MULTILINE)
    software = f"Comware {release.group(1)} Release {release.group(2)}" if release else None
    return (model.group(1) if model else None, software, model.group(2) if model else None,
            _lines_matching(text, r"Comware Software, Version", r"^\S+ \S+ uptime is"))


def _cisco_version(text: str) -> Version:
    rows = textfsm_rows("cisco_ios_show_version", text)
    if not rows:
        return None, None, None, []
    row = rows[0]
    hardware = row.get("hardware") or []
    model = hardware[0] if hardware else None
    software = f"IOS {row['version']} ({row['software_image']})" if row.get("version") else None
    return (model, software, row.get("uptime") or None,
            _lines_matching(text, r"^Cisco IOS", r"^Model number", r"uptime is")[:3])


def _ruijie_version(text: str) -> Version:
    descr = re.search(r"^System description\s*:.*\(([^)\s]+)[^)]*\)", text, re.MULTILINE)
    software = re.search(r"^System software version\s*:\s*(.+?)\s*$", text, re.MULTILINE)
    uptime = re.search(r"^System uptime\s*:\s*(.+?)\s*$", text, re.MULTILINE)
    return (descr.group(1) if descr else None, software.group(1) if software else None,
            uptime.group(1) if uptime else None,
            _lines_matching(text, r"^System (description|software version|uptime)\s*:"))


_VERSION = {"huawei": _huawei_version, "h3c": _h3c_version, "cisco": _cisco_version,
            "ruijie": _ruijie_version}


# ---- NTP ---------------------------------------------------------------------------------------

def ntp_status(vendor: str, text: str | None) -> dict[str, Any]:
    """``{"value": synchronised?, "stratum", "lines"}``; ``value`` None when the output is missing
    or unrecognised."""
    if text is None:
        return _ev(None, [], stratum=None)
    if vendor == "huawei":
        rows = textfsm_rows("huawei_vrp_display_ntp_status", text)
        if rows and rows[0]["clock_status"]:
            state = rows[0]["clock_status"].lower()
            return _ev(state == "synchronized", _lines_matching(text, r"clock status", r"clock stratum"),
                       stratum=int(rows[0]["clock_stratum"]) if rows[0]["clock_stratum"] else None)
    if re.search(r"NTP is not enabled", text, re.IGNORECASE):
        return _ev(False, _lines_matching(text, r"NTP is not enabled"), stratum=None)
    found = re.search(r"clock\s+(?:status:\s*|is\s+)(synchronized|unsynchronized)", text, re.IGNORECASE)
    stratum = re.search(r"stratum:?\s*(\d+)", text, re.IGNORECASE)
    if not found:
        return _ev(None, [], stratum=None)
    return _ev(found.group(1).lower() == "synchronized",
               _lines_matching(text, r"clock\s+(status|is)\s*:?", r"clock stratum"),
               stratum=int(stratum.group(1)) if stratum else None)


# ---- SSH server --------------------------------------------------------------------------------

def ssh_status(text: str | None) -> dict[str, Any]:
    """``{"value": SSH server on?, "version": "2.0"|"1.99"|..., "lines"}`` from ``display ssh server
    status`` (Huawei, H3C) or ``show ip ssh`` (Cisco, Ruijie)."""
    if text is None:
        return _ev(None, [], version=None)
    ios = re.search(r"^SSH (Enabled?|Disabled?) - version (\S+)", text, re.MULTILINE | re.IGNORECASE)
    if ios:
        return _ev(ios.group(1).lower().startswith("enable"), _lines_matching(text, r"^SSH \w+ - version"),
                   version=ios.group(2))
    server = re.findall(r"^\s*Stelnet (?:IPv4 )?server\s*:\s*(\w+)", text, re.MULTILINE | re.IGNORECASE)
    ver = re.search(r"^\s*SSH version\s*:\s*(\S+)", text, re.MULTILINE | re.IGNORECASE)
    if not server and not ver:
        return _ev(None, [], version=None)
    enabled = any(s.lower() == "enable" for s in server) if server else None
    return _ev(enabled, _lines_matching(text, r"^\s*Stelnet (IPv4 )?server\s*:", r"^\s*SSH version\s*:"),
               version=ver.group(1) if ver else None)


# ---- interface link status ---------------------------------------------------------------------

def link_status(vendor: str, text: str | None) -> dict[str, dict[str, Any]] | None:
    """Canonical interface name → ``{"name", "link": "up"|"down"|"admin-down", "line"}``."""
    if text is None:
        return None
    rows = _LINKS[vendor](text)
    return {canonical(name): {"name": name, "link": link, "line": line} for name, link, line in rows}


def _line_of(text: str, name: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith(name):
            return mask_line(line.rstrip())
    return name


def _huawei_links(text: str) -> list[tuple[str, str, str]]:
    # Newer VRP releases print legend lines the template does not know; the table is what matters.
    header = re.search(r"^\s*Interface\s+PHY\s+Protocol", text, re.MULTILINE)
    table = text[header.start():] if header else text
    out = []
    for row in textfsm_rows("huawei_vrp_display_interface_brief", table):
        phy = row["phy"]
        link = "admin-down" if phy.startswith("*") else "up" if phy.startswith("up") else "down"
        out.append((row["interface"], link, _line_of(text, row["interface"])))
    return out


def _h3c_links(text: str) -> list[tuple[str, str, str]]:
    states = {"UP": "up", "DOWN": "down", "ADM": "admin-down"}
    return [(row["interface"], states.get(row["link"].upper(), "down"), _line_of(text, row["interface"]))
            for row in textfsm_rows("hp_comware_display_interface_brief", text)]


def _cisco_links(text: str) -> list[tuple[str, str, str]]:
    states = {"connected": "up", "up": "up", "disabled": "admin-down"}
    return [(row["port"], states.get(row["status"], "down"), _line_of(text, row["port"]))
            for row in textfsm_rows("cisco_ios_show_interfaces_status", text)]


_RUIJIE_ROW = re.compile(r"^(\S+(?: \S+)?)\s{2,}(up|down|disabled)\s+", re.IGNORECASE)


def _ruijie_links(text: str) -> list[tuple[str, str, str]]:
    out = []
    for line in text.splitlines():
        found = _RUIJIE_ROW.match(line)
        if found:
            state = found.group(2).lower()
            out.append((found.group(1), "admin-down" if state == "disabled" else state, line.rstrip()))
    return out


_LINKS = {"huawei": _huawei_links, "h3c": _h3c_links, "cisco": _cisco_links, "ruijie": _ruijie_links}
