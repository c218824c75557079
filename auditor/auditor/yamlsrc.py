"""Load YAML with line numbers, and turn pydantic errors into messages naming file, line, field.

PyYAML gives node positions but pydantic reports locations as paths (``('classrooms', 2,
'endpoint')``); no library joins the two, so this module walks the composed node tree.
It also rejects duplicate keys, which PyYAML would otherwise silently overwrite.

Every file a user hands the auditor (inventory, profile, waivers, attestations) is untrusted
input, so before anything is built from it the file is bounded: at most :data:`MAX_BYTES`,
UTF-8, nesting at most :data:`MAX_DEPTH` deep (checked on PyYAML's event stream, before the
recursive composer runs), and at most :data:`MAX_NODES` values once every alias is followed.
Anchors and aliases are allowed (PyYAML writes them for shared values), but an "alias bomb"
(nested references that would expand to billions of values when validated) is measured on the
composed node graph, each anchored node once, and refused without ever being expanded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError

M = TypeVar("M", bound=BaseModel)
MAX_BYTES = 4 * 1024 * 1024  # the largest built-in profile is ~100 KiB, a large inventory ~1 MiB
MAX_DEPTH = 32  # the deepest built-in profile nests 11 levels, the demo inventory 6
MAX_NODES = 100_000  # values after following aliases; the largest built-in profile has ~2 700
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; this format never needs that: check the structure"
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """A safe loader (libyaml's when available) that keeps an impossible date as text."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """``2026-13-01`` looks like a date to YAML but is none: keep the text, so validation
    names the field and its line instead of the constructor failing without one."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class FieldError(ValueError):
    """A validator's error about a field *below* the model it validates.

    Pydantic places an error raised by a model validator at the model itself; ``loc`` (a
    path relative to that model, e.g. ``("classrooms", 1, "id")``) lets :func:`validate`
    point at the exact line instead.
    """

    def __init__(self, loc: Sequence[int | str], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


class _Expansion:
    """Size and height of the node graph as it would be after following every alias, computed
    once per node (an alias is the very node it names), refused past MAX_NODES or MAX_DEPTH."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.memo: dict[int, tuple[int, int]] = {}  # id(node) -> (values, height)

    def measure(self, node: yaml.Node, level: int) -> tuple[int, int]:
        line = node.start_mark.line + 1
        seen = self.memo.get(id(node))
        if seen is None:
            if level > MAX_DEPTH:
                raise InputError(f"{self.source}:{line}: {_TOO_DEEP} (following aliases)")
            sizes = [self.measure(child, level + 1) for child in _children(node)]
            seen = (1 + sum(n for n, _h in sizes), 1 + max((h for _n, h in sizes), default=0))
            self.memo[id(node)] = seen
        if level - 1 + seen[1] > MAX_DEPTH:
            raise InputError(f"{self.source}:{line}: {_TOO_DEEP} (following aliases)")
        if seen[0] > MAX_NODES:
            raise InputError(f"{self.source}:{line}: anchors and aliases here expand to more than "
                             f"{MAX_NODES} values (an alias bomb?); write the values out or share less")
        return seen


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_duplicates(node: yaml.Node, source: str, done: set[int]) -> None:
    if id(node) in done:  # a node an alias repeats was checked where it was anchored
        return
    done.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise InputError(f"{source}:{key.start_mark.line + 1}: a key must be a plain name, "
                                 "not a list or mapping; write 'name: value'")
            name = key.value
            if name in seen:
                raise InputError(
                    f"{source}:{key.start_mark.line + 1}: duplicate key {name!r} "
                    f"(first at line {seen[name]}); remove one of them"
                )
            seen[name] = key.start_mark.line + 1
            _check_duplicates(value, source, done)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, source, done)


def _read(path: Path) -> bytes:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{source}: the file is {size / 2**20:.1f} MiB, more than the "
                             f"{MAX_BYTES // 2**20} MiB this kind of file may have; is it the right file?")
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{source}: file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory, not a file; name the YAML file") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read file: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:  # grew while we read it (or a device file)
        raise InputError(f"{source}: more than {MAX_BYTES // 2**20} MiB; is it the right file?")
    return raw


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not UTF-8 text (byte {exc.start}, 0x{raw[exc.start]:02x}); "
                         "save the file as UTF-8") from None


def _yaml_problem(exc: yaml.YAMLError, text: str, source: str) -> InputError:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return InputError(f"{source}: invalid YAML: {exc}")
    mark = exc.problem_mark
    lines = text.splitlines()
    here = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in here[: mark.column + 1]:
        why = "a tab character; YAML indents with spaces only: replace the tabs with spaces"
    elif "nesting depth" in str(exc.problem):
        why = _TOO_DEEP
    else:
        why = f"{exc.problem}" + (f" ({exc.context})" if exc.context else "")
        why += "; check the indentation, colons, brackets and quotes on this line or the one before"
    return InputError(f"{source}:{mark.line + 1}: invalid YAML: {why}")


def _check_events(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, before any node is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"{source}:{line}: {_TOO_DEEP}")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(path: Path) -> tuple[Any, yaml.Node | None, bytes]:
    """Read and parse a YAML file; return (data, node tree, raw bytes). Raises InputError."""
    source = str(path)
    raw = _read(path)
    text = _decode(raw, source)
    try:
        _check_events(text, source)
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            _Expansion(source).measure(node, 1)
            _check_duplicates(node, source, set())
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, text, source) from None
    except (RecursionError, MemoryError):
        raise InputError(f"{source}: too deeply nested or too large to read; check the structure") from None
    except (ValueError, TypeError) as exc:  # a value YAML recognised but cannot build
        raise InputError(f"{source}: invalid value: {exc}; check the dates and numbers") from None
    return data, node, raw


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
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


_MAPPING = "write a mapping: one 'key: value' per line"
# What to do about the commonest pydantic error types (the message says what is wrong).
_HINTS = {
    "ip_v4_address": "write a dotted IPv4 address such as 10.200.0.1",
    "ip_v4_network": "write an IPv4 network in CIDR form with zero host bits, such as 10.200.0.0/16",
    "int_parsing": "write a whole number", "int_type": "write a whole number",
    "int_from_float": "write a whole number", "float_parsing": "write a number",
    "float_type": "write a number", "bool_parsing": "write true or false",
    "bool_type": "write true or false", "time_parsing": "write a time as \"HH:MM\" (24-hour clock)",
    "time_type": "write a time as \"HH:MM\" (24-hour clock)",
    "date_parsing": "write a date as YYYY-MM-DD", "date_from_datetime_parsing": "write a date as YYYY-MM-DD",
    "date_type": "write a date as YYYY-MM-DD",
    "datetime_parsing": "write a date and time as YYYY-MM-DDTHH:MM:SS+08:00",
    "datetime_from_date_parsing": "write a date and time as YYYY-MM-DDTHH:MM:SS+08:00",
    "string_type": "write text (quote it if it looks like a number or date)",
    "list_type": "write a list: [a, b] or one '- item' per line",
    "dict_type": _MAPPING, "model_type": _MAPPING, "model_attributes_type": _MAPPING,
    "too_short": "add at least one entry",
}
_PATTERN_HINTS = {
    "^[a-z0-9][a-z0-9_-]{0,62}$": "ids are 1-63 lowercase letters, digits, '-' and '_', e.g. room-101",
}


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field; check the spelling (the README lists every section's fields)"
    if kind == "missing":
        return "required field is missing; add it"
    msg = str(error["msg"])
    if kind not in {"value_error", "assertion_error"} and "input" in error:
        shown = repr(error["input"])
        if len(shown) <= 60 and not isinstance(error["input"], dict | list):
            msg += f" (got {shown})"
    hint = _HINTS.get(kind) or _PATTERN_HINTS.get(str((error.get("ctx") or {}).get("pattern", "")))
    if kind == "string_pattern_mismatch" and hint is None:
        hint = "see the README for the expected form"
    return msg.removeprefix("Value error, ") + (f"; {hint}" if hint else "")


def _loc(error: Any) -> list[int | str]:
    loc = [p for p in error["loc"] if isinstance(p, int | str)]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc += list(cause.loc)
    return loc


def load_model(model: type[M], path: Path) -> M:
    """Read the YAML file ``path`` and validate it against ``model`` (every problem with its line)."""
    data, node, _raw = load_yaml(path)
    return validate(model, data, node, str(path))


def validate(model: type[M], data: Any, node: yaml.Node | None, source: str) -> M:
    """Validate parsed YAML against a pydantic model; raise InputError listing every problem.

    One problem is one line (``file:line: field: what is wrong; what to do``); several are
    listed under a count.
    """
    if data is None:
        raise InputError(f"{source}:1: the file is empty (or only comments); write the document, "
                         "see the README for an example")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = _loc(error)
            line = line_of(node, loc)
            where = f"{source}:{line}" if line is not None else source
            lines.append(f"{where}: {format_loc(loc)}: {_describe(error)}")
        if len(lines) == 1:
            raise InputError(lines[0]) from None
        head = f"{source}: {len(lines)} problems found:\n  "
        raise InputError(head + "\n  ".join(lines)) from None
