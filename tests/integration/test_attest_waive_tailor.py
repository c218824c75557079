"""Attestations, waivers and site tailoring through the CLI, into a signed, scored bundle.

Every probe target lies outside the scope allow-list, so nothing is sent anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.paths import DATA as TEST_DATA

MINI = str(TEST_DATA / "profiles/mini-scored.yaml")
TAILORING = """
tailoring:
  - profile: mini-scored
    item: env.net.1
    check: bandwidth.classroom_goodput
    params: {min_mbps: 50}
    reason: 旧教学楼布线暂未改造
"""
WAIVERS = """\
schema: 1
waivers:
  - check: bandwidth.classroom_goodput
    target: classroom/room101/*
    reason: 教室改造中
    approver: 张校长
    start: 2026-01-01
    expires: 2099-12-31
    risk: medium
  - item: mini-scored:env.safe.2
    reason: 已过期
    approver: 张校长
    start: 2020-01-01
    expires: 2020-12-31
    risk: low
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    base = tmp_path_factory.mktemp("scored")
    store = base / "attestations"
    doc = base / "无线覆盖说明.pdf"
    doc.write_bytes(b"%PDF-1.4 wifi coverage plan")
    res = run_cli("attest", "mini-scored:env.net.2", "--evidence", str(doc), "--by", "王老师",
                  "--role", "信息中心主任", "--profile", MINI, "--store", str(store))
    assert res.returncode == 0, res.stderr
    res = run_cli("attest", "env.safe.1", "--evidence", str(doc), "--by", "李老师", "--role", "主任",
                  "--expires", "2020-06-30", "--profile", MINI, "--store", str(store))
    assert res.returncode == 0, res.stderr
    inv = base / "site.yaml"
    inv.write_text(OUT_OF_SCOPE + TAILORING, encoding="utf-8")
    waivers = base / "waivers.yaml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    keys = base / "keys"
    assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    out = base / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", MINI, "-o", str(out), "--key-dir", str(keys),
                  "--attestations", str(store), "--waivers", str(waivers), "--allow-class-hours")
    assert res.returncode == 1, res.stdout + res.stderr
    return out, json.loads((out / "report.json").read_bytes())


def _items(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {i["indicator"]: i for i in report["indicators"]}  # type: ignore[attr-defined]


def test_waived_finding_keeps_its_real_status(bundle: tuple[Path, dict[str, object]]) -> None:
    report = bundle[1]
    waived = [f for f in report["findings"] if f["check"] == "bandwidth.classroom_goodput"]  # type: ignore[attr-defined]
    assert waived and all(f["status"] == "waived" and f["original_status"] == "error" for f in waived)
    assert waived[0]["waiver"]["approver"] == "张校长"


def test_weakened_threshold_fails_the_item(bundle: tuple[Path, dict[str, object]]) -> None:
    item = _items(bundle[1])["env.net.1"]
    assert item["status"] == "fail"
    assert "threshold weakened below what the standard requires" in str(item["reason"])
    assert "旧教学楼布线暂未改造" in str(item["reason"])


def test_attestations_count_until_they_expire(bundle: tuple[Path, dict[str, object]]) -> None:
    out, report = bundle
    items = _items(report)
    assert items["env.net.2"]["status"] == "pass" and "王老师" in str(items["env.net.2"]["attested_by"])
    assert items["env.safe.1"]["status"] == "manual"
    assert any("expired on 2020-06-30" in w for w in report["warnings"])  # type: ignore[attr-defined]
    assert any("waiver for mini-scored:env.safe.2" in w for w in report["warnings"])  # type: ignore[attr-defined]
    copied = [a for a in report["artifacts"] if a["path"].startswith("evidence/attestations/files/")]  # type: ignore[attr-defined]
    assert copied and (out / copied[0]["path"]).read_bytes() == b"%PDF-1.4 wifi coverage plan"


def test_scores_follow_the_rules(bundle: tuple[Path, dict[str, object]]) -> None:
    score = bundle[1]["scores"][0]  # type: ignore[index]
    by_id = {g["id"]: g for top in score["groups"] for g in [top, *top["groups"]]}
    assert by_id["env.net"]["earned"] == 1.0  # items 1 (fail) and 3 (manual) missing: 2 - 2 x 0.5
    assert [x["item"] for x in by_id["env.net"]["lost_by"]] == ["env.net.1", "env.net.3"]
    assert by_id["env.safe"]["earned"] == 0  # both missing: 都不符合得0分
    assert by_id["apps"]["earned"] == 0
    assert (score["total"], score["possible"]) == (1.0, 7)


def test_bundle_verifies_and_score_command(bundle: tuple[Path, dict[str, object]]) -> None:
    out, _ = bundle
    assert run_cli("verify", str(out)).returncode == 0
    res = run_cli("score", str(out))
    assert res.returncode == 0 and "1 / 7" in res.stdout and "高性能设施环境" in res.stdout
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "待人工证明" in md and "mini-scored:env.safe.1" in md and "张校长" in md


def test_attest_rejects_unknown_items_and_missing_files(tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    res = run_cli("attest", "no.such.item", "--evidence", str(doc), "--by", "a", "--role", "b",
                  "--profile", MINI, "--store", str(tmp_path / "s"))
    assert res.returncode == 2 and "not an item" in res.stderr
    res = run_cli("attest", "env.net.2", "--evidence", str(tmp_path / "nope.pdf"), "--by", "a",
                  "--role", "b", "--profile", MINI, "--store", str(tmp_path / "s"))
    assert res.returncode == 2 and "not a readable file" in res.stderr


def test_bad_waiver_file_is_a_clear_error(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.replace("    approver: 张校长\n", "", 1).replace("risk: low", "risk: tiny"))
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    keys = tmp_path / "k"
    run_cli("keys", "init", "--key-dir", str(keys))
    res = run_cli("run", "-q", "-i", str(inv), "-p", MINI, "-o", str(tmp_path / "o"),
                  "--key-dir", str(keys), "--waivers", str(waivers))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{waivers}:3: waivers[0].approver: required field is missing" in res.stderr
    assert "waivers[1].risk" in res.stderr


def test_tailoring_an_unknown_item_is_an_input_error(tmp_path: Path) -> None:
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE + TAILORING.replace("env.net.1", "env.net.9"), encoding="utf-8")
    keys = tmp_path / "k"
    run_cli("keys", "init", "--key-dir", str(keys))
    res = run_cli("run", "-q", "-i", str(inv), "-p", MINI, "-o", str(tmp_path / "o"),
                  "--key-dir", str(keys))
    assert res.returncode == 2 and "no item 'env.net.9'" in res.stderr


def test_score_of_something_that_is_not_a_report(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text('{"findings": []}')
    res = run_cli("score", str(other))
    assert res.returncode == 2 and "not a campus-auditor report" in res.stderr
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
