"""Messages in the reader's language: templates with parameters, not English strings with numbers
inside.

A :class:`Msg` is a catalogue key and its parameters (``msg("device.not_audited", device="core-sw",
address="10.0.0.1")``); :meth:`Msg.render` gives it in Chinese (``zh``) or English (``en``). The
catalogue maps each key to its two ``str.format`` templates with named fields; the module that owns
a message registers it at import with :func:`define` (a key defined twice with different text is an
error at import). Quoted data (configuration lines, commands, file names, device ids, interface
names, numbers) goes in as parameters and is never translated.

Parameters may be:

- a :class:`Msg`, rendered in the same language;
- a list or tuple, its items rendered and joined with ``、`` (zh) or ``, `` (en); :func:`joined`
  joins with ``；`` / ``; `` instead;
- a number, formatted by the field's format spec exactly as an f-string would (``{mbps:.1f}``);
- a string (or None), inserted as it is.

In Chinese, a space is put between a Chinese character and a Latin letter or digit where a
parameter meets the template's text, and a template's space between two Chinese characters is
dropped (``{setting} 的默认值`` reads ``Telnet 服务的默认值``); the parameters themselves are left as
they are.

Some text reaches a check as a plain string: the vendor families' notes and reasons travel inside
typed facts (``auditor.facts.Known.note``), a probe's error reaches its check as the fact's
``error``, and an evidence file's description is a plain string in its record. Each is written by
rendering a catalogue message in English (:func:`english`), so :func:`recover` can turn the string
back into the message it was rendered from; a string that is no such message stays what it is.
Only messages defined ``recoverable=True`` are read back, and a field named in :data:`DATA_FIELDS`
holds quoted data (a command, a device id, a configuration line) that is never read as a message.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

LANGS = ("zh", "en")
# Field names that always hold quoted data (never translated, never recovered as a message).
# Of those, the ones that name one thing (a device id, an address): no spaces in them.
WORD_FIELDS = frozenset({"address", "area", "device", "host", "interface", "probe", "segment", "sha",
                         "target", "zone"})
DATA_FIELDS = frozenset({
    "address", "area", "command", "descr", "device", "diff", "domain", "family", "file", "head", "host",
    "hosts", "interface", "keyword", "line", "lines", "method", "name", "names", "new", "old", "path",
    "pattern", "ports", "probe", "prompt", "protocols", "purpose", "reply", "scheme", "section", "segment",
    "servers", "sha", "software", "tail", "target", "terminator", "time", "tried", "user", "users",
    "version", "zone"})
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9]")
_KEY = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)+$")
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
# Separators of a list parameter, by join kind: (zh, en).
_JOINS: dict[str, tuple[str, str]] = {"join.list": ("、", ", "), "join.semicolon": ("；", "; ")}


class MessageError(ValueError):
    """A message that cannot be defined or rendered: an unknown key, a field without a parameter, a
    key defined twice with different text. A programming error, found by the tests."""


class _Params(Mapping[str, Any]):
    """A message's parameters: immutable and hashable (lists become tuples)."""

    __slots__ = ("_items",)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self._items = {str(k): _frozen(k, v) for k, v in params.items()}

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items(), key=lambda kv: kv[0])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return repr(self._items)


def _frozen(name: object, value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, Msg)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(name, v) for v in value)
    raise MessageError(f"message parameter {name!r}: {type(value).__name__} is not a str, number, Msg or "
                       "list of them (convert it with str() where it is quoted data)")


