"""Load YAML with line numbers, and turn pydantic errors into messages naming file, line, field.

PyYAML gives node positions but pydantic reports locations as paths (``('classrooms', 2,
'endpoint')``); no library joins the two, so this module walks the composed node tree.
It also rejects duplicate keys, which PyYAML would otherwise silently overwrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError

M = TypeVar("M", bound=BaseModel)


def _check_duplicates(node: yaml.Node, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value
            if name in seen:
                raise InputError(
                    f"{source}:{key.start_mark.line + 1}: duplicate key {name!r} "
                    f"(first at line {seen[name]}); remove one of them"
                )
            seen[name] = key.start_mark.line + 1
            _check_duplicates(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, source)


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None, bytes]:
    """Read and parse a YAML file; return (data, node tree, raw bytes). Raises InputError."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{source}: file not found") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{source}{line}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from None
    if node is not None:
        _check_duplicates(node, source)
    return data, node, raw


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Deepest line number reachable along a pydantic location path."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            key_node, node = match
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_loc(loc: Sequence[int | str]) -> str:
    """``('classrooms', 2, 'endpoint')`` → ``classrooms[2].endpoint``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see the schema in the README)"
    if kind == "missing":
        return "required field is missing"
    msg = str(error["msg"])
    if kind not in {"value_error", "assertion_error"} and "input" in error:
        shown = repr(error["input"])
        if len(shown) <= 60 and not isinstance(error["input"], dict | list):
            msg += f" (got {shown})"
    return msg.removeprefix("Value error, ")


def validate(model: type[M], data: Any, node: yaml.Node | None, source: str) -> M:
    """Validate parsed YAML against a pydantic model; raise InputError listing every problem."""
    if data is None:
        raise InputError(f"{source}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = [p for p in error["loc"] if isinstance(p, int | str)]
            line = _line_of(node, loc)
            where = f"{source}:{line}" if line is not None else source
            lines.append(f"{where}: {format_loc(loc)}: {_describe(error)}")
        count = len(lines)
        head = f"{source}: {count} problem{'s' if count > 1 else ''} found:\n  "
        raise InputError(head + "\n  ".join(lines)) from None
