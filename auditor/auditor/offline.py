"""Offline configuration audit: every device check on a saved configuration (and any saved command
outputs), through exactly the code the live probe uses, without touching the network or the agent's
state directory.

The vendor family reads the files into the same :class:`~auditor.facts.DeviceView` the
``ssh.device_config`` probe builds; the device checks judge it as they judge a live device. What
only a live audit can know (a TCP connect to port 23, the clock against the agent's, the previous
configuration) is ``not_applicable`` or judged from the configuration alone, and says so.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.facts import DeviceConfig, DeviceView, FactKind, fact_data
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, FactIndex, Plugins
from auditor.vendors import family, names
from auditor.vendors.contract import Outputs

CONFIG_PROBE = "ssh.device_config"
OFFLINE_ADDRESS = ipaddress.IPv4Address("192.0.2.1")  # TEST-NET-1: never probed, never shown
MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class DeviceResult:
    """One saved configuration, audited."""

    device: str
    vendor: str
    files: Mapping[str, str]  # output kind -> file
    view: DeviceView
    findings: tuple[Finding, ...]

    @property
    def complete(self) -> bool:
        return self.view.complete

    def to_json(self) -> dict[str, Any]:
        prefix = f"{self.device} ({OFFLINE_ADDRESS}): "
        return {"device": self.device, "vendor": self.vendor, "complete": self.complete,
                "files": dict(self.files),
                "outputs": {k: {"status": s.status, "reason": s.reason} for k, s in self.view.outputs.items()
                            if k in self.files or s.status != "missing"},
                "findings": [{"check": f.check, "status": f.status.value, "severity": f.severity.value,
                              "message": f.message.removeprefix(prefix),
                              "evidence": [dict(e) for e in f.evidence],
                              "fix": list(f.fix)} for f in self.findings]}


def read_export(path: Path) -> str:
    """A configuration export as text: UTF-8 (with or without a BOM) or GBK/GB18030, as schools
    save them. Line endings and pager leftovers are left for the vendor family to read."""
    try:
        if not path.is_file():
            raise InputError(f"{path}: not a file; give the saved configuration (or command output)")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: larger than {MAX_BYTES // 2**20} MiB; is it really a configuration?")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def device_checks(plugins: Plugins) -> list[tuple[str, Any]]:
    """The registered checks that read a device's configuration."""
    return [(name, check) for name, check in plugins.checks.items()
            if name.startswith("device.") and CONFIG_PROBE in check.meta.requires]


def audit_saved(vendor: str, files: Mapping[str, Path], plugins: Plugins,
                device: str | None = None) -> DeviceResult:
    """Audit one device from saved files: ``files`` maps output kinds (config, version, ntp, ssh,
    interfaces, lldp, logging, clock) to paths; ``config`` is required."""
    if vendor not in names():
        raise InputError(f"--vendor {vendor}: not a vendor the device checks know; "
                         f"use one of {', '.join(names())}")
    fam = family(vendor)
    unknown = sorted(set(files) - set(fam.commands))
    if unknown:
        raise InputError(f"--output {unknown[0]}=...: {fam.title} has no output named {unknown[0]!r}; use "
                         f"one of {', '.join(fam.commands)}")
    if "config" not in files:
        raise InputError("give the saved configuration (CONFIG)")
    texts = {kind: read_export(path) for kind, path in files.items()}
    view = fam.read(Outputs(texts=texts))
    view = view.model_copy(update={"outputs": {
        k: s.model_copy(update={"artifact": str(files[k]) if k in files else None})
        for k, s in view.outputs.items()}})
    name = device or _slug(files["config"].stem)
    data = DeviceConfig(vendor=vendor, live=False, view=view, outputs={k: str(p) for k, p in files.items()})
    fact = Fact(FactKind.DEVICE_CONFIG, f"device/{name}", CONFIG_PROBE, FactStatus.OK, data=fact_data(data))
    return DeviceResult(name, vendor, {k: str(p) for k, p in files.items()}, view,
                        _evaluate(name, vendor, fact, plugins))