@dataclass(frozen=True)
class Msg:
    """A catalogue message: its key and parameters. Frozen and hashable; ``str()`` is English."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.params, _Params):
            object.__setattr__(self, "params", _Params(self.params))

    def render(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``)."""
        if lang not in LANGS:
            raise MessageError(f"unknown language {lang!r} (known: {', '.join(LANGS)})")
        if self.key in _JOINS:
            items = self.params.get("items", ())
            sep = _JOINS[self.key][LANGS.index(lang)]
            return sep.join(_Formatter(lang).format_field(item, "") for item in items)
        templates = _CATALOGUE.get(self.key)
        if templates is None:
            raise MessageError(f"unknown message {self.key!r}: no catalogue entry defines it (is the "
                               "module that defines it imported?)")
        template = templates[LANGS.index(lang)]
        try:
            if lang == "zh":
                return _Formatter(lang).spaced(template, self.params)
            return _Formatter(lang).vformat(template, (), self.params)
        except KeyError as exc:
            raise MessageError(f"message {self.key!r} ({lang}): the template field {exc.args[0]!r} has no "
                               f"parameter (given: {', '.join(sorted(self.params)) or 'none'})") from None
        except (ValueError, TypeError) as exc:
            raise MessageError(f"message {self.key!r} ({lang}): {exc}") from None

    @property
    def en(self) -> str:
        return self.render("en")

    @property
    def zh(self) -> str:
        return self.render("zh")

    def __str__(self) -> str:
        return self.render("en")


class _Formatter(string.Formatter):
    """``str.format`` with parameters rendered in one language (messages, lists)."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int):
            raise KeyError(key)
        return kwargs[key]

    def spaced(self, template: str, params: Mapping[str, Any]) -> str:
        """``template`` filled, with Chinese spacing where a parameter meets the template's text."""
        out = ""
        for literal, name, spec, conversion in self.parse(template):
            out = _meet(out, literal, literal_after=True)
            if name is not None:
                value = self.convert_field(self.get_value(name, (), params), conversion)
                out = _meet(out, self.format_field(value, spec or ""), literal_after=False)
        return out

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Msg):
            return format(value.render(self.lang), format_spec)
        if isinstance(value, tuple):
            sep = _JOINS["join.list"][LANGS.index(self.lang)]
            return sep.join(self.format_field(v, format_spec) for v in value)
        return format(value, format_spec)


def _meet(left: str, right: str, literal_after: bool) -> str:
    """``left + right`` where a template's text meets a parameter (Chinese only): a space between a
    Chinese character and a Latin letter or digit; a template's space between two Chinese characters
    dropped. ``literal_after``: ``right`` is template text (else ``left`` ends with template text)."""
    if not left or not right:
        return left + right
    if (literal_after and right[0] == " " and len(right) > 1 and _CJK.match(left[-1])
            and _CJK.match(right[1])):
        return left + right[1:]
    if (not literal_after and left[-1] == " " and len(left) > 1 and _CJK.match(left[-2])
            and _CJK.match(right[0])):
        return left[:-1] + right
    if (_CJK.match(left[-1]) and _LATIN.match(right[0])) or (_LATIN.match(left[-1]) and _CJK.match(right[0])):
        return left + " " + right
    return left + right


# ---------------------------------------------------------------------------- the catalogue

_CATALOGUE: dict[str, tuple[str, str]] = {}
_RECOVERABLE: set[str] = set()


