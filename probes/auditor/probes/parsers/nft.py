"""Parse an nftables ruleset: ``nft -j list ruleset`` (JSON) and ``nft [-a] list ruleset`` (text).

Both parsers give the same shape: chains (base chains with their hook, priority and policy)
and their rules, each rule reduced to its verdict and whether it *filters* (has a match that
restricts which packets it applies to). A rule that accepts without filtering accepts
everything. Statements that do not filter are ``counter``, ``log``, ``comment`` and matches on
a /0 prefix (``ip saddr 0.0.0.0/0``); any other statement counts as filtering, so an unknown
construct never makes a rule look like accept-all.

Text is kept for people: with ``nft -a`` every rule carries ``# handle N``, which
:func:`with_text_lines` uses to give JSON-parsed rules their text line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

VERDICTS = frozenset({"accept", "drop", "reject", "jump", "goto", "return", "continue", "queue"})
_NON_FILTERING_JSON = frozenset({"counter", "log", "comment"})
_FAMILIES_V4 = frozenset({"ip", "inet"})


class NftParseError(ValueError):
    """The text is not an nftables ruleset listing."""


@dataclass(frozen=True)
class NftRule:
    """One rule: its handle (when listed), verdict, whether it filters, and its text."""

    handle: int | None
    verdict: str | None
    filtering: bool
    line: str

    @property
    def accept_all(self) -> bool:
        return self.verdict == "accept" and not self.filtering

    @property
    def drop_all(self) -> bool:
        return self.verdict in {"drop", "reject"} and not self.filtering


@dataclass(frozen=True)
class NftChain:
    """A chain; ``hook`` is None for a regular (non-base) chain."""

    family: str
    table: str
    name: str
    type: str | None
    hook: str | None
    priority: str | None
    policy: str | None
    rules: tuple[NftRule, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.family} {self.table} {self.name}"

    @property
    def declaration(self) -> str | None:
        if self.hook is None:
            return None
        policy = f" policy {self.policy};" if self.policy else ""
        return f"type {self.type} hook {self.hook} priority {self.priority};{policy}"


@dataclass(frozen=True)
class NftRuleset:
    source: str  # "json" or "text"
    chains: tuple[NftChain, ...]

    def base_chains(self, hook: str, families: Iterable[str] = _FAMILIES_V4) -> list[NftChain]:
        fams = set(families)
        return [c for c in self.chains if c.hook == hook and c.family in fams]


# ------------------------------------------------------------------------ JSON


def parse_nft_json(text: str) -> NftRuleset:
    """Parse ``nft -j list ruleset`` output."""
    try:
        doc = json.loads(text)
        items = doc["nftables"]
    except (ValueError, KeyError, TypeError):
        raise NftParseError("not nft JSON output (no 'nftables' array)") from None
    if not isinstance(items, list):
        raise NftParseError("not nft JSON output ('nftables' is not an array)")
    chains: dict[tuple[str, str, str], NftChain] = {}
    rules: dict[tuple[str, str, str], list[NftRule]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if "chain" in item:
            c = item["chain"]
            key = (c["family"], c["table"], c["name"])
            prio = c.get("prio")
            chains[key] = NftChain(c["family"], c["table"], c["name"], c.get("type"), c.get("hook"),
                                   None if prio is None else str(prio), c.get("policy"))
        elif "rule" in item:
            r = item["rule"]
            rules.setdefault((r["family"], r["table"], r["chain"]), []).append(_json_rule(r))
    return NftRuleset("json", tuple(replace(c, rules=tuple(rules.get(k, []))) for k, c in chains.items()))


def _json_rule(rule: dict[str, Any]) -> NftRule:
    verdict: str | None = None
    filtering = False
    for stmt in rule.get("expr", []):
        key, value = next(iter(stmt.items())) if isinstance(stmt, dict) and stmt else ("?", None)
        if key in VERDICTS:
            verdict = verdict or key
        elif key == "match":
            filtering = filtering or not _matches_anything(value)
        elif key not in _NON_FILTERING_JSON:
            filtering = True
    return NftRule(rule.get("handle"), verdict, filtering, _json_line(rule))


def _matches_anything(match: Any) -> bool:
    """``ip saddr 0.0.0.0/0`` and the like: a prefix of length 0 compared with == or in."""
    if not isinstance(match, dict) or match.get("op") not in {"==", "in"}:
        return False
    right = match.get("right")
    prefix = right.get("prefix") if isinstance(right, dict) else None
    return isinstance(prefix, dict) and prefix.get("len") == 0


def _json_line(rule: dict[str, Any]) -> str:
    """A compact stand-in for the text form (replaced by the real text line when available)."""
    return json.dumps(rule.get("expr", []), separators=(",", ":"), sort_keys=True)


# ------------------------------------------------------------------------ text

_HANDLE = re.compile(r"\s*# handle (\d+)\s*$")
_TABLE = re.compile(r"^table (\w+) (\S+) \{$")
_CHAIN = re.compile(r"^chain (\S+) \{$")
_BLOCK = re.compile(r"^(set|map|flowtable|counter|quota|limit|ct \w+|secmark|synproxy) .*\{$")
_DECL = re.compile(
    r"^type (\S+) hook (\S+)(?: device \S+)? priority ([^;]+);(?:\s*policy (\w+);)?$")
_POLICY = re.compile(r"^policy (\w+);$")
_STRIP = (
    re.compile(r'\bcomment "(?:[^"\\]|\\.)*"'),
    re.compile(r"\bcounter(?: packets \d+ bytes \d+)?"),
    re.compile(r'\blog(?: (?:prefix "(?:[^"\\]|\\.)*"|level \w+|group \d+|snaplen \d+|'
               r"queue-threshold \d+|flags [\w,-]+))*"),
    re.compile(r"\bip6? [sd]addr (?:0\.0\.0\.0|::)/0\b"),
)


def parse_nft_text(text: str) -> NftRuleset:
    """Parse ``nft list ruleset`` / ``nft -a list ruleset`` output."""
    parser = _TextParser()
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        pending = f"{pending} {line}".strip() if pending else line
        if pending.count("{") - pending.count("}") > 0 and not _opens_block(pending):
            continue  # a rule continued over several lines (a long anonymous set)
        parser.feed(pending)
        pending = ""
    if parser.depth != 0 or pending:
        raise NftParseError("unbalanced braces: the ruleset listing is cut off")
    if not parser.tables and text.strip():
        raise NftParseError("no 'table' found: not an nft ruleset listing")
    return NftRuleset("text", tuple(parser.chains))


def _opens_block(line: str) -> bool:
    body = _HANDLE.sub("", line)
    return bool(_TABLE.match(body) or _CHAIN.match(body) or _BLOCK.match(body))


class _TextParser:
    def __init__(self) -> None:
        self.chains: list[NftChain] = []
        self.tables: list[tuple[str, str]] = []
        self.depth = 0
        self.skip_from: int | None = None  # depth of a set/map block being skipped
        self.chain: NftChain | None = None
        self.rules: list[NftRule] = []

    def feed(self, line: str) -> None:
        handle_m = _HANDLE.search(line)
        body = _HANDLE.sub("", line)
        if self.skip_from is not None:
            self.depth += body.count("{") - body.count("}")
            if self.depth < self.skip_from:
                self.skip_from = None
            return
        if body == "}":
            self._close()
        elif m := _TABLE.match(body):
            self._open_table(m.group(1), m.group(2))
        elif (m := _CHAIN.match(body)) and self.depth == 1:
            family, table = self.tables[-1]
            self.chain = NftChain(family, table, m.group(1), None, None, None, None)
            self.rules, self.depth = [], 2
        elif _BLOCK.match(body) or (body.endswith("{") and self.chain is None):
            self.depth += 1
            self.skip_from = self.depth
        elif self.chain is not None:
            self._chain_line(body, int(handle_m.group(1)) if handle_m else None)
        elif body.startswith(("flags ", "comment ")):
            return
        else:
            raise NftParseError(f"unexpected line outside a chain: {line!r}")

    def _open_table(self, family: str, name: str) -> None:
        if self.depth != 0:
            raise NftParseError(f"table {name} opened inside another block")
        self.tables.append((family, name))
        self.depth = 1

    def _close(self) -> None:
        if self.depth == 0:
            raise NftParseError("unbalanced '}' in the ruleset listing")
        if self.depth == 2 and self.chain is not None:
            self.chains.append(replace(self.chain, rules=tuple(self.rules)))
            self.chain = None
        self.depth -= 1

    def _chain_line(self, body: str, handle: int | None) -> None:
        assert self.chain is not None
        if m := _DECL.match(body):
            self.chain = replace(self.chain, type=m.group(1), hook=m.group(2),
                                 priority=m.group(3).strip(), policy=m.group(4))
        elif m := _POLICY.match(body):
            self.chain = replace(self.chain, policy=m.group(1))
        elif body.startswith(("comment ", "devices ")):
            return
        else:
            self.rules.append(text_rule(body, handle))


def text_rule(body: str, handle: int | None = None) -> NftRule:
    """Reduce one text rule (without its ``# handle`` comment) to its verdict and whether it filters."""
    rest = body
    for pattern in _STRIP:
        rest = pattern.sub(" ", rest)
    tokens = rest.split()
    at = next((i for i, tok in enumerate(tokens) if tok in VERDICTS), None)
    verdict = tokens[at] if at is not None else None
    before = tokens[:at] if at is not None else tokens
    return NftRule(handle, verdict, bool(before) or verdict is None, body.strip())


# -------------------------------------------------------------------- combine


def with_text_lines(parsed: NftRuleset, text: NftRuleset) -> NftRuleset:
    """``parsed`` (from JSON) with each rule's line taken from the ``nft -a`` text by handle, and
    each base chain's priority as the text names it (``filter`` rather than ``0``)."""
    lines = {(c.family, c.table, c.name, r.handle): r.line for c in text.chains for r in c.rules}
    prios = {(c.family, c.table, c.name): c.priority for c in text.chains}
    chains = []
    for c in parsed.chains:
        key = (c.family, c.table, c.name)
        rules = tuple(replace(r, line=lines.get((*key, r.handle), r.line)) if r.handle is not None else r
                      for r in c.rules)
        chains.append(replace(c, rules=rules, priority=prios.get(key) or c.priority))
    return replace(parsed, chains=tuple(chains))


def filter_summary(ruleset: NftRuleset, hooks: Iterable[str] = ("input", "forward")) -> list[dict[str, Any]]:
    """Per IPv4 filter base chain on ``hooks``: policy, final drop rule, accept-all rules."""
    out = []
    for hook in hooks:
        for chain in ruleset.base_chains(hook):
            if chain.type not in {None, "filter"}:
                continue
            final = chain.rules[-1] if chain.rules and chain.rules[-1].drop_all else None
            out.append({
                "family": chain.family, "table": chain.table, "chain": chain.name, "hook": hook,
                "priority": chain.priority, "policy": chain.policy or "accept",
                "declaration": f"{chain.where}: {chain.declaration}",
                "rules": len(chain.rules),
                "final_drop": f"{chain.where}: {final.line}" if final else None,
                "accept_all": [f"{chain.where}: {r.line}" for r in chain.rules if r.accept_all],
            })
    return out
