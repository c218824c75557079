"""The Beijing smart-campus profile's data against its source, 附件1 北京市智慧校园达标认定标准（中小学）.

The criteria document is parsed here on its own (not with the project's loader, and not from the
YAML): 一级 headers with their points and "*" marks, 二级 names with points, the 自评分说明 rule
lines, the full-points rules, and the numbered (or unnumbered) 三级 monitoring points. The YAML is
read with ``yaml.safe_load`` and must quote all of it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from tests.support.paths import ROOT as REPO

ROOT = REPO
PROFILE = ROOT / "profiles" / "auditor" / "profiles" / "beijing-smart-campus-2023.yaml"
SEEDS = REPO.parent / "shared" / "seeds"
CRITERIA = SEEDS / "beijing-smart-campus-certification-criteria.txt"

DIMENSION_POINTS = [10, 20, 16, 10, 10, 10, 10, 6, 8]
NUMERALS = "一二三四五六七八九"
MEASURED_ITEM = "smart-env.facilities.1"
MEASURED_CHECKS = [
    {"check": "bandwidth.uplink_goodput", "params": {"min_mbps": 900}, "bounds": {"min_mbps": {"min": 900}}},
    {"check": "bandwidth.classroom_goodput", "params": {"min_mbps": 90}, "bounds": {"min_mbps": {"min": 90}}},
    {"check": "ports.uplink_speed", "params": {"min_mbps": 1000}, "bounds": {"min_mbps": {"min": 1000}}},
    {"check": "ports.classroom_speed", "params": {"min_mbps": 100}, "bounds": {"min_mbps": {"min": 100}}},
]

TOP_KEYS = ["schema", "id", "title", "version", "source", "scoring", "notes", "probe_settings", "groups"]
DIMENSION_KEYS = ["id", "number", "title", "points", "star", "override_rule", "groups"]
SUB_KEYS = ["id", "title", "points", "rule", "deduction", "items"]
ITEM_KEYS = ["id", "number", "text", "checks", "manual", "notes"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

# --- an independent parser for the criteria text -------------------------------------------------

_HEADER = re.compile(
    r"^[（(](?P<num>[一二三四五六七八九])[）)]\s*(?P<title>.+?)\s*(?P<star>\*)?\s*(?:[（(](?P<pts>\d+)分[）)])?$"
)
_POINTS = re.compile(r"^[（(](?P<pts>\d+)分[）)]$")
_NAMED_POINTS = re.compile(r"^(?P<name>.+?)\s*[（(](?P<pts>\d+)分[）)]$")
_NUMBERED = re.compile(r"^(?P<num>[0-9０-９]+)\s*[.．]\s*(?P<text>.+)$")
_DEDUCTION = re.compile(r"缺1项扣(?P<d>\d+(?:\.\d+)?)分")
_FOOTNOTE = "一级指标中带"
_ENDS = ("；", ";", "。")


@dataclass
class Sub:
    """A 二级指标 as printed: name, points, rule line, monitoring points as (number, text)."""

    title: str
    points: int
    rule: str = ""
    items: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Dim:
    """A 一级指标 as printed; ``number`` is None where the document omits it."""

    number: str | None
    title: str
    points: int | None
    star: bool
    full_points_rule: str | None = None
    subs: list[Sub] = field(default_factory=list)


Token = tuple[str, re.Match[str] | str]


def _classify(line: str) -> Token:
    for kind, pattern in (("header", _HEADER), ("points", _POINTS), ("named", _NAMED_POINTS)):
        m = pattern.match(line)
        if m:
            return kind, m
    if line.startswith("考察"):
        return "rule", line
    m = _NUMBERED.match(line)
    if m:
        return "item", m
    if line.endswith(_ENDS):
        return "text", line
    return "fragment", line


def _tokens(text: str) -> list[Token]:
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    start = next(i for i, line in enumerate(lines) if _HEADER.match(line))
    out: list[Token] = []
    i = start
    while i < len(lines) and _FOOTNOTE not in lines[i]:
        line = lines[i]
        if line.startswith("在“"):  # a full-points rule, possibly split over lines
            while not line.endswith("。"):
                i += 1
                line += lines[i]
            out.append(("full", line))
        else:
            out.append(_classify(line))
        i += 1
    return out


def _to_int(digits: str) -> int:
    return int(digits.translate(str.maketrans("０１２３４５６７８９", "0123456789")))


class _Builder:
    def __init__(self) -> None:
        self.dims: list[Dim] = []
        self.names: list[str] = []
        self.header_points_pending = False

    @property
    def sub(self) -> Sub:
        return self.dims[-1].subs[-1]

    def header(self, m: re.Match[str]) -> None:
        self.names = []
        pts = int(m["pts"]) if m["pts"] else None
        if self.dims and self.dims[-1].number == m["num"]:  # the document repeats header lines
            assert pts in (None, self.dims[-1].points)
        else:
            self.dims.append(Dim(m["num"], m["title"].strip(), pts, bool(m["star"])))
        self.header_points_pending = pts is None

    def points(self, pts: int, next_kind: str | None) -> None:
        if self.header_points_pending:
            assert self.dims[-1].points in (None, pts)
            self.dims[-1].points = pts
            self.header_points_pending = False
            return
        name = "".join(self.names)
        self.names = []
        if next_kind in ("fragment", "named"):  # a 一级 header printed without its number
            self.dims.append(Dim(None, name, pts, star=False))
        else:
            self.dims[-1].subs.append(Sub(name, pts))

    def feed(self, token: Token, next_kind: str | None) -> None:
        kind, value = token
        if isinstance(value, re.Match):
            if kind == "header":
                self.header(value)
            elif kind == "points":
                self.points(int(value["pts"]), next_kind)
            elif kind == "named":
                self.names = [value["name"]]
                self.points(int(value["pts"]), next_kind)
            else:
                self.sub.items.append((_to_int(value["num"]), value["text"]))
        elif kind == "rule":
            self.sub.rule = value
        elif kind == "full":
            self.dims[-1].full_points_rule = value
        elif kind == "text":  # a monitoring point printed without its number
            self.sub.items.append((len(self.sub.items) + 1, value))
        else:
            self.names.append(value)


def parse_criteria(text: str) -> list[Dim]:
    tokens = _tokens(text)
    builder = _Builder()
    for i, token in enumerate(tokens):
        builder.feed(token, tokens[i + 1][0] if i + 1 < len(tokens) else None)
    return builder.dims


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doc() -> list[Dim]:
    if not CRITERIA.is_file():
        pytest.skip(f"criteria document not available: {CRITERIA}")
    return parse_criteria(CRITERIA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    data = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _subs(profile: dict[str, Any]) -> list[dict[str, Any]]:
    return [sub for dim in profile["groups"] for sub in dim["groups"]]


def _items(profile: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for sub in _subs(profile) for item in sub["items"]]


def _pairs(doc: list[Dim], profile: dict[str, Any]) -> list[tuple[Sub, dict[str, Any]]]:
    doc_subs = [sub for dim in doc for sub in dim.subs]
    yaml_subs = _subs(profile)
    assert len(yaml_subs) == len(doc_subs)
    return list(zip(doc_subs, yaml_subs, strict=True))


# --- the parser itself -----------------------------------------------------------------------------


def test_parser_reads_the_whole_document(doc: list[Dim]) -> None:
    assert [d.points for d in doc] == DIMENSION_POINTS
    assert [d.number for d in doc] == [*NUMERALS[:7], None, NUMERALS[8]]  # 附件1 omits （八）
    for dim in doc:
        assert dim.subs and dim.title
        for sub in dim.subs:
            assert sub.rule.startswith("考察") and sub.items, sub.title
            assert [n for n, _ in sub.items] == list(range(1, len(sub.items) + 1)), sub.title
    assert sum(len(sub.items) for dim in doc for sub in dim.subs) == 126


# --- the profile against the document --------------------------------------------------------------


def test_nine_dimensions_with_their_points(doc: list[Dim], profile: dict[str, Any]) -> None:
    dims = profile["groups"]
    assert [d["points"] for d in dims] == DIMENSION_POINTS == [d.points for d in doc]
    assert sum(d["points"] for d in dims) == 100


def test_dimension_titles_numbers_and_stars(doc: list[Dim], profile: dict[str, Any]) -> None:
    for i, (want, got) in enumerate(zip(doc, profile["groups"], strict=True)):
        assert got["title"] == want.title
        assert got["number"] == f"（{want.number or NUMERALS[i]}）"
        assert got["star"] is want.star, want.title
    assert [d.title for d in doc if d.star] == ["应用融合创新", "学校教育数据及应用", "互联网服务及应用"]
    missing = [d for d in doc if d.number is None]
    assert [d.title for d in missing] == ["信息安全与可信环境"]
    assert any("信息安全与可信环境" in n and "（八）" in n for n in profile["notes"])


def test_override_rules_exactly_where_the_document_writes_one(
    doc: list[Dim], profile: dict[str, Any]
) -> None:
    for want, got in zip(doc, profile["groups"], strict=True):
        if want.star:
            assert want.full_points_rule, want.title
        # 数字资源 carries a full-points rule without a "*": it is encoded too (and noted)
        assert got["override_rule"] == want.full_points_rule, want.title
    for want in doc:
        if want.full_points_rule and not want.star:
            assert any(want.full_points_rule in n for n in profile["notes"]), want.title


def test_sub_dimension_titles_and_points(doc: list[Dim], profile: dict[str, Any]) -> None:
    for want, got in zip(doc, profile["groups"], strict=True):
        assert [s["title"] for s in got["groups"]] == [s.title for s in want.subs]
        assert [s["points"] for s in got["groups"]] == [s.points for s in want.subs]
        assert sum(s["points"] for s in got["groups"]) == got["points"], want.title


def test_rules_and_deductions(doc: list[Dim], profile: dict[str, Any]) -> None:
    for want, got in _pairs(doc, profile):
        assert got["rule"] == want.rule, want.title
        m = _DEDUCTION.search(want.rule)
        if m:
            assert got["deduction"] == pytest.approx(float(m["d"])), want.title
        else:  # no formula written (前沿探索, 课题研究): all or nothing, a single point each
            assert len(want.items) == 1, want.title
            assert got["deduction"] is None, want.title


def test_monitoring_points_quoted_exactly(doc: list[Dim], profile: dict[str, Any]) -> None:
    for want, got in _pairs(doc, profile):
        assert len(got["items"]) == len(want.items), want.title
        for (number, text), item in zip(want.items, got["items"], strict=True):
            assert item["number"] == number
            assert item["text"] == text


def test_total_monitoring_points(doc: list[Dim], profile: dict[str, Any]) -> None:
    assert len(_items(profile)) == sum(len(s.items) for d in doc for s in d.subs)


def test_irregular_rules_are_noted(profile: dict[str, Any]) -> None:
    """A rule without a deduction, or whose deduction × points ≠ the group's points, has a note."""
    for sub in _subs(profile):
        written = _DEDUCTION.search(sub["rule"])
        if not written or abs(sub["deduction"] * len(sub["items"]) - sub["points"]) > 1e-9:
            assert any(sub["id"] in n and "Irregular" in n for n in profile["notes"]), sub["id"]