def _fields(key: str, template: str) -> tuple[tuple[str, str], ...]:
    """The (name, format spec) of each field of ``template``; MessageError when it is not one."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise MessageError(f"message {key!r}: bad template {template!r}: {exc}") from None
    out = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _FIELD.match(name):
            raise MessageError(f"message {key!r}: field {name!r} of {template!r} is not a plain name "
                               "(no positions, attributes or indexes)")
        if conversion:
            raise MessageError(f"message {key!r}: field {name!r} uses a conversion (!{conversion}); "
                               "quote the value before passing it")
        out.append((name, spec or ""))
    return tuple(out)


def define(entries: Mapping[str, tuple[str, str]], *, recoverable: bool = False) -> None:
    """Register messages: key -> (Chinese template, English template). Both templates must use the
    same fields; a key already defined with other text is an error.

    ``recoverable``: these messages travel as English text (a vendor family's note in a fact, a
    probe's error, an evidence file's description) and :func:`recover` reads them back; other
    messages are built where they are shown and never read back."""
    for key, pair in entries.items():
        if not _KEY.match(key):
            raise MessageError(f"message key {key!r} is not dotted lower-case words (area.name)")
        if key in _JOINS:
            raise MessageError(f"message key {key!r} is reserved")
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise MessageError(f"message {key!r}: give (zh template, en template)")
        zh, en = pair
        zh_fields = {name for name, _spec in _fields(key, zh)}
        en_fields = {name for name, _spec in _fields(key, en)}
        if zh_fields != en_fields:
            raise MessageError(f"message {key!r}: the zh and en templates use different fields "
                               f"(zh: {sorted(zh_fields)}, en: {sorted(en_fields)})")
        known = _CATALOGUE.get(key)
        if known is not None and known != pair:
            raise MessageError(f"message {key!r} is defined twice with different text: {known!r} and "
                               f"{pair!r}")
        _CATALOGUE[key] = pair
        if recoverable:
            _RECOVERABLE.add(key)
    _patterns.cache_clear()
    _recover.cache_clear()
    recover.cache_clear()


def recoverable() -> frozenset[str]:
    """The keys of the messages :func:`recover` reads back (defined ``recoverable``)."""
    return frozenset(_RECOVERABLE)


def catalogue() -> Mapping[str, tuple[str, str]]:
    """Every defined message: key -> (zh, en). A copy."""
    return dict(_CATALOGUE)


def fields(key: str) -> tuple[str, ...]:
    """The parameter names of message ``key`` (in the order the English template uses them)."""
    if key not in _CATALOGUE:
        raise MessageError(f"unknown message {key!r}")
    return tuple(dict.fromkeys(name for name, _spec in _fields(key, _CATALOGUE[key][1])))


def msg(key: str, /, **params: Any) -> Msg:
    """The message ``key`` with ``params``, checked now: the key is defined and the parameters are
    exactly its template's fields."""
    if key not in _CATALOGUE:
        raise MessageError(f"unknown message {key!r}: no catalogue entry defines it")
    wanted = set(fields(key))
    if set(params) != wanted:
        missing, extra = sorted(wanted - set(params)), sorted(set(params) - wanted)
        raise MessageError(f"message {key!r}: parameters do not match its fields"
                           + (f"; missing {', '.join(missing)}" if missing else "")
                           + (f"; unexpected {', '.join(extra)}" if extra else ""))
    return Msg(key, params)


def english(key: str, /, **params: Any) -> str:
    """The English rendering of ``msg(key, **params)``: for text that must travel as a plain string
    (a fact's note, an exception's message) and is turned back with :func:`recover`."""
    return msg(key, **params).render("en")


def joined(items: Iterable[Any], /) -> Msg:
    """``items`` joined with ``；`` (zh) or ``; `` (en): a list of clauses rather than of words."""
    return Msg("join.semicolon", {"items": tuple(items)})


def listed(items: Iterable[Any], /) -> Msg:
    """``items`` joined with ``、`` (zh) or ``, `` (en), as a list parameter is."""
    return Msg("join.list", {"items": tuple(items)})


def choice(prefix: str, value: str) -> Msg | str:
    """The message ``prefix.value`` when the catalogue has it (a word such as a status or a protocol
    state in the reader's language), else ``value`` as it is."""
    key = f"{prefix}.{value}"
    return Msg(key, {}) if key in _CATALOGUE and not fields(key) else value


def both(text: str | Msg) -> dict[str, str]:
    """``{"zh": ..., "en": ...}``: a message in both languages; a plain string is the same in both."""
    if isinstance(text, Msg):
        return {lang: text.render(lang) for lang in LANGS}
    return {lang: text for lang in LANGS}


def render(text: str | Msg, lang: str) -> str:
    """``text`` in ``lang``: a message rendered, a plain string as it is."""
    return text.render(lang) if isinstance(text, Msg) else text


