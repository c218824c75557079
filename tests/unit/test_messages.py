"""Messages are templates with parameters in Chinese and English (``auditor.messages``): the value,
its rendering, the catalogue's rules, reading a rendered message back, and every message the checks,
probes and vendor families define rendered in both languages."""

from __future__ import annotations

import re
import string
from dataclasses import replace
from typing import Any

import pytest

import auditor.engine
import auditor.runner  # noqa: F401 - its evidence descriptions join the catalogue
from auditor.messages import (
    DATA_FIELDS,
    LANGS,
    MessageError,
    Msg,
    both,
    catalogue,
    choice,
    define,
    english,
    fields,
    joined,
    msg,
    recover,
    recoverable,
)
from auditor.model import Artifact, Finding, Severity, Status
from auditor.plugins import load_plugins
from auditor.vendors import families

# every module that defines messages: checks, probes and renderers (entry points), vendor families
PLUGINS = load_plugins()
families()

define({
    "test.hello": ("你好，{name}：{count} 台设备", "hello {name}: {count} device(s)"),
    "test.speed": ("速率 {mbps:.1f} Mbit/s（上限 {limit:g}）", "speed {mbps:.1f} Mbit/s (limit {limit:g})"),
    "test.list": ("端口：{ports}", "ports: {ports}"),
    "test.nested": ("结论：{inner}", "verdict: {inner}"),
    "test.word": ("开启", "on"),
    "test.space": ("{setting} 的默认值", "the default of {setting}"),
    "test.latin": ("无法判断{what}", "cannot judge {what}"),
})
define({  # messages that travel as English text (as a probe's error does) and are read back
    "test.data": ("命令 {command} 说：{why}", "{command} says: {why}"),
    "test.glue": ("{first}；{second}", "{first}; {second}"),
    "test.on": ("在 {device} 上执行 {command}", "{command} on {device}"),
    "test.speed_text": ("速率 {mbps:.1f} Mbit/s（上限 {limit:g}）",
                        "speed {mbps:.1f} Mbit/s (limit {limit:g})"),
    "test.yes": ("开启", "on"),
}, recoverable=True)

