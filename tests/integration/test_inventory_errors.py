"""Bad inventories: each mistake gives a clear message naming file, line and field; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import GOOD

# (case id, text replaced, replacement, expected message parts, marker of the expected line)
CASES = [
    ("malformed-yaml", "  allow: [10.200.0.0/16]", "  allow: [10.200.0.0/16",
     ["invalid YAML"], None),
    ("unknown-top-key", "version: 1\n", "version: 1\nschol: x\n",
     ["schol", "unknown field"], "schol: x"),
    ("missing-school-name", "  name: 测试学校\n", "",
     ["school.name", "required field is missing"], "school:"),
    ("bad-cidr", "[10.200.0.0/16]", "[10.200.0.0/33]", ["scope.allow[0]"], "allow:"),
    ("bad-address", "address: 10.200.11.2", "address: 10.200.11.300",
     ["classrooms[0].endpoint.address", "10.200.11.300"], "endpoint:"),
    ("inline-secret", "community: {env: SNMP_COMMUNITY}", "community: public",
     ["devices[0].snmp.community", "inline secrets are not allowed"], "community: public"),
    ("duplicate-classroom-id", "devices:\n",
     "  - id: room101\n    name: again\ndevices:\n", ["duplicate id 'room101'"], None),
    ("unknown-device-ref", "access_port: {device: sw1,", "access_port: {device: sw9,",
     ["sw9", "not in 'devices'"], None),
    ("port-out-of-range", "endpoint: {address: 10.200.11.2}",
     "endpoint: {address: 10.200.11.2, port: 70000}", ["classrooms[0].endpoint.port"],
     "endpoint:"),
    ("duplicate-yaml-key", "  code: T-1\n", "  code: T-1\n  code: T-2\n",
     ["duplicate key 'code'"], "code: T-2"),
    ("bad-id", "- id: room101", "- id: Room 101", ["classrooms[0].id"], "id: Room 101"),
    ("both-env-and-secret", "{env: SNMP_COMMUNITY}", "{env: SNMP_COMMUNITY, secret: c}",
     ["exactly one of 'env' or 'secret'"], None),
    ("unknown-vendor", "vendor: huawei", "vendor: huawai", ["devices[0].vendor"], "vendor:"),
    ("wrong-type", "version: 1\n", "version: one\n", ["version"], "version: one"),
    ("class-hours-reversed", "version: 1\n",
     "version: 1\nschedule:\n  class_hours:\n    - {days: [mon], start: '12:00', end: '08:00'}\n",
     ["schedule.class_hours[0]", "'end' must be after 'start'"], None),
]


def _line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


@pytest.mark.parametrize(("case", "old", "new", "expected", "marker"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_inventory_is_a_clear_error(tmp_path: Path, case: str, old: str, new: str,
                                        expected: list[str], marker: str | None) -> None:
    assert old in GOOD, case
    text = GOOD.replace(old, new, 1)
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    res = run_cli("validate", str(path))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert str(path) in res.stderr
    for part in expected:
        assert part in res.stderr, f"{part!r} not in {res.stderr!r}"
    if marker is not None:
        assert f"{path}:{_line_of(text, marker)}:" in res.stderr, res.stderr


def test_good_inventory_validates(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(GOOD, encoding="utf-8")
    res = run_cli("validate", str(path))
    assert res.returncode == 0, res.stderr
    assert "1 classrooms" in res.stdout


@pytest.mark.parametrize(("content", "expected"), [
    (None, "file not found"),
    (b"", "the file is empty"),
    (b"school: \xff\xfe\n", "not UTF-8"),
])
def test_unreadable_inventory(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "site.yaml"
    if content is not None:
        path.write_bytes(content)
    res = run_cli("validate", str(path))
    assert res.returncode == 2
    assert expected in res.stderr and "Traceback" not in res.stderr


def test_run_with_bad_inventory_exits_2_before_probing(tmp_path: Path, key_dir: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(GOOD.replace("vendor: huawei", "vendor: huawai"), encoding="utf-8")
    out = tmp_path / "out"
    res = run_cli("run", "-i", str(path), "-p", "beijing-smart-campus-2023", "-o", str(out),
                  "--key-dir", str(key_dir))
    assert res.returncode == 2
    assert "devices[0].vendor" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_run_with_unknown_profile_and_bad_set(tmp_path: Path, key_dir: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(GOOD, encoding="utf-8")
    res = run_cli("run", "-i", str(path), "-p", "no-such-profile", "-o", str(tmp_path / "o"),
                  "--key-dir", str(key_dir))
    assert res.returncode == 2 and "unknown profile 'no-such-profile'" in res.stderr
    res = run_cli("run", "-i", str(path), "-p", "beijing-smart-campus-2023", "-o",
                  str(tmp_path / "o"), "--key-dir", str(key_dir),
                  "--set", "iperf3.bandwidth.runs=0")
    assert res.returncode == 2 and "iperf3.bandwidth" in res.stderr and "runs" in res.stderr
    assert "Traceback" not in res.stderr


def test_run_without_key_says_how_to_create_one(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(GOOD, encoding="utf-8")
    res = run_cli("run", "-i", str(path), "-p", "beijing-smart-campus-2023", "-o",
                  str(tmp_path / "o"), "--key-dir", str(tmp_path / "nokeys"))
    assert res.returncode == 2 and "auditor keys init" in res.stderr