# ---------------------------------------------------------------------------- recovering a message


@dataclass(frozen=True)
class _Pattern:
    key: str
    literals: tuple[str, ...]  # the text around the fields: len(fields) + 1 pieces
    fields: tuple[tuple[str, str], ...]
    weight: int  # characters of literal text: a longer match is the better explanation
    glue: bool  # no letters outside the fields ("{a}; {b}"): needs a message among its fields


@lru_cache(maxsize=1)
def _patterns() -> tuple[_Pattern, ...]:
    out = []
    for key, (_zh, en) in _CATALOGUE.items():
        if key not in _RECOVERABLE:
            continue
        parsed = list(string.Formatter().parse(en))
        literals: list[str] = []
        names: list[tuple[str, str]] = []
        for literal, name, spec, _conversion in parsed:
            if literals and len(literals) > len(names):
                literals[-1] += literal  # two literals in a row (an escaped brace)
            else:
                literals.append(literal)
            if name is not None:
                names.append((name, spec or ""))
        if len(literals) == len(names):
            literals.append("")
        if any(not lit for lit in literals[1:-1]) or not "".join(literals).strip():
            continue  # two fields side by side (where one ends cannot be told), or no text but spaces
        text = "".join(literals)
        out.append(_Pattern(key, tuple(literals), tuple(names), len(text),
                            glue=not re.search(r"[A-Za-z]", text)))
    return tuple(out)


def _splits(text: str, literals: tuple[str, ...], start: int) -> Iterator[list[str]]:
    """Every way of cutting ``text[start:]`` into non-empty field values separated by ``literals``
    (``literals[0]`` already matched before ``start``; the last one ends the text)."""
    if len(literals) == 1:
        if start < len(text) - len(literals[0]) and text.endswith(literals[0]):
            yield [text[start:len(text) - len(literals[0])]]
        return
    sep, rest = literals[0], literals[1:]
    at = text.find(sep, start + 1)
    while at != -1:
        for tail in _splits(text, rest, at + len(sep)):
            yield [text[start:at], *tail]
        at = text.find(sep, at + 1)


def _number(value: str, spec: str) -> float | int | None:
    try:
        if spec.endswith("%"):
            return float(value.rstrip("%")) / 100
        if spec.endswith("d"):
            return int(value)
        return float(value)
    except ValueError:
        return None


def _parse(pattern: _Pattern, values: list[str]) -> tuple[int, Msg] | None:
    """``pattern`` with these field values, and its weight; None when a value does not fit its field."""
    params: dict[str, Any] = {}
    weight, nested = pattern.weight, 0
    for (name, spec), value in zip(pattern.fields, values, strict=True):
        if spec:
            number = _number(value, spec)
            if number is None or format(number, spec) != value:
                return None
            params[name] = number
            continue
        if name in WORD_FIELDS and any(c.isspace() for c in value):
            return None
        found = _recover(value) if name not in DATA_FIELDS else value
        if isinstance(found, tuple):
            weight += found[0]
            nested += 1
            params[name] = found[1]
        else:
            params[name] = value
            if pattern.glue:
                weight -= 1  # glue joins messages: a parse that glues plain text is the weaker
    if pattern.glue and not nested:
        return None
    return weight, Msg(pattern.key, params)


def _explain(text: str) -> tuple[int, Msg] | None:
    """The best parse of ``text`` as a message (its weight: literal characters explained)."""
    best: tuple[int, Msg] | None = None
    for pattern in _patterns():
        head = pattern.literals[0]
        if not text.startswith(head) or not text.endswith(pattern.literals[-1]):
            continue
        if not pattern.fields:
            if text == head:
                return len(text), Msg(pattern.key, {})
            continue
        if any(lit not in text for lit in pattern.literals[1:-1]):
            continue
        for values in _splits(text, pattern.literals[1:], len(head)):
            found = _parse(pattern, values)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
    return best


