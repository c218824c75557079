"""Bundles signed with Ed25519 and SM2, every renderer in the manifest, and ``auditor report``.

The bundle comes from a real run whose targets all lie outside the scope allow-list (nothing
is sent anywhere), with every format asked for and an SM2 key beside the Ed25519 one.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from auditor.smcrypto import sm3_hex
from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE

ALL = "html,pdf,md,oscal,xlsx,docx,csv"
FILES = {"report.html", "evidence-index.html", "report.pdf", "report.md", "assessment-results.json",
         "report.xlsx", "report.docx", "findings.csv"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sm2bundle")
    keys = base / "keys"
    res = run_cli("keys", "init", "--sm2", "--key-dir", str(keys))
    assert res.returncode == 0 and "agent-sm2.pub (sm3:" in res.stdout, res.stdout + res.stderr
    inv = base / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    out = base / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023",
                  "-p", "gbt22239-2019-level2", "-o", str(out), "--key-dir", str(keys),
                  "--allow-class-hours", "--format", ALL,
                  env={"SNMP_COMMUNITY": "not-used-here", "AUDITOR_STATE_DIR": str(base / "state")})
    assert res.returncode == 1, res.stdout + res.stderr
    return out


def test_run_ingests_the_verified_bundle_into_history(bundle: Path) -> None:
    state = bundle.parent / "state"
    res = run_cli("history", "--json", env={"AUDITOR_STATE_DIR": str(state)})
    assert res.returncode == 0, res.stderr
    runs = json.loads(res.stdout)["runs"]
    report = json.loads((bundle / "report.json").read_bytes())
    assert [r["run_id"] for r in runs] == [report["run"]["id"]]


def _copy(bundle: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(bundle, dst)
    return dst


def test_every_rendering_is_in_the_signed_manifest(bundle: Path) -> None:
    report = json.loads((bundle / "report.json").read_bytes())
    listed = {r["path"]: r for r in report["renderings"]}
    assert set(listed) == FILES
    for name, entry in listed.items():
        data = (bundle / name).read_bytes()
        assert entry["sm3"] == sm3_hex(data)
    assert report["warnings"] == [] or not any("not rendered" in w for w in report["warnings"])
    assert all(a["sm3"] == sm3_hex((bundle / a["path"]).read_bytes()) for a in report["artifacts"])


def test_verify_checks_both_signatures_and_digests(bundle: Path) -> None:
    res = run_cli("verify", str(bundle))
    assert res.returncode == 0, res.stderr
    assert "verified ed25519, sm2-sm3 signatures and SHA-256, SM3 digests" in res.stdout
    keys = bundle.parent / "keys"
    pinned = run_cli("verify", str(bundle), "--key", str(keys / "agent-ed25519.pub"),
                     "--key", str(keys / "agent-sm2.pub"))
    assert pinned.returncode == 0 and "signer trusted (the pinned keys)" in pinned.stdout, pinned.stderr


def test_stripped_or_forged_sm2_signature_is_named(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    env_path = copy / "report.dsse.json"
    env = json.loads(env_path.read_bytes())
    sm2 = next(s for s in env["signatures"] if s["keyid"].startswith("sm3:"))
    env["signatures"] = [s for s in env["signatures"] if s is not sm2]
    env_path.write_text(json.dumps(env), encoding="utf-8")
    res = run_cli("verify", str(copy))
    assert res.returncode == 1 and "SM2: the envelope carries no signature by key sm3:" in res.stderr
    sig = bytearray(base64.b64decode(sm2["sig"]))
    sig[-3] ^= 0x01
    env["signatures"].append({"keyid": sm2["keyid"], "sig": base64.b64encode(bytes(sig)).decode()})
    env_path.write_text(json.dumps(env), encoding="utf-8")
    res = run_cli("verify", str(copy))
    assert res.returncode == 1 and "SM2: the signature by sm3:" in res.stderr
    assert "does not match" in res.stderr


def test_missing_or_other_sm2_key(bundle: Path, tmp_path: Path) -> None:
    copy = _copy(bundle, tmp_path)
    (copy / "agent-sm2.pub").unlink()
    res = run_cli("verify", str(copy))
    assert res.returncode == 1 and "agent-sm2.pub: missing" in res.stderr
    other = tmp_path / "other"
    assert run_cli("keys", "init", "--sm2", "--key-dir", str(other)).returncode == 0
    res = run_cli("verify", str(bundle), "--key", str(other / "agent-sm2.pub"))
    assert res.returncode == 1 and "the report names SM2 key" in res.stderr


def test_report_rerenders_in_english_after_verifying(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "en"
    res = run_cli("report", str(bundle), "--format", "pdf,html", "--lang", "en", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {"report.pdf", "report.html", "evidence-index.html"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Appendix: evidence files" in html
    # links point back into the bundle, which stays untouched and still verifies
    assert f'href="../../{bundle.parent.name}/audit/evidence/inventory/site.yaml"' in html or \
        "evidence/inventory/site.yaml" in html
    assert run_cli("verify", str(bundle)).returncode == 0


def test_report_renders_the_office_exports_again_byte_for_byte(bundle: Path, tmp_path: Path) -> None:
    """report.xlsx, report.docx and findings.csv depend only on the signed report: rendered again
    by ``auditor report``, they are the files whose digests the bundle signed."""
    out = tmp_path / "again"
    res = run_cli("report", str(bundle), "--format", "xlsx,docx,csv", "--out", str(out))
    assert res.returncode == 0, res.stderr
    names = {"report.xlsx", "report.docx", "findings.csv"}
    assert {p.name for p in out.iterdir()} == names
    signed = {r["path"]: r for r in json.loads((bundle / "report.json").read_bytes())["renderings"]}
    for name in names:
        assert sm3_hex((out / name).read_bytes()) == signed[name]["sm3"], name
        assert f"{name}  sha256 {signed[name]['sha256']}" in res.stdout


@pytest.mark.parametrize("victim", ["report.html", "evidence/inventory/site.yaml", "report.json"])
def test_report_refuses_a_tampered_bundle_naming_the_file(bundle: Path, tmp_path: Path,
                                                         victim: str) -> None:
    copy = _copy(bundle, tmp_path)
    path = copy / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    res = run_cli("report", str(copy), "--format", "html", "--out", str(out))
    assert res.returncode == 1, res.stdout + res.stderr
    assert victim in res.stderr and "nothing rendered" in res.stderr
    assert not out.exists() or not any(out.iterdir())


def test_report_refuses_to_write_into_the_bundle(bundle: Path) -> None:
    res = run_cli("report", str(bundle), "--out", str(bundle))
    assert res.returncode == 2 and "signed bundle" in res.stderr


def test_unknown_format_is_an_input_error_before_probing(tmp_path: Path, key_dir: Path) -> None:
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023",
                  "-o", str(tmp_path / "out"), "--key-dir", str(key_dir), "--format", "html,doc")
    assert res.returncode == 2 and "--format doc: no such renderer" in res.stderr
    assert not (tmp_path / "out").exists()
