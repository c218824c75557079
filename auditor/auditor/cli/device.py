"""``auditor device audit``: every device check on saved configurations, offline."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from auditor.cli._common import STATUS_STYLE, console_out
from auditor.errors import InputError
from auditor.vendors import names as vendor_names

if TYPE_CHECKING:
    from auditor.offline import DeviceResult

_HEAD = {"zh": ("设备", "厂商", "配置完整", "检查", "结论", "说明", "依据"),
         "en": ("device", "vendor", "complete", "check", "status", "message", "lines")}


@click.group()
def device() -> None:
    """Network devices: audit saved configurations offline."""


@device.command("audit")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--vendor", type=click.Choice(list(vendor_names())), default=None,
              help="The family that printed the configuration (not needed with a CSV of file,vendor).")
@click.option("--output", "outputs", multiple=True, metavar="KIND=FILE",
              help="A saved command output beside the configuration: version, ntp, ssh, interfaces, lldp, "
              "logging or clock (repeat).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def audit(target: Path, vendor: str | None, outputs: tuple[str, ...], as_json: bool, lang: str) -> None:
    """Run every device check on TARGET: a saved configuration, a folder of them (one vendor) or a
    CSV of `file,vendor` rows. Nothing is sent on the network and nothing is stored; exit 0 when
    everything passes, 1 when something fails or cannot be judged, 2 for bad input."""
    from auditor.offline import audit_many, audit_saved, entries_from, exit_status
    from auditor.plugins import load_plugins

    plugins = load_plugins()
    single = target.is_file() and target.suffix.lower() != ".csv"
    if outputs:
        if not single or vendor is None:
            raise InputError("--output goes with one saved configuration and its --vendor")
        files = {"config": target, **_outputs(outputs)}
        results: Iterable[DeviceResult] = [audit_saved(vendor, files, plugins)]
    else:
        results = audit_many(entries_from(target, vendor), plugins)
    # one result at a time, printed and let go: a folder of a thousand exports stays small
    codes: list[int] = []
    summary: list[tuple[str, dict[str, int]]] = []
    if as_json and single:
        result = next(iter(results))
        codes.append(exit_status([result]))
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif as_json:
        click.echo("[")
        for n, result in enumerate(results):
            codes.append(exit_status([result]))
            text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
            click.echo(("," if n else "") + text)
        click.echo("]")
    else:
        titles = {name: (c.meta.title_zh if lang == "zh" else c.meta.title_en)
                  for name, c in plugins.checks.items()}
        for result in results:
            codes.append(exit_status([result]))
            _table(result, lang, titles)
            summary.append((result.device, {s: sum(1 for f in result.findings if f.status.value == s)
                                            for s in _STATUSES}))
        if len(summary) > 1:
            _summary(summary, lang)
    sys.exit(max(codes, default=0))


def _outputs(items: tuple[str, ...]) -> dict[str, Path]:
    out = {}
    for item in items:
        kind, eq, path = item.partition("=")
        if not eq or not kind or not path:
            raise InputError(f"--output {item!r}: write KIND=FILE, e.g. --output version=show-version.txt")
        if kind == "config":
            raise InputError("--output config=...: the configuration is the TARGET argument")
        out[kind] = Path(path)
    return out


_STATUSES = ("pass", "fail", "error", "not_applicable")


def _table(result: DeviceResult, lang: str, titles: dict[str, str]) -> None:
    head = _HEAD[lang]
    doc = result.to_json()
    table = Table(title=f"{head[0]} {doc['device']} ({doc['vendor']}): {head[2]} "
                        f"{'✓' if doc['complete'] else '✗'}")
    for col in head[3:]:
        table.add_column(col, overflow="fold")
    for f in doc["findings"]:
        style = STATUS_STYLE.get(f["status"], "")
        where = ", ".join(f"{Path(e['file']).name}:{e['line']}" for e in f["evidence"][:4])
        table.add_row(f"{f['check']}\n{titles.get(f['check'], '')}", f"[{style}]{f['status']}[/]",
                      f["message"], where)
    console_out().print(table)


def _summary(rows: list[tuple[str, dict[str, int]]], lang: str) -> None:
    table = Table(title="summary" if lang == "en" else "汇总")
    table.add_column(_HEAD[lang][0])
    for status in _STATUSES:
        table.add_column(status)
    for device, counts in rows:
        table.add_row(device, *(str(counts[s]) for s in _STATUSES))
    console_out().print(table)