@lru_cache(maxsize=65536)
def _recover(text: str) -> tuple[int, Msg] | str:
    found = _explain(text) if text else None
    if found is None or found[1].render("en") != text:
        return text
    return found


@lru_cache(maxsize=65536)
def recover(text: str) -> Msg | str:
    """The catalogue message whose English rendering ``text`` is, with its parameters (those that
    are themselves messages recovered too); ``text`` itself when it is none. For text that reached a
    check as a plain string (see the module docstring)."""
    found = _recover(text)
    return found[1] if isinstance(found, tuple) else found


def recovered(text: str | Msg | None) -> str | Msg:
    """``text`` as a message where it can be one: :func:`recover` for a string ('' for None)."""
    if text is None:
        return ""
    return text if isinstance(text, Msg) else recover(text)


define({
    "text.none": ("无", "none"),
    "text.unknown": ("未知", "unknown"),
})

# The district's alerts (``auditor.alerts``): what a school's alert says, from the structured data
# the rules read (the district's own reasons are English only).
define({
    "alerts.dir_down": ("下行", "downstream"),
    "alerts.dir_up": ("上行", "upstream"),
    "alerts.down": ("{name}（{code}）断网：最近 {minutes:g} 分钟的探测全部丢失",
                    "{name} ({code}) is down: every reach probe of the last {minutes:g} min was lost"),
    "alerts.silent_never": ("{name}（{code}）审计代理尚无心跳",
                            "{name} ({code}): no heartbeat from its agent yet"),
    "alerts.silent_since": ("{name}（{code}）审计代理自 {time} 起无心跳",
                            "{name} ({code}): no heartbeat from its agent since {time}"),
    "alerts.degraded_loss": ("{name}（{code}）网络质量下降：最近 {minutes:g} 分钟丢包率 {loss:.1f}%",
                             "{name} ({code}) is degraded: loss {loss:.1f}% over the last {minutes:g} min"),
    "alerts.degraded_tests": ("{name}（{code}）网络质量下降：最近 {m} 次吞吐测试中至少 {k} 次低于合同速率的 "
                              "{percent:g}%",
                              "{name} ({code}) is degraded: at least {k} of the last {m} throughput tests "
                              "below {percent:g}% of the contract"),
    "alerts.throughput": ("{name}（{code}）链路 {uplink}（{provider}）{direction}："
                          "最近 {m} 次有效测试中 {k} 次低于合同速率 {contract:g} Mbit/s 的 {percent:g}%，"
                          "实测 {rates} Mbit/s",
                          "{name} ({code}) uplink {uplink} ({provider}) {direction}: {k} of the last {m} "
                          "valid tests below {percent:g}% of the contracted {contract:g} Mbit/s; measured "
                          "{rates} Mbit/s"),
    "alerts.loss": ("{name}（{code}）丢包率 {loss:.1f}%，超过 {limit:g}%"
                    "（最近 {minutes:g} 分钟，{sent} 个探测包）",
                    "{name} ({code}): loss {loss:.1f}% is above {limit:g}% (last {minutes:g} min, {sent} "
                    "probes)"),
    "alerts.regression": ("{name}（{code}）审计结果退步（审计 {run}，{time}）：{what}",
                          "{name} ({code}): the audit got worse (run {run}, {time}): {what}"),
    "alerts.score_fell": ("北京市智慧校园得分从 {before:g} 降到 {after:g}（满分 {possible:g}）",
                          "the Beijing score fell from {before:g} to {after:g} of {possible:g}"),
    "alerts.checks_failed": ("上次通过、本次不通过的检查 {n} 项：{checks}",
                             "{n} check(s) passed last time and fail now: {checks}"),
    "alerts.more": ("等 {n} 项", "and {n} more"),
    "alerts.cert_expiring": ("证书 {path}（{subject}）将于 {time} 到期，还剩 {days} 天",
                             "certificate {path} ({subject}) expires on {time}, in {days} day(s)"),
    "alerts.cert_expired": ("证书 {path}（{subject}）已于 {time} 过期",
                            "certificate {path} ({subject}) expired on {time}"),
    "alerts.cert_unreadable": ("无法读取证书 {path}：{reason}",
                               "cannot read the certificate {path}: {reason}"),
    "alerts.jobs": ("{name}（{code}）有远程检查未被审计代理领取：{jobs}",
                    "{name} ({code}) has jobs its agent did not pick up: {jobs}"),
    "alerts.job_waiting": ("{job}（{profiles}）自 {time} 起可执行，已等待 {minutes:g} 分钟",
                           "{job} ({profiles}) due since {time}, waiting {minutes:g} min"),
    "alerts.job_expired": ("{job}（{profiles}）的时间窗口已于 {time} 结束，未被领取",
                           "{job} ({profiles}): its window closed at {time} before the agent claimed it"),
    "alerts.job_lapsed": ("{job}（{profiles}）已被领取，但租约于 {time} 到期仍无结果",
                          "{job} ({profiles}) was claimed, but its lease ran out at {time} without a result"),
})