# --- shape, ids and evidence -----------------------------------------------------------------------


def test_schema_shape(profile: dict[str, Any]) -> None:
    assert list(profile) == TOP_KEYS
    assert profile["schema"] == 2 and profile["id"] == "beijing-smart-campus-2023"
    assert profile["title"] == "北京市智慧校园达标认定标准（中小学）"
    assert profile["version"] == "2023" and profile["scoring"] == "deduction"
    assert isinstance(profile["source"], str) and "\n" not in profile["source"]
    assert all(isinstance(n, str) and n for n in profile["notes"])
    for dim in profile["groups"]:
        assert list(dim) == DIMENSION_KEYS
        for sub in dim["groups"]:
            assert list(sub) == SUB_KEYS
            for item in sub["items"]:
                assert list(item) == ITEM_KEYS
                assert all(isinstance(n, str) and n for n in item["notes"])


def test_probe_settings(profile: dict[str, Any]) -> None:
    assert profile["probe_settings"] == {
        "iperf3.bandwidth": {"duration_s": 5, "omit_s": 1, "runs": 3},
        "snmp.port_speed": {"timeout_s": 2, "retries": 1},
    }


def test_ids_are_unique_hierarchical_slugs(profile: dict[str, Any]) -> None:
    seen: set[str] = set()
    for dim in profile["groups"]:
        for node, parent in [(dim, None)] + [(sub, dim["id"]) for sub in dim["groups"]]:
            assert SLUG.match(node["id"]) and node["id"] not in seen
            assert parent is None or node["id"].startswith(parent + ".")
            seen.add(node["id"])
        for sub in dim["groups"]:
            for item in sub["items"]:
                assert item["id"] == f"{sub['id']}.{item['number']}" and item["id"] not in seen
                seen.add(item["id"])


