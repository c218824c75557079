"""Load YAML with line numbers, and turn pydantic errors into messages naming file, line, field.

PyYAML gives node positions but pydantic reports locations as paths (``('classrooms', 2,
'endpoint')``); no library joins the two, so this module walks the composed node tree.
It also rejects duplicate keys, which PyYAML would otherwise silently overwrite.

Every file a user hands the auditor (inventory, profile, waivers, attestations) is untrusted
input, so before anything is built from it the file is bounded: at most :data:`MAX_BYTES`,
UTF-8, nesting at most :data:`MAX_DEPTH` deep, also once aliases are followed. Anchors and
aliases are allowed (PyYAML writes them for shared values, people use them for templates), but
what they *amplify* is bounded: the values after following every alias may exceed the values the
file writes by at most :data:`ALIAS_VALUES`, or up to :data:`MAX_AMPLIFICATION` times them for a
large file, never past :data:`MAX_EXPANDED` (see :func:`expansion_limit`). An "alias bomb"
(nested references that would expand to billions of values when validated) is measured on the
composed node graph, each node once, and refused without ever being expanded. A file without
aliases is limited only by its size: the values its text writes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError

M = TypeVar("M", bound=BaseModel)
# 30,000 devices in block style, one line per device field (about 12 lines, 350 bytes a device),
# are ~10 MB: bench/large_inventory.py writes such a school in 10.4 MB. 32 MiB leaves three times
# that (~90,000 devices) and still bounds what one file can make the parser build. The largest
# built-in profile is ~100 KiB.
MAX_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 32  # the deepest built-in profile nests 11 levels, the demo inventory 6
# What aliases may add to the values a file writes (a scalar, a collection or an alias is one
# value as written); :func:`expansion_limit` combines the three.
ALIAS_VALUES = 100_000  # any file: the old flat cap (the largest built-in profile has ~2 700 values)
# A large file: 10 times what it writes. Honest sharing stays well under it: 30,000 devices
# sharing their snmp and ssh dictionaries as yaml.safe_dump writes them expand 1.9 times, the same
# devices merging a template per kind (<<: *t) and writing only id, name and address 3.5 times
# (bench/large_inventory.py); the classic billion laughs expands its ~100 values 4 million times.
MAX_AMPLIFICATION = 10
# ...but aliases never take a file past what an honest file at MAX_BYTES writes (~3.4 million
# values: the 30,000 devices above write 1.06 million in 10.4 MB): aliases never make a file
# cost more to validate than an honest inventory of the largest size.
MAX_EXPANDED = 4_000_000
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; this format never needs that: check the structure"
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def expansion_limit(written: int) -> int:
    """The most values a file that writes ``written`` may have once every alias is followed:
    ``written + ALIAS_VALUES``, or up to ``MAX_AMPLIFICATION`` times ``written`` but no more than
    ``MAX_EXPANDED``, whichever is larger. Never less than ``written``: a file without aliases is
    bounded by its size alone."""
    return max(written + ALIAS_VALUES, min(MAX_AMPLIFICATION * written, MAX_EXPANDED))


def _libyaml_bounds_nesting() -> bool:
    """libyaml refuses nesting deeper than 1000 levels itself (from 0.2.5), so its composer, which
    recurses in C, is safe on any input and depth is measured on the composed graph. PyYAML's
    pure-Python composer recurses in Python: without libyaml, depth is checked on the event
    stream before anything is composed (:func:`_check_events`)."""
    version = getattr(getattr(yaml, "_yaml", None), "get_version", None)  # libyaml's, if PyYAML has it
    return _Base is not yaml.SafeLoader and version is not None and tuple(version()) >= (0, 2, 5)


_NESTING_BOUNDED = _libyaml_bounds_nesting()


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


_BUSY = (-1, -1)  # the memo entry of a collection being measured: an alias to it is a loop


class _Graph:
    """One pass over the composed node graph, each collection once where the file writes it (an
    alias is the very node it names, so a shared block is measured once): keys are plain and
    unique, nesting stays within MAX_DEPTH as written and after following aliases, no alias
    refers to a collection that contains it, and two counts, the values as written and the
    values after following every alias (refused past :func:`expansion_limit` by :meth:`check`)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.memo: dict[int, tuple[int, int]] = {}  # id(collection) -> (values, height)
        self.order: list[yaml.Node] = []  # every collection, after the collections it contains
        self.written = 0

    def visit(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        """(values after following aliases, height in collections) of a collection inside
        ``depth`` others."""
        if depth >= MAX_DEPTH:
            raise InputError(f"{self.source}:{node.start_mark.line + 1}: {_TOO_DEEP}")
        memo = self.memo
        memo[id(node)] = _BUSY
        node.end_mark = None  # only start lines are ever read: the tree callers keep is smaller
        if isinstance(node, yaml.MappingNode):
            children = self._keys(node)
            values = written = 1 + len(children)  # the mapping and its keys
        else:
            children = node.value
            values = written = 1
        height = 0
        for child in children:
            if isinstance(child, yaml.ScalarNode):
                child.end_mark = None
                values += 1
                written += 1
                continue
            seen = memo.get(id(child))
            if seen is None:
                seen = self.visit(child, depth + 1)
            elif seen is _BUSY:
                raise InputError(f"{self.source}:{child.start_mark.line + 1}: an alias inside this anchored "
                                 "collection refers to the collection itself, so it would never end; "
                                 "write the values out")
            else:
                written += 1  # an alias: written as one value
                if depth + 1 + seen[1] > MAX_DEPTH:
                    line = child.start_mark.line + 1
                    raise InputError(f"{self.source}:{line}: {_TOO_DEEP} (following aliases)")
            values += seen[0]
            height = max(height, seen[1])
        self.written += written
        memo[id(node)] = seen = (values, height + 1)
        self.order.append(node)
        return seen

    def _keys(self, node: yaml.MappingNode) -> list[yaml.Node]:
        """The values of a mapping whose keys are plain and unique."""
        lines: dict[Any, int] = {}
        for key, _value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise InputError(f"{self.source}:{key.start_mark.line + 1}: a key must be a plain name, "
                                 "not a list or mapping; write 'name: value'")
            key.end_mark = None
            name = key.value
            if name in lines:
                raise InputError(f"{self.source}:{key.start_mark.line + 1}: duplicate key {name!r} "
                                 f"(first at line {lines[name]}); remove one of them")
            lines[name] = key.start_mark.line + 1
        return [value for _key, value in node.value]

    def check(self, values: int) -> None:
        """Refuse a document of ``values`` (after following aliases) past the limit, naming the
        first collection that alone goes past it (the innermost: where the amplification is)."""
        limit = expansion_limit(self.written)
        if values <= limit:
            return
        node = next(n for n in self.order if self.memo[id(n)][0] > limit)
        if limit == self.written + ALIAS_VALUES:
            what = f"more than {ALIAS_VALUES} values beyond the {self.written} the file writes"
        elif limit == MAX_EXPANDED:
            what = f"more than {MAX_EXPANDED} values, the most any file may have ({self.written} written)"
        else:
            what = f"more than {MAX_AMPLIFICATION} times the {self.written} values the file writes"
        raise InputError(f"{self.source}:{node.start_mark.line + 1}: anchors and aliases here expand to "
                         f"{what} (here {self.memo[id(node)][0]}; an alias bomb?); write the values out "
                         "or share less")


def _bound(node: yaml.Node, source: str) -> None:
    """Refuse a composed document that is too deep, has bad keys or that aliases amplify too much."""
    if isinstance(node, yaml.ScalarNode):
        return
    graph = _Graph(source)
    values, _height = graph.visit(node, 0)
    graph.check(values)


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
    elif "nesting depth" in str(exc.problem):  # libyaml's own limit, 1000 levels
        return InputError(f"{source}:{mark.line + 1}: {_TOO_DEEP}")
    else:
        why = f"{exc.problem}" + (f" ({exc.context})" if exc.context else "")
        why += "; check the indentation, colons, brackets and quotes on this line or the one before"
    return InputError(f"{source}:{mark.line + 1}: invalid YAML: {why}")


_MANY_OBJECTS = 100_000


@contextmanager
def _collector_paused(generation: int) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large document is parsed or validated.

    A large file makes millions of nodes, values and models, and no garbage: the collector's
    passes over them, repeated as the heap grows, cost more than the work itself (30,000
    devices: composing takes 9 s of CPU with it, 2 s without). Reference counting still frees
    everything. When many objects were made, one collection of ``generation`` (2 after parsing:
    all of them are new; 1 after validating: only the models are) files them as old at once
    rather than in three passes as they age.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if gc.get_count()[0] > _MANY_OBJECTS:
                gc.collect(generation)
            gc.enable()


def _check_events(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, before any node is built (without libyaml only)."""
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
    """Read and parse a YAML file; return (data, node tree, raw bytes). Raises InputError.

    The text is parsed once: composed into nodes (kept for line numbers), bounded, and the data
    built from those very nodes.
    """
    source = str(path)
    raw = _read(path)
    text = _decode(raw, source)
    try:
        with _collector_paused(2):
            if not _NESTING_BOUNDED:
                _check_events(text, source)
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                data = None
                if node is not None:
                    _bound(node, source)
                    data = loader.construct_document(node)
            finally:
                loader.dispose()
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
        with _collector_paused(1):
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
