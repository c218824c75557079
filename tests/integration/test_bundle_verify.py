"""Signed bundles: verify passes on an intact bundle and names any altered, missing or added file.

The bundle comes from a real run whose every target lies outside the scope allow-list, so the
pipeline runs end to end and refuses to send any traffic.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bundle")
    keys = base / "keys"
    assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    inv = base / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    out = base / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023", "-o", str(out),
                  "--key-dir", str(keys), "--allow-class-hours",
                  env={"SNMP_COMMUNITY": "not-used-here"})
    assert res.returncode == 1, res.stdout + res.stderr  # refused targets are errors, not passes
    return out


def _copy(bundle: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(bundle, dst)
    return dst


def test_refused_targets_are_errors_with_the_reason(bundle: Path) -> None:
    report = json.loads((bundle / "report.json").read_bytes())
    assert report["findings"], "no findings"
    for finding in report["findings"]:
        assert finding["status"] == "error", finding  # never a pass without evidence
        if finding["check"].startswith("services."):  # this inventory has no servers at all
            assert finding["message"] == "the inventory lists no servers to scan"
        elif finding["check"].startswith("wifi."):  # nor a wireless network,
            assert "no 'wifi' section" in finding["message"]
        elif finding["check"].startswith("firewall."):  # a firewall
            assert "lists no boundary firewall" in finding["message"]
        elif finding["check"].startswith("backup."):  # or backups
            assert "lists no backup targets" in finding["message"]
        else:
            assert "outside the inventory's scope allow-list" in finding["message"]
    assert {f["check"] for f in report["findings"]} >= {
        "bandwidth.uplink_goodput", "bandwidth.classroom_goodput", "services.risky_exposed"}
    measured = [i for i in report["indicators"] if i["checks"]]
    assert measured and {i["status"] for i in measured} == {"error"}
    assert not [a for a in report["artifacts"] if not a["path"].startswith("evidence/inventory/")]


def test_intact_bundle_verifies(bundle: Path) -> None:
    res = run_cli("verify", str(bundle))
    assert res.returncode == 0, res.stderr
    assert "OK:" in res.stdout and "sha256:" in res.stdout


def test_pinned_key(bundle: Path, tmp_path: Path) -> None:
    shipped = bundle / "agent-ed25519.pub"
    inside = run_cli("verify", str(bundle), "--key", str(shipped))
    assert inside.returncode == 2 and "inside the bundle, so it proves nothing" in inside.stderr
    own = bundle.parent / "keys" / "agent-ed25519.pub"
    res = run_cli("verify", str(bundle), "--key", str(own))
    assert res.returncode == 0 and "signer trusted (the pinned key)" in res.stdout, res.stderr
    other = tmp_path / "other"
    assert run_cli("keys", "init", "--key-dir", str(other)).returncode == 0
    res = run_cli("verify", str(bundle), "--key", str(other / "agent-ed25519.pub"))
    assert res.returncode == 1 and "no signature by key" in res.stderr


@pytest.mark.parametrize("name", ["report.json", "report.md", "evidence/inventory/site.yaml"])
def test_one_changed_byte_is_named(bundle: Path, tmp_path: Path, name: str) -> None:
    copy = _copy(bundle, tmp_path)
    target = copy / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    res = run_cli("verify", str(copy))
    assert res.returncode == 1
    assert name in res.stderr and "Traceback" not in res.stderr


def test_missing_and_added_files_are_named(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "evidence/inventory/site.yaml").unlink()
    (copy / "evidence/extra.json").write_text("{}")
    res = run_cli("verify", str(copy))
    assert res.returncode == 1
    assert "evidence/inventory/site.yaml: missing" in res.stderr
    assert "evidence/extra.json: not part of the signed report" in res.stderr


def test_forged_signature_fails(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    env_path = copy / "report.dsse.json"
    env = json.loads(env_path.read_text())
    sig = bytearray(env["signatures"][0]["sig"].encode())
    sig[5] = ord("A") if sig[5] != ord("A") else ord("B")
    env["signatures"][0]["sig"] = sig.decode()
    env_path.write_text(json.dumps(env))
    res = run_cli("verify", str(copy))
    assert res.returncode == 1 and "does not match" in res.stderr


def test_envelope_garbage_and_not_a_bundle(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "report.dsse.json").write_text("{not json")
    res = run_cli("verify", str(copy))
    assert res.returncode == 1 and "report.dsse.json is not valid JSON" in res.stderr
    res = run_cli("verify", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "not a directory" in res.stderr


def test_out_dir_must_be_new(bundle: Path, tmp_path: Path) -> None:
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    keys = bundle.parent / "keys"
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023",
                  "-o", str(bundle), "--key-dir", str(keys))
    assert res.returncode == 2 and "not empty" in res.stderr


def test_private_key_mode_and_unsafe_key_refused(tmp_path: Path) -> None:
    keys = tmp_path / "k"
    assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    private = keys / "agent-ed25519.pem"
    assert private.stat().st_mode & 0o777 == 0o600
    again = run_cli("keys", "init", "--key-dir", str(keys))
    assert again.returncode == 0 and again.stdout.startswith("exists")
    private.chmod(0o644)
    res = run_cli("keys", "show", "--key-dir", str(keys))
    assert res.returncode == 2 and "chmod 600" in res.stderr