def test_measured_and_attested_items(profile: dict[str, Any]) -> None:
    items = _items(profile)
    measured = {item["id"]: item for item in items if item["checks"]}
    assert list(measured) == [MEASURED_ITEM, "smart-env.facilities.2", "infosec.systems.1",
                              "infosec.systems.2"]
    assert measured[MEASURED_ITEM]["checks"] == MEASURED_CHECKS
    cited = {k: {c["check"] for c in v["checks"]} for k, v in measured.items()}
    assert cited["smart-env.facilities.2"] == {"wifi.signal"}
    assert cited["infosec.systems.1"] == {"services.risky_exposed", "services.unexpected_open",
                                          "firewall.default_drop", "firewall.published_only",
                                          "firewall.outbound_blocked"}
    assert cited["infosec.systems.2"] == {"backup.fresh", "backup.size", "backup.restore_tested"}
    assert measured["smart-env.facilities.2"]["manual"], "the 5G pilot still needs attesting"
    assert measured["infosec.systems.1"]["manual"], "anti-virus, IDS and auditing still need attesting"
    assert measured["infosec.systems.2"]["manual"], "fast recovery still needs its evidence"
    assert measured[MEASURED_ITEM]["manual"] == [
        "光纤接入互联网或教育城域网 (fibre access to the internet or the education metro network)"
    ]
    for item in items:
        assert isinstance(item["manual"], list) and item["manual"], item["id"]
        assert all(isinstance(m, str) and m for m in item["manual"]), item["id"]
