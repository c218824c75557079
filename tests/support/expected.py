"""Parser expectations as data: each recorded input in ``tests/data/<parser>/`` has, beside it,
``<input>.expected.json`` with what the parser makes of it (as napalm's ``expected_result.json`` and
ntc-templates' ``.yml`` files do). A device's outputs, one folder per device, have ``expected.json``.

``tests/unit/test_parser_expectations.py`` parses every input and compares. When a parser changes on
purpose, write the new expectations and review them in the diff:

    .venv/bin/python -m tests.support.expected --write
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from auditor.probes.parsers.file_listing import parse_listing
from auditor.probes.parsers.if_table import build_if_table, parse_snmpwalk_numeric
from auditor.probes.parsers.iperf3_json import parse_iperf3_json
from auditor.probes.parsers.nft import parse_nft_json, parse_nft_text
from auditor.probes.parsers.nmap_xml import parse_nmap_xml
from auditor.probes.parsers.wifi_scan import parse_iw_scan, parse_nmcli_terse
from auditor.vendors import family
from auditor.vendors.contract import Outputs
from tests.support.paths import DATA

SUFFIX = ".expected.json"


def jsonable(value: Any) -> Any:
    """Plain JSON types: dataclasses as objects, tuples as lists, keys as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _outcome(parse: Callable[[], Any]) -> Any:
    """The parser's result, or the error it raised (an expectation too)."""
    try:
        return jsonable(parse())
    except ValueError as exc:
        return {"raises": type(exc).__name__, "message": str(exc)}


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _file_parser(path: Path) -> Callable[[], Any] | None:
    kind, name = path.parent.name, path.name
    parsers: dict[tuple[str, str], Callable[[str], Any]] = {
        ("iperf3", ".json"): parse_iperf3_json,
        ("nmap", ".xml"): parse_nmap_xml,
        ("nft", ".json"): parse_nft_json,
        ("nft", ".txt"): parse_nft_text,
        ("snmp", ".walk"): lambda t: build_if_table(parse_snmpwalk_numeric(t)),
        ("backups", ".txt"): parse_listing,
        ("wifi", ".txt"): parse_nmcli_terse if name.startswith("nmcli") else parse_iw_scan,
    }
    parse = parsers.get((kind, path.suffix))
    return None if parse is None else (lambda: parse(_text(path)))


def _device_parser(folder: Path) -> Callable[[], Any]:
    vendor = folder.parent.name
    outputs = {p.stem: _text(p) for p in sorted(folder.glob("*.txt"))}
    return lambda: family(vendor).read(Outputs(texts=outputs)).model_dump(mode="json")


def cases() -> Iterator[tuple[str, Path, Callable[[], Any]]]:
    """(case id, expectation file, parse) for every recorded input."""
    for path in sorted(DATA.glob("*/*")):
        if path.is_file() and not path.name.endswith(SUFFIX):
            parse = _file_parser(path)
            if parse is not None:
                yield str(path.relative_to(DATA)), path.with_name(path.name + SUFFIX), parse
    for folder in sorted(DATA.glob("netconfig/*/*")):
        yield str(folder.relative_to(DATA)), folder / "expected.json", _device_parser(folder)


def actual(parse: Callable[[], Any]) -> Any:
    """What the parser makes of the input now, as it would be written to the expectation file."""
    return json.loads(json.dumps(_outcome(parse), ensure_ascii=False))


def write_all() -> int:
    for case, expected, parse in cases():
        text = json.dumps(_outcome(parse), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if not expected.exists() or expected.read_text(encoding="utf-8") != text:
            expected.write_text(text, encoding="utf-8")
            print(f"wrote {expected.relative_to(DATA)} ({case})")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.support.expected --write")
    sys.exit(write_all())