def _evaluate(name: str, vendor: str, fact: Fact, plugins: Plugins) -> tuple[Finding, ...]:
    """Every device check on one device's fact, as ``auditor run`` would (one-device inventory)."""
    index = FactIndex()
    index.add(fact)
    inventory = Inventory.model_validate({
        "school": {"name": "offline configuration audit"}, "scope": {"allow": [f"{OFFLINE_ADDRESS}/32"]},
        "devices": [{"id": name, "address": str(OFFLINE_ADDRESS), "vendor": vendor}]})
    findings: list[Finding] = []
    for _name, check in device_checks(plugins):
        params = check.params_model()
        findings.extend(check.evaluate(CheckContext(inventory, index, params)))
    return tuple(findings)


def audit_many(entries: Sequence[tuple[Path, str]], plugins: Plugins) -> Iterator[DeviceResult]:
    """Audit several saved configurations ((file, vendor) pairs), one at a time (a folder of a
    thousand exports is never held in memory at once); names are made unique. A file that cannot
    be read is that device's result (every check an error naming why), and the rest go on."""
    seen: set[str] = set()
    for path, vendor in entries:
        name = _slug(path.stem)
        while name in seen:
            name += "-x"
        seen.add(name)
        try:
            yield audit_saved(vendor, {"config": path}, plugins, device=name)
        except InputError as exc:
            yield _unread(vendor, path, name, str(exc), plugins)


def _unread(vendor: str, path: Path, name: str, why: str, plugins: Plugins) -> DeviceResult:
    fam = family(vendor)
    view = fam.read(Outputs(texts={}, failures={"config": why}))
    data = DeviceConfig(vendor=vendor, live=False, view=view, outputs={"config": str(path)})
    fact = Fact(FactKind.DEVICE_CONFIG, f"device/{name}", CONFIG_PROBE, FactStatus.OK, data=fact_data(data))
    return DeviceResult(name, vendor, {"config": str(path)}, view, _evaluate(name, vendor, fact, plugins))


def entries_from(target: Path, vendor: str | None) -> list[tuple[Path, str]]:
    """What to audit: a folder of exports (one vendor), a CSV mapping file to vendor, or one file."""
    if target.is_dir():
        if vendor is None:
            raise InputError(f"{target}: a folder of exports needs --vendor (or give a CSV of file,vendor)")
        files = sorted(p for p in target.iterdir() if p.is_file() and not p.name.startswith(".")
                       and not p.name.endswith((".json", ".md", ".csv")))
        if not files:
            raise InputError(f"{target}: no configuration files in this folder")
        return [(p, vendor) for p in files]
    if target.suffix.lower() == ".csv":
        return _csv_entries(target, vendor)
    if not target.is_file():
        raise InputError(f"{target}: not a file; give the saved configuration, a folder of them or a CSV")
    if vendor is None:
        raise InputError(f"{target}: say which vendor wrote it: --vendor {{{','.join(names())}}}")
    read_export(target)  # one file: an unreadable one is bad input (exit 2), not a device's error
    return [(target, vendor)]


def _csv_entries(path: Path, default_vendor: str | None) -> list[tuple[Path, str]]:
    text = read_export(path)
    out = []
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        if not row or row[0].strip().lower() in ("file", "") or row[0].startswith("#"):
            continue
        vendor = (row[1].strip() if len(row) > 1 and row[1].strip() else default_vendor)
        if vendor is None:
            raise InputError(f"{path}:{number}: no vendor for {row[0]}; write file,vendor")
        if vendor not in names():
            raise InputError(f"{path}:{number}: unknown vendor {vendor!r}; use one of {', '.join(names())}")
        file = (path.parent / row[0].strip()).resolve()
        if not file.is_file():
            raise InputError(f"{path}:{number}: {row[0].strip()} is not a file "
                             "(paths are relative to the CSV)")
        out.append((file, vendor))
    if not out:
        raise InputError(f"{path}: no rows; write one `file,vendor` row per configuration")
    return out


def exit_status(results: Iterable[DeviceResult]) -> int:
    """As ``auditor run``: 0 when every finding passes or does not apply, else 1."""
    ok = {Status.PASS, Status.NOT_APPLICABLE}
    return 0 if all(f.status in ok for r in results for f in r.findings) else 1


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:62]
    return slug if slug and slug[0].isalnum() else f"d-{slug}".strip("-") or "device"
