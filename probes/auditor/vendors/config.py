"""A running configuration as a tree of numbered lines, for the vendor families to query.

Written here rather than taken from hier_config (which parsed configurations before): every
finding names the file and line it rests on, and hier_config keeps no line numbers; it also stops
on a section with two identical lines (a ``header motd`` banner with two equal border lines was
enough), where an audit must judge what it can and call the rest an error. The tree follows the two
styles the families print: ``!``-separated, indented sections (Cisco IOS, Ruijie RGOS) and
``#``-separated blocks (Huawei VRP, H3C Comware, which indents global commands by one space inside
a block). Banners (``banner motd ^C ... ^C``, ``header motd % ... %``) are kept as text, never read
as commands. Pager leftovers and terminal escapes are removed before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from auditor.facts import LineRef
from auditor.vendors.mask import mask_line

Style = Literal["ios", "vrp"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
_PAGER = re.compile(r"\s*(?:-{2,4}\s*More\s*-{2,4}|<--- More --->|--More--)\s*", re.IGNORECASE)
# (a line section's vacant-message / refuse-message is a delimited block too)
_IOS_BANNER = re.compile(r"^(?:banner\s+(?:motd|login|exec|incoming|slip-ppp|prompt-timeout)|vacant-message|"
                         r"refuse-message)\s+(\^C|\S)(.*)$",
                         re.IGNORECASE)
_VRP_BANNER = re.compile(r"^header\s+(?:login|motd|shell|incoming|legal)(?:\s+information)?\s+(\S)(.*)$",
                         re.IGNORECASE)
_PROMPT = re.compile(r"^(?:<[^<>\s]+>|\[[^\[\]\s]+\]|[\w.\-/:()]+[#>])\s*\S*$")


def clean(text: str) -> list[str]:
    """The lines of an output as a person reading the terminal would see them: CRLF, NUL bytes,
    terminal escapes, backspaced pager prompts gone. Line numbers are those of the input."""
    return list(_clean(text))


@lru_cache(maxsize=16)
def _clean(text: str) -> tuple[str, ...]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" not in text and "\x00" not in text and "\b" not in text and not _PAGER.search(text):
        return tuple(text.split("\n"))  # nothing a terminal would have hidden
    out = []
    for raw in text.split("\n"):
        line = ANSI.sub("", raw.replace("\x00", ""))
        while "\b" in line:
            line = re.sub(r"[^\b]?\b", "", line, count=1)
        out.append(_PAGER.sub("", line) if _PAGER.search(line) else line)
    return tuple(out)


@dataclass(eq=False)
class Node:
    """One configuration line: its text (stripped), number, indentation and place in the tree."""

    text: str
    line: int
    indent: int
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    banner: list[tuple[int, str]] = field(default_factory=list)  # a banner's text lines

    def chain(self) -> list[Node]:
        """This node and its parents, outermost first (the root not included)."""
        nodes: list[Node] = []
        current: Node | None = self
        while current is not None and current.line > 0:
            nodes.append(current)
            current = current.parent
        return list(reversed(nodes))


@dataclass(frozen=True)
class Hit:
    """A line that matched a query, with its match."""

    node: Node
    match: re.Match[str]

    def group(self, index: int | str) -> str | None:
        value = self.match.group(index)
        return value if isinstance(value, str) else None


class ConfigTree:
    """A parsed configuration (or any indented output): query it with anchored regexes."""

    def __init__(self, text: str, style: Style, output: str = "config") -> None:
        self.style = style
        self.output = output
        self.lines = clean(text)
        self.root = Node("", 0, -1)
        self._build(self._numbered())

    # -- building ------------------------------------------------------------------------------

    def _numbered(self) -> list[tuple[int, str]]:
        rows = [(n, line.rstrip()) for n, line in enumerate(self.lines, 1)]
        return _dedent_vrp_blocks(rows) if self.style == "vrp" else rows

    def _build(self, rows: list[tuple[int, str]]) -> None:
        stack: list[Node] = []
        banner: tuple[Node, str] | None = None
        for number, raw in rows:
            if banner is not None:
                node, delimiter = banner
                node.banner.append((number, raw))
                if delimiter in raw:
                    banner = None
                continue
            text = raw.strip()
            if not text:
                continue
            indent = len(raw) - len(raw.lstrip(" \t"))
            if self._separator(text):
                if indent == 0:
                    stack.clear()
                continue
            while stack and stack[-1].indent >= indent:
                stack.pop()
            parent = stack[-1] if stack else self.root
            node = Node(text, number, indent, parent)
            parent.children.append(node)
            stack.append(node)
            banner = self._banner_start(node)

    def _separator(self, text: str) -> bool:
        return text.startswith("!") if self.style == "ios" else text == "#"

    def _banner_start(self, node: Node) -> tuple[Node, str] | None:
        if node.text[:6].lower() not in ("banner", "header", "vacant", "refuse"):
            return None
        found = (_IOS_BANNER if self.style == "ios" else _VRP_BANNER).match(node.text)
        if found is None:
            return None
        delimiter, rest = found.group(1), found.group(2)
        if delimiter == "^" and rest.startswith("C"):
            delimiter, rest = "^C", rest[1:]
        if self.style == "vrp" and delimiter == '"' and rest.count('"') >= 1:
            return None  # a quoted one-line banner
        return None if delimiter in rest else (node, delimiter)

    # -- queries -------------------------------------------------------------------------------

    def top(self, pattern: str) -> list[Hit]:
        """Root-level lines matching ``pattern`` (a regex anchored at the line's start)."""
        return _match(self.root.children, pattern)

    def under(self, section: Node, pattern: str) -> list[Hit]:
        """Direct children of ``section`` matching ``pattern``."""
        return _match(section.children, pattern)

    def nested(self, section_pattern: str, pattern: str) -> list[Hit]:
        """Children matching ``pattern`` of every root section matching ``section_pattern``."""
        return [hit for sec in self.top(section_pattern) for hit in self.under(sec.node, pattern)]

    def first(self, pattern: str) -> Hit | None:
        hits = self.top(pattern)
        return hits[0] if hits else None

    def refs(self, hits: Iterable[Hit], with_parents: bool = True) -> tuple[LineRef, ...]:
        """The masked, numbered lines of ``hits`` (and of the sections they are in), in file order,
        each once."""
        seen: dict[int, LineRef] = {}
        for hit in hits:
            for node in hit.node.chain() if with_parents else [hit.node]:
                if node.line not in seen:
                    seen[node.line] = LineRef(output=self.output, line=node.line,
                                              text=mask_line(" " * node.indent + node.text))
        return tuple(seen[n] for n in sorted(seen))

    def complete(self, terminator: str) -> bool:
        """True when the configuration ends as the vendor prints it (``return`` / ``end``), ignoring
        blank lines and a prompt left after it."""
        return ends_with(self.lines, terminator)

    def walk(self) -> Iterator[Node]:
        """Every node, depth first, in file order."""
        stack = list(reversed(self.root.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def ends_with(lines: Iterable[str], terminator: str) -> bool:
    """Whether cleaned ``lines`` end with ``terminator`` (blank lines and a prompt after it aside)."""
    for raw in reversed(list(lines)):
        text = raw.strip()
        if not text or (_PROMPT.match(text) and text != terminator):
            continue
        return text == terminator
    return False


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _match(children: Iterable[Node], pattern: str) -> list[Hit]:
    regex = _regex(pattern)
    hits = []
    for child in children:
        found = regex.match(child.text)
        if found:
            hits.append(Hit(child, found))
    return hits


def _dedent_vrp_blocks(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Comware indents global commands by one space inside ``#`` blocks; undo that, block by
    block, so they are not taken for the previous section's children."""
    out: list[tuple[int, str]] = []
    block: list[tuple[int, str]] = []
    for number, text in [*rows, (0, "#")]:
        if text.strip() == "#":
            body = [t for _, t in block if t.strip()]
            if body and all(t.startswith(" ") for t in body):
                block = [(n, t[1:] if t.startswith(" ") else t) for n, t in block]
            out.extend(block)
            if number:
                out.append((number, text))
            block = []
        else:
            block.append((number, text))
    return out