# The monitoring timeline of an audit's report (``auditor.monitor.report_summary``, rendered by
# ``auditor.reports``): why a report has no monitoring data, and what the timeline says.
define({
    "monitoring.no_store": ("没有监测数据：{path} 不存在"
                            "（本机未运行 auditor monitor run，或其数据保存在别处）",
                            "no monitoring data: {path} does not exist (auditor monitor run has not run "
                            "on this computer, or keeps its samples elsewhere)"),
    "monitoring.unreadable": ("没有监测数据：无法读取 {path}：{detail}",
                              "no monitoring data: {path} could not be read: {detail}"),
    "monitoring.empty_store": ("没有监测数据：{path} 中没有任何样本",
                               "no monitoring data: {path} holds no samples"),
    "monitoring.outside_window": ("没有监测数据：{path} 中的样本（{first} 至 {last}）"
                                  "都不在审计前 {days} 天内",
                                  "no monitoring data: the samples in {path} ({first} to {last}) all lie "
                                  "outside the {days} days before the audit"),
    "monitoring.other_school": ("没有监测数据：{path} 中审计前 {days} 天的样本属于其他学校（{schools}），"
                                "不属于 {school}",
                                "no monitoring data: the samples in {path} of the {days} days before the "
                                "audit are of another school ({schools}), not of {school}"),
    "monitoring.unattributed": ("没有监测数据：{path} 中的样本未注明所属学校",
                                "no monitoring data: the samples in {path} do not say which school they "
                                "are of"),
    "monitoring.not_read": ("没有监测数据：本次审计未读取监测数据（定时审计或区级远程检查）",
                            "no monitoring data: this audit did not read a monitoring store (a scheduled "
                            "audit or a district job)"),
    "monitoring.summary": ("审计前 {days} 天（{start} 至 {end}）：监测代理在线 {uptime}，探测丢包率 {loss}，"
                           "DNS 解析失败 {dns_failures} 次；吞吐测试 {tests} 次，"
                           "其中 {below} 次低于合同速率，"
                           "{invalid} 次无效；断网次数：{outages}。",
                           "The {days} days before the audit ({start} to {end}): the monitor was up {uptime} "
                           "of the time, reach loss {loss}, {dns_failures} DNS failures; {tests} throughput "
                           "tests, {below} below the contracted rate and {invalid} invalid; outages: "
                           "{outages}."),
    "monitoring.source": ("数据来源：{path}，共 {samples} 个样本（{first} 至 {last}），监测代理 {agents}",
                          "Source: {path}, {samples} samples ({first} to {last}), monitor on {agents}"),
    "monitoring.not_measured": ("未测量", "not measured"),
})