# a run of four or more words in Latin letters (as the zh report check counts them)
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[\s,;:()/]+[A-Za-z][A-Za-z'’-]*){3,}")
ASCII_PUNCT = re.compile(r"[,;:()]")
CJK = re.compile(r"[\u3400-\u9fff]")
QUOTED = re.compile(r"`[^`]*`")  # a command quoted as it is typed


def test_a_message_is_a_frozen_hashable_value() -> None:
    a = msg("test.list", ports=["22/tcp", "23/tcp"])
    b = Msg("test.list", {"ports": ("22/tcp", "23/tcp")})
    assert a == b and hash(a) == hash(b) and {a, b} == {a}
    assert a.params["ports"] == ("22/tcp", "23/tcp")  # a list becomes a tuple: nothing can change it
    with pytest.raises(AttributeError):
        a.key = "test.word"  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.params["ports"] = ()  # type: ignore[index]
    assert msg("test.word") != msg("test.list", ports=[])


def test_render_in_both_languages_with_numbers_lists_and_nested_messages() -> None:
    hello = msg("test.hello", name="core-sw", count=3)
    assert hello.render("zh") == "你好，core-sw：3 台设备"
    assert hello.render("en") == str(hello) == hello.en == "hello core-sw: 3 device(s)"
    speed = msg("test.speed", mbps=95.64, limit=90.0)
    assert speed.en == "speed 95.6 Mbit/s (limit 90)" and speed.zh == "速率 95.6 Mbit/s（上限 90）"
    ports = msg("test.list", ports=["22/tcp", "23/tcp"])
    assert ports.en == "ports: 22/tcp, 23/tcp" and ports.zh == "端口：22/tcp、23/tcp"
    nested = msg("test.nested", inner=msg("test.word"))
    assert nested.en == "verdict: on" and nested.zh == "结论：开启"
    clauses = joined([msg("test.word"), "plain text"])
    assert clauses.en == "on; plain text" and clauses.zh == "开启；plain text"
    assert both(nested) == {"zh": "结论：开启", "en": "verdict: on"}
    assert both("quoted as it is") == {"zh": "quoted as it is", "en": "quoted as it is"}
    with pytest.raises(MessageError, match="unknown language"):
        hello.render("fr")


def test_chinese_spacing_where_a_parameter_meets_the_template() -> None:
    assert msg("test.space", setting="Telnet 服务").zh == "Telnet 服务的默认值"  # no space between 务 and 的
    assert msg("test.space", setting="telnet_server").zh == "telnet_server 的默认值"
    assert msg("test.latin", what="Telnet 服务是否开启").zh == "无法判断 Telnet 服务是否开启"
    assert msg("test.latin", what="设备时钟").zh == "无法判断设备时钟"
    assert msg("test.latin", what="Telnet 服务是否开启").en == "cannot judge Telnet 服务是否开启"


def test_a_key_defined_twice_with_other_text_is_an_error() -> None:
    define({"test.hello": ("你好，{name}：{count} 台设备", "hello {name}: {count} device(s)")})  # same: fine
    with pytest.raises(MessageError, match="defined twice"):
        define({"test.hello": ("您好，{name}：{count} 台设备", "hello {name}: {count} device(s)")})
    with pytest.raises(MessageError, match="different fields"):
        define({"test.mismatch": ("{a} 与 {b}", "{a} and {c}")})
    with pytest.raises(MessageError, match="plain name"):
        define({"test.attribute": ("{a.b}", "{a.b}")})
    with pytest.raises(MessageError, match="dotted"):
        define({"Bad Key": ("甲", "a")})


def test_an_unknown_key_or_a_missing_parameter_is_a_clear_error() -> None:
    with pytest.raises(MessageError, match=r"unknown message 'test\.nowhere'"):
        Msg("test.nowhere").render("en")
    with pytest.raises(MessageError, match=r"unknown message 'test\.nowhere'"):
        msg("test.nowhere")
    with pytest.raises(MessageError, match=r"'test\.hello' \(zh\): the template field 'count' has no "):
        Msg("test.hello", {"name": "x"}).render("zh")
    with pytest.raises(MessageError, match="missing count"):
        msg("test.hello", name="x")
    with pytest.raises(MessageError, match="unexpected colour"):
        msg("test.hello", name="x", count=1, colour="red")
    with pytest.raises(MessageError, match="is not a str, number, Msg"):
        Msg("test.list", {"ports": {"a": 1}})


def test_choice_translates_a_known_word_and_leaves_others() -> None:
    assert choice("test", "word") == msg("test.word")
    assert choice("test", "unheard-of") == "unheard-of"


def test_a_rendered_message_is_read_back() -> None:
    inner = english("test.data", command="display version", why=english("test.yes"))
    found = recover(inner)
    assert isinstance(found, Msg) and found.key == "test.data"
    assert found.render("zh") == "命令 display version 说：开启"
    assert found.params["command"] == "display version"  # a data field stays as it is
    original = msg("test.glue", first=found, second=msg("test.speed_text", mbps=1.25, limit=3.0))
    back = recover(original.en)
    # (another message may read the same in English: what is read back renders as the original did)
    assert isinstance(back, Msg) and back.en == original.en and back.zh == original.zh
    assert back.zh == "命令 display version 说：开启；速率 1.2 Mbit/s（上限 3）"
    assert recover("no catalogue message reads like this") == "no catalogue message reads like this"
    # glue only joins messages: two plain texts around "; " are not a message
    assert recover("alpha beta; gamma delta") == "alpha beta; gamma delta"
    # a field that names one thing (a device) holds no spaces: "... on the agent" is no test.on
    on = recover("display version on core-sw")  # (probe.firewall.on_device reads the same)
    assert isinstance(on, Msg) and on.zh == "在 core-sw 上执行 display version"
    assert recover("interface eth9 vanished on the agent") == "interface eth9 vanished on the agent"
    # messages that are not defined recoverable (a check's own) are never read back
    assert recover("hello core-sw: 3 device(s)") == "hello core-sw: 3 device(s)"
    assert recover("backup host 10.0.0.1: directory /x does not exist") == (
        "backup host 10.0.0.1: directory /x does not exist")


def test_the_vendor_families_notes_are_read_back_in_chinese() -> None:
    huawei = families()["huawei"]
    _doc, note = huawei.default("telnet_server", "V200R019C10SPC500")
    found = recover(note)
    assert isinstance(found, Msg) and found.render("en") == note
    zh = found.render("zh")
    assert zh.startswith("软件版本 V200R019C10SPC500；厂商默认值（S 系列 V200R013）：")
    assert not ENGLISH_RUN.search(zh), zh


def test_a_finding_takes_a_message_and_reads_as_english() -> None:
    text = msg("test.hello", name="core-sw", count=2)
    finding = Finding("device.telnet_disabled", "device/core-sw", Status.FAIL, Severity.HIGH, text)
    assert finding.message == "hello core-sw: 2 device(s)" and finding.text == text
    assert "core-sw" in finding.message and finding.message.startswith("hello")
    numbered = replace(finding, id="F0001")  # as the engine numbers findings, and waivers waive them
    assert numbered.text == text and numbered.id == "F0001"
    waived = replace(numbered, status=Status.WAIVED, original_status=Status.FAIL)
    assert waived.text == text
    changed = replace(finding, message="another message")
    assert changed.text == "another message" and changed.message == "another message"
    doc = numbered.to_json()
    assert doc["message"] == "hello core-sw: 2 device(s)"
    assert doc["text"] == {"zh": "你好，core-sw：2 台设备", "en": "hello core-sw: 2 device(s)"}
    plain = Finding("c", "t", Status.ERROR, Severity.LOW, "server busy").to_json()
    assert plain["message"] == "server busy" and plain["text"] == {"zh": "server busy", "en": "server busy"}


def test_an_artifacts_description_is_given_in_both_languages() -> None:
    description = english("probe.ssh_device.output", command="display current-configuration",
                          device="core-sw")
    doc = Artifact("evidence/x.txt", "0" * 64, 1, "text/plain", description).to_json()
    assert doc["description"] == "`display current-configuration` on core-sw (secrets masked)"
    assert doc["text"]["zh"] == "在 core-sw 上执行 `display current-configuration` 的输出（已遮蔽口令等机密）"


# ---------------------------------------------------------------------------- the whole catalogue

def _sample(key: str, lang_safe: str) -> dict[str, Any]:
    """A value for every field of ``key``: a number where the template formats one, else ``lang_safe``."""
    params: dict[str, Any] = {}
    for template in catalogue()[key]:
        for _lit, name, spec, _conv in string.Formatter().parse(template):
            if name is not None:
                params[name] = 1.5 if spec and not spec.endswith("d") else 2 if spec else lang_safe
    return params


REAL = sorted(k for k in catalogue() if not k.startswith("test."))


def test_the_catalogue_is_large_and_covers_checks_probes_and_vendors() -> None:
    prefixes = {k.split(".")[0] for k in REAL}
    assert {"device", "backup", "bandwidth", "ports", "services", "wifi", "firewall", "discovery",
            "vendor", "huawei", "h3c", "cisco", "ruijie", "vrp", "ios", "probe", "check"} <= prefixes
    assert len(REAL) > 300


@pytest.mark.parametrize("key", REAL)
def test_every_message_renders_in_both_languages(key: str) -> None:
    zh_template, en_template = catalogue()[key]
    rendered = msg(key, **_sample(key, "参数")).render("zh")
    assert rendered.strip()
    assert msg(key, **_sample(key, "PARAM")).render("en").strip()
    # the Chinese text itself (parameters and quoted commands aside) has no English sentence in it ...
    assert not ENGLISH_RUN.search(QUOTED.sub("", rendered)), f"{key}: English words in {zh_template!r}"
    # ... and Chinese punctuation: no ASCII , ; : ( ) in the template's own text
    literal = "".join(lit for lit, *_rest in string.Formatter().parse(zh_template))
    assert not ASCII_PUNCT.search(literal), f"{key}: ASCII punctuation in {zh_template!r}"
    if CJK.search(en_template) is None:
        assert fields(key) == tuple(dict.fromkeys(
            name for _l, name, _s, _c in string.Formatter().parse(en_template) if name))


RECOVERABLE = sorted(recoverable() - {k for k in recoverable() if k.startswith("test.")})


def test_the_vendor_families_and_probes_messages_are_read_back() -> None:
    assert {k.split(".")[0] for k in RECOVERABLE} == {"vendor", "vrp", "ios", "huawei", "h3c", "cisco",
                                                      "ruijie", "probe", "engine", "runner"}


@pytest.mark.parametrize("key", RECOVERABLE)
def test_text_the_vendors_and_probes_write_is_read_back_as_the_same_message(key: str) -> None:
    """What travels as English in a fact (a note, a reason, an error) is read back into the message it
    was: the check can show it in Chinese."""
    en = catalogue()[key][1]
    glue = not re.search(r"[A-Za-z]", "".join(lit for lit, *_r in string.Formatter().parse(en)))
    # glue ("{a}; {b}") joins messages: give it messages to join
    params = _sample(key, "x9")
    if glue:
        params = {name: Msg("vendor.not_documented") if name not in DATA_FIELDS and value == "x9" else value
                  for name, value in params.items()}
    original = msg(key, **params)
    text = original.render("en")
    found = recover(text)
    assert isinstance(found, Msg), f"{key}: {text!r} not read back"
    assert found.render("zh") == original.render("zh"), key


def test_messages_that_read_alike_in_english_read_alike_in_chinese() -> None:
    """Reading back cannot tell apart two messages whose English is the same: their Chinese must be
    the same too (single words chosen by ``choice``, such as ``none``, are not read back from notes)."""
    by_english: dict[str, set[str]] = {}
    for key in REAL:
        zh, en = catalogue()[key]
        if " " in en or "{" in en:
            by_english.setdefault(en, set()).add(zh)
    assert not {en: zh for en, zh in by_english.items() if len(zh) > 1}


def test_every_language_is_rendered() -> None:
    assert LANGS == ("zh", "en")
