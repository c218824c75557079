"""Data tests for the GB/T 22239-2019 level profiles (schema 2).

These read the YAML directly with ``yaml.safe_load``: they check the encoding of the standard (clause
numbers, letters, level membership, the few honest measurements), not the project's profile loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import yaml

from tests.support.paths import ROOT as REPO

PROFILES = REPO / "profiles" / "auditor" / "profiles"
LEVELS = (1, 2, 3)
CHAPTER = {1: "6", 2: "7", 3: "8"}

TOP_KEYS = {"schema", "id", "title", "version", "source", "scoring", "level", "notes", "probe_settings",
            "groups"}
GROUP_KEYS = {"id", "number", "title"}
ITEM_KEYS = {"id", "number", "text", "checks", "manual", "notes"}
BANDWIDTH_CHECKS = {"bandwidth.uplink_goodput", "bandwidth.classroom_goodput", "ports.uplink_speed",
                    "ports.classroom_speed"}
SERVICE_CHECKS = {"services.risky_exposed", "services.unexpected_open"}
FIREWALL_DENY = {"firewall.default_drop", "firewall.published_only"}
OUTBOUND = {"firewall.outbound_blocked"}
# a line that asks no login, or a shared line password, identifies nobody (身份鉴别 a)
ACCOUNTS = {"device.no_default_accounts", "device.no_plaintext_passwords", "device.line_login_required",
            "device.line_passwords_without_users"}
# audit records carry the date and time: the clock must be synchronised and right (安全审计 b)
CLOCK = {"device.ntp", "device.clock_synced"}
LOGIN_FAILURE = {"device.login_lockout", "device.idle_timeout"}
DEFAULTS = {"device.no_default_accounts", "snmp.default_community", "device.snmp_hardened"}
PORTS = SERVICE_CHECKS | {"device.telnet_disabled", "device.http_mgmt_secure", "device.unused_ports_down"}
REMOTE_MGMT = {"device.telnet_disabled", "device.ssh_v2_only", "device.http_mgmt_secure"}
MGMT_ACL = {"device.mgmt_acl", "firewall.mgmt_not_exposed"}
SYSLOG = {"device.remote_syslog"}
BACKUP = {"backup.fresh", "backup.size", "backup.restore_tested"}
# Every item that cites a measurement, and exactly what it cites. Each of these items keeps a
# manual part too: the measurement covers the network devices, servers and boundary the
# inventory names, not everything the requirement speaks of.
MEASURED: dict[str, set[str]] = {
    "6.1.3.2.a": FIREWALL_DENY, "6.1.3.2.c": OUTBOUND, "6.1.4.1.a": ACCOUNTS, "6.1.4.1.b": LOGIN_FAILURE,
    "6.1.4.2.b": DEFAULTS, "6.1.4.3.b": PORTS, "6.1.4.7.a": BACKUP,
    "7.1.3.2.a": FIREWALL_DENY, "7.1.3.2.c": OUTBOUND, "7.1.4.1.a": ACCOUNTS, "7.1.4.1.b": LOGIN_FAILURE,
    "7.1.4.1.c": REMOTE_MGMT, "7.1.4.2.b": DEFAULTS, "7.1.4.3.a": SYSLOG, "7.1.4.3.b": CLOCK,
    "7.1.4.3.c": SYSLOG, "7.1.4.4.b": PORTS, "7.1.4.4.c": MGMT_ACL, "7.1.4.8.a": BACKUP,
    "7.1.4.8.b": {"backup.offsite"},
    "8.1.2.1.b": BANDWIDTH_CHECKS, "8.1.3.1.b": {"discovery.unknown_hosts", "discovery.rogue_dhcp"},
    "8.1.3.1.c": OUTBOUND, "8.1.3.1.d": {"wifi.security", "wifi.rogue"}, "8.1.3.2.a": FIREWALL_DENY,
    "8.1.3.2.c": OUTBOUND, "8.1.4.1.a": ACCOUNTS, "8.1.4.1.b": LOGIN_FAILURE, "8.1.4.1.c": REMOTE_MGMT,
    "8.1.4.2.b": DEFAULTS, "8.1.4.3.a": SYSLOG, "8.1.4.3.b": CLOCK, "8.1.4.3.c": SYSLOG,
    "8.1.4.4.b": PORTS, "8.1.4.4.c": MGMT_ACL, "8.1.4.9.a": BACKUP, "8.1.4.9.b": {"backup.offsite"},
    "8.1.5.4.d": SYSLOG,
}
KNOWN_CHECKS = set().union(*MEASURED.values())
L3PLUS = "L3+"
MAX_TEXT = 40

# Technical classes per level. Level 1 has no 安全管理中心; the management classes (x.1.6-x.1.10, at level 1
# 6.1.5-6.1.9) are deliberately not encoded.
CLASSES: dict[int, list[str]] = {
    1: ["安全物理环境", "安全通信网络", "安全区域边界", "安全计算环境"],
    2: ["安全物理环境", "安全通信网络", "安全区域边界", "安全计算环境", "安全管理中心"],
    3: ["安全物理环境", "安全通信网络", "安全区域边界", "安全计算环境", "安全管理中心"],
}

# Control points per class, in the standard's order (so their numbers are x.1.n.1, x.1.n.2, ...).
PHYSICAL_23 = ["物理位置选择", "物理访问控制", "防盗窃和防破坏", "防雷击", "防火", "防水和防潮", "防静电",
               "温湿度控制", "电力供应", "电磁防护"]
CONTROL_POINTS: dict[int, dict[str, list[str]]] = {
    1: {
        "安全物理环境": ["物理访问控制", "防盗窃和防破坏", "防雷击", "防火", "防水和防潮", "温湿度控制",
                   "电力供应"],
        "安全通信网络": ["通信传输", "可信验证"],
        "安全区域边界": ["边界防护", "访问控制", "可信验证"],
        "安全计算环境": ["身份鉴别", "访问控制", "入侵防范", "恶意代码防范", "可信验证", "数据完整性",
                   "数据备份恢复"],
    },
    2: {
        "安全物理环境": PHYSICAL_23,
        "安全通信网络": ["网络架构", "通信传输", "可信验证"],
        "安全区域边界": ["边界防护", "访问控制", "入侵防范", "恶意代码防范", "安全审计", "可信验证"],
        "安全计算环境": ["身份鉴别", "访问控制", "安全审计", "入侵防范", "恶意代码防范", "可信验证",
                   "数据完整性", "数据备份恢复", "剩余信息保护", "个人信息保护"],
        "安全管理中心": ["系统管理", "审计管理"],
    },
    3: {
        "安全物理环境": PHYSICAL_23,
        "安全通信网络": ["网络架构", "通信传输", "可信验证"],
        "安全区域边界": ["边界防护", "访问控制", "入侵防范", "恶意代码和垃圾邮件防范", "安全审计",
                   "可信验证"],
        "安全计算环境": ["身份鉴别", "访问控制", "安全审计", "入侵防范", "恶意代码防范", "可信验证",
                   "数据完整性", "数据保密性", "数据备份恢复", "剩余信息保护", "个人信息保护"],
        "安全管理中心": ["系统管理", "审计管理", "安全管理", "集中管控"],
    },
}

# Level-3 items per class, as counted by GB/T 28448-2019's level-3 test units (L3-PES1, -CNS1, -ABS1,
# -CES1, -SMC1) in a public checklist mapping: an independent cross-check of the item sets.
LEVEL3_ITEMS_PER_CLASS = {"安全物理环境": 22, "安全通信网络": 8, "安全区域边界": 20, "安全计算环境": 34,
                          "安全管理中心": 12}

# Levels are cumulative, but the numbers are not all carried over. Exceptions in the standard:
#  * level 3 inserts 8.1.4.8 数据保密性, so level 2's 7.1.4.8 数据备份恢复, 7.1.4.9 剩余信息保护 and
#    7.1.4.10 个人信息保护 are 8.1.4.9-8.1.4.11 at level 3 (the numbers 8.1.4.8-10 exist, but name other
#    control points);
#  * level 2's 7.1.3.4 恶意代码防范 is 8.1.3.4 恶意代码和垃圾邮件防范 at level 3.
L2_TO_L3_RENUMBERED = {"7.1.4.8": "8.1.4.9", "7.1.4.9": "8.1.4.10", "7.1.4.10": "8.1.4.11"}
L2_TO_L3_RETITLED = {"7.1.3.4": "恶意代码和垃圾邮件防范"}

# Items the reference notes call "L3+" (from level 3 on), as level-3 ids.
REFERENCE_L3PLUS = ["8.1.2.1.a", "8.1.2.1.b", "8.1.2.1.e", "8.1.3.1.b", "8.1.3.1.c", "8.1.3.1.d",
                    "8.1.3.2.e", "8.1.3.5.d", "8.1.4.1.d", "8.1.4.4.f", "8.1.4.9.c", "8.1.5.4.a",
                    "8.1.5.4.f"]

Node = dict[str, Any]


@cache
def load(level: int) -> Node:
    path = PROFILES / f"gbt22239-2019-level{level}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def classes(level: int) -> list[Node]:
    groups = load(level)["groups"]
    assert isinstance(groups, list)
    return groups


def control_points(level: int) -> Iterator[tuple[Node, Node]]:
    """(class group, control-point group) pairs in file order."""
    for cls in classes(level):
        for point in cls["groups"]:
            yield cls, point


def items(level: int) -> Iterator[tuple[Node, Node]]:
    """(control-point group, item) pairs in file order."""
    for _, point in control_points(level):
        for it in point["items"]:
            yield point, it


def points_by_number(level: int) -> dict[str, Node]:
    return {point["number"]: point for _, point in control_points(level)}


def is_l3plus(it: Node) -> bool:
    return any(str(note).startswith(L3PLUS) for note in it["notes"])


@pytest.mark.parametrize("level", LEVELS)
def test_top_level_shape(level: int) -> None:
    data = load(level)
    assert set(data) == TOP_KEYS
    assert data["schema"] == 2
    assert data["level"] == level
    assert data["id"] == f"gbt22239-2019-level{level}"
    assert data["version"] == "2019"
    assert data["scoring"] == "status"
    assert data["probe_settings"] == {}
    assert isinstance(data["source"], str)
    assert "\n" not in data["source"].strip()
    assert data["notes"]
    assert all(isinstance(n, str) and n for n in data["notes"])


@pytest.mark.parametrize("level", LEVELS)
def test_group_and_item_keys(level: int) -> None:
    for cls in classes(level):
        assert set(cls) == GROUP_KEYS | {"groups"}, cls.get("id")
        for point in cls["groups"]:
            assert set(point) == GROUP_KEYS | {"items"}, point.get("id")
            assert point["items"], point["id"]
            for it in point["items"]:
                assert set(it) == ITEM_KEYS, it.get("id")
                for key in ("checks", "manual", "notes"):
                    assert isinstance(it[key], list), (it["id"], key)


@pytest.mark.parametrize("level", LEVELS)
def test_group_ids_are_ascii_slugs_and_unique(level: int) -> None:
    ids = [cls["id"] for cls in classes(level)] + [p["id"] for _, p in control_points(level)]
    assert len(ids) == len(set(ids))
    for cls, point in control_points(level):
        assert re.fullmatch(rf"l{level}\.[a-z0-9-]+", cls["id"]), cls["id"]
        assert point["id"].startswith(cls["id"] + "."), point["id"]
        assert re.fullmatch(r"[a-z0-9.-]+", point["id"]), point["id"]


@pytest.mark.parametrize("level", LEVELS)
def test_numbers_follow_the_chapter_and_the_parent(level: int) -> None:
    chapter = CHAPTER[level]
    for n, cls in enumerate(classes(level), start=1):
        assert cls["number"] == f"{chapter}.1.{n}"
        for m, point in enumerate(cls["groups"], start=1):
            assert point["number"] == f"{cls['number']}.{m}"
    for point, it in items(level):
        assert it["id"].startswith(chapter + ".1."), it["id"]
        assert point["number"].startswith(chapter + ".1."), point["number"]


@pytest.mark.parametrize("level", LEVELS)
def test_item_ids_unique_and_built_from_parent_and_letter(level: int) -> None:
    ids = [it["id"] for _, it in items(level)]
    assert len(ids) == len(set(ids))
    for point, it in items(level):
        assert it["id"] == f"{point['number']}.{it['number']}"


@pytest.mark.parametrize("level", LEVELS)
def test_letters_run_a_b_c_within_each_control_point(level: int) -> None:
    for _, point in control_points(level):
        letters = [it["number"] for it in point["items"]]
        assert letters == [chr(ord("a") + i) for i in range(len(letters))], point["number"]


@pytest.mark.parametrize("level", LEVELS)
def test_classes_and_control_points_match_the_standard(level: int) -> None:
    assert [cls["title"] for cls in classes(level)] == CLASSES[level]
    for cls in classes(level):
        assert [p["title"] for p in cls["groups"]] == CONTROL_POINTS[level][cls["title"]], cls["title"]


def test_level1_has_no_security_management_centre() -> None:
    assert "6.1.5" not in {cls["number"] for cls in classes(1)}
    assert all(cls["title"] != "安全管理中心" for cls in classes(1))


@pytest.mark.parametrize("level", LEVELS)
def test_management_classes_are_left_out(level: int) -> None:
    last = len(CLASSES[level])
    assert [cls["number"] for cls in classes(level)][-1] == f"{CHAPTER[level]}.1.{last}"
    assert any("out of scope" in note for note in load(level)["notes"])


def test_level3_item_counts_match_gbt28448_units() -> None:
    for cls in classes(3):
        count = sum(len(p["items"]) for p in cls["groups"])
        assert count == LEVEL3_ITEMS_PER_CLASS[cls["title"]], cls["title"]


@pytest.mark.parametrize("level", LEVELS)
def test_texts_are_short_chinese_paraphrases(level: int) -> None:
    for _, it in items(level):
        text = it["text"]
        assert isinstance(text, str) and text.strip() == text and text, it["id"]
        assert len(text) <= MAX_TEXT, (it["id"], len(text))
        assert re.search(r"[\u4e00-\u9fff]", text), it["id"]


@pytest.mark.parametrize("level", LEVELS)
def test_every_item_has_checks_or_a_manual_attestation(level: int) -> None:
    for _, it in items(level):
        assert it["checks"] or it["manual"], it["id"]
        assert all(isinstance(m, str) and m for m in it["manual"]), it["id"]
        assert all(isinstance(n, str) and n for n in it["notes"]), it["id"]


@pytest.mark.parametrize("level", LEVELS)
def test_only_existing_checks_with_valid_params(level: int) -> None:
    for _, it in items(level):
        for check in it["checks"]:
            assert set(check) == {"check", "params"}, it["id"]
            assert check["check"] in KNOWN_CHECKS, (it["id"], check["check"])
            params = check["params"]
            assert isinstance(params, dict), it["id"]
            assert set(params) <= {"min_mbps", "max_age_hours"}, it["id"]
            if "min_mbps" in params:
                value = params["min_mbps"]
                assert isinstance(value, int | float) and not isinstance(value, bool), it["id"]
                assert value > 0, it["id"]


def test_measurements_only_where_honest() -> None:
    """Only the items in MEASURED cite checks, each exactly its own; 入侵防范 b) (unneeded services
    and high-risk ports closed) cites the exposed-services scan at every level; every measured item
    keeps a manual part, since no measurement covers the whole requirement."""
    with_checks = {it["id"]: it for level in LEVELS for _, it in items(level) if it["checks"]}
    assert set(with_checks) == set(MEASURED)
    for item_id, item in with_checks.items():
        assert {c["check"] for c in item["checks"]} == MEASURED[item_id], item_id
        assert item["manual"], item_id
    assert with_checks["8.1.2.1.b"]["manual"], "peak-hour adequacy still needs the school's attestation"
    for item_id in ("6.1.4.3.b", "7.1.4.4.b", "8.1.4.4.b"):
        assert with_checks[item_id]["text"] == "关闭不需要的系统服务、默认共享和高危端口", item_id
    # level 3 asks for real-time off-site backup: the age limit is tightened, never loosened
    offsite = next(c for c in with_checks["8.1.4.9.b"]["checks"] if c["check"] == "backup.offsite")
    assert offsite["params"] == {"max_age_hours": 26}


def test_level2_control_points_reappear_at_level3() -> None:
    l3 = points_by_number(3)
    for _, point in control_points(2):
        number = point["number"]
        target = L2_TO_L3_RENUMBERED.get(number, "8" + number[1:])
        assert target in l3, number
        expected_title = L2_TO_L3_RETITLED.get(number, point["title"])
        assert l3[target]["title"] == expected_title, (number, target)
        # every level-2 control point number also exists at level 3 (renumbered ones name another point)
        assert "8" + number[1:] in l3, number


def test_level1_control_points_reappear_at_level2() -> None:
    l2 = {(cls["title"], p["title"]) for cls, p in control_points(2)}
    for cls, point in control_points(1):
        assert (cls["title"], point["title"]) in l2, point["number"]


def test_l3plus_items_are_marked_and_absent_at_level2() -> None:
    l3_items = {it["id"]: it for _, it in items(3)}
    for item_id in REFERENCE_L3PLUS:
        assert is_l3plus(l3_items[item_id]), item_id
    l2_texts = {it["text"] for _, it in items(2)}
    for _, it in items(3):
        if is_l3plus(it):
            assert it["text"] not in l2_texts, it["id"]
    assert not any(is_l3plus(it) for level in (1, 2) for _, it in items(level))


def test_level2_counterparts_lack_exactly_the_l3plus_items() -> None:
    """Each level-3 control point = its level-2 counterpart plus the items marked L3+."""
    from_l2 = {L2_TO_L3_RENUMBERED.get(p["number"], "8" + p["number"][1:]): p for _, p in control_points(2)}
    for _, point in control_points(3):
        added = sum(is_l3plus(it) for it in point["items"])
        counterpart = from_l2.get(point["number"])
        if counterpart is None:  # new at level 3 (8.1.4.8, 8.1.5.3, 8.1.5.4)
            assert added == len(point["items"]), point["number"]
        else:
            assert len(counterpart["items"]) == len(point["items"]) - added, point["number"]


def test_reference_examples_are_absent_at_level2() -> None:
    l2 = points_by_number(2)
    assert len(l2["7.1.2.1"]["items"]) == 2  # zoning and isolation only (no capacity, bandwidth, redundancy)
    assert len(l2["7.1.3.1"]["items"]) == 1  # controlled interfaces only
    assert len(l2["7.1.4.1"]["items"]) == 3  # no two-factor item
    architecture = " ".join(it["text"] for it in l2["7.1.2.1"]["items"])
    for word in ("带宽", "处理能力", "冗余"):
        assert word not in architecture, word
    boundary = " ".join(it["text"] for it in l2["7.1.3.1"]["items"])
    for word in ("非授权", "无线"):
        assert word not in boundary, word
    authentication = " ".join(it["text"] for it in l2["7.1.4.1"]["items"])
    assert "两种" not in authentication


@pytest.mark.parametrize("level", LEVELS)
def test_uncertainties_are_recorded(level: int) -> None:
    notes = " ".join(load(level)["notes"])
    assert "Uncertain" in notes
    assert "paraphrase" in notes
