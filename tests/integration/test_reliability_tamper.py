"""Tampering: one flipped byte in each file of a bundle in turn, one file deleted in turn, one
added; every case must be detected and the file named. A bundle re-signed by another key is
accepted only without a pinned key (``--key``) or trusted keys (``--trusted-keys DIR``).

The bundle comes from a real run whose targets lie outside the scope (nothing is sent), with
every non-PDF rendering, an SM2 key, an attestation and an authorisation document, so it holds
each kind of file a bundle can hold except the pcaps and tool outputs of a lab run (the lab
suite runs the same sweep on a full demo bundle).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from auditor.bundle import canonical
from auditor.model import ENVELOPE_NAME, REPORT_NAME
from auditor.signing import PUBLIC_NAME, envelope, init_keys, load_signer
from tests.support.cli import run_cli
from tests.support.tamper import ADDITIONS, REPLACEMENTS, build_bundle, resign, tamper_sweep, verdict


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("tamper"))


def test_the_bundle_holds_every_kind_of_file(bundle: Path) -> None:
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {REPORT_NAME, ENVELOPE_NAME, PUBLIC_NAME, "agent-sm2.pub", "report.html", "report.md",
            "evidence-index.html", "assessment-results.json", "evidence/inventory/site.yaml",
            "evidence/authorisation/authorisation.pdf"} <= names
    assert any(n.startswith("evidence/attestations/files/") for n in names)
    assert verdict(bundle) == []


def test_every_alteration_of_every_file_and_every_addition_is_detected_and_named(
        bundle: Path, tmp_path: Path) -> None:
    """Each file flipped, truncated, emptied, deleted, replaced by a directory, FIFO, link or hard
    link to another file; entries of five kinds added in two places: all rejected, naming the file."""
    results = tamper_sweep(bundle, tmp_path)
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    assert len(results) == (4 + len(REPLACEMENTS)) * files + 2 * len(ADDITIONS)
    missed = [r for r in results if not (r.detected and r.named)]
    assert missed == [], "\n".join(f"{r.case} {r.target}: {r.message or 'not detected'}" for r in missed)


def test_authorisation_document_is_hashed_into_the_report(bundle: Path) -> None:
    report = json.loads((bundle / REPORT_NAME).read_bytes())
    auth = report["authorisation"]
    assert auth["status"] == "current" and auth["reference"] == "T-AUTH-2026-001"
    assert auth["document"]["artifact"] == "evidence/authorisation/authorisation.pdf"
    listed = {a["path"]: a["sha256"] for a in report["artifacts"]}
    assert listed[auth["document"]["artifact"]] == auth["document"]["sha256"]
    assert auth["clock"]["timezone"] == "Asia/Shanghai" and auth["clock"]["source"]


def test_a_bundle_resigned_by_another_key(bundle: Path, tmp_path: Path) -> None:
    """The forger improves the report, re-signs it with their own key and ships that key: the
    bundle is self-consistent, so only trust tells. Never OK: exit 4 with the forger's key named."""
    forger = tmp_path / "forger"
    init_keys(forger)
    forged = resign(bundle, tmp_path / "forged", forger)
    forger_fp = load_signer(forger).keyid
    shipped = run_cli("verify", str(forged))
    assert shipped.returncode == 4, shipped.stdout + shipped.stderr
    assert shipped.stdout.splitlines()[0].startswith(
        f"UNTRUSTED: {forged}: intact, but the signer is not trusted: signed by Ed25519 key {forger_fp}")
    assert "OK" not in shipped.stdout
    genuine = bundle.parent / "keys" / PUBLIC_NAME  # the agent's key as the school gives it
    pinned = run_cli("verify", str(forged), "--key", str(genuine))
    assert pinned.returncode == 1 and "report.dsse.json" in pinned.stderr
    assert "no signature by key" in pinned.stderr
    inside = run_cli("verify", str(forged), "--key", str(forged / PUBLIC_NAME))
    assert inside.returncode == 2 and "inside the bundle, so it proves nothing" in inside.stderr
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(genuine, trusted / "school-a.pub")
    shutil.copy(bundle.parent / "keys" / "agent-sm2.pub", trusted / "school-a-sm2.pub")
    refused = run_cli("verify", str(forged), "--trusted-keys", str(trusted))
    assert refused.returncode == 4 and f"which is not in --trusted-keys {trusted}" in refused.stdout
    accepted = run_cli("verify", str(bundle), "--trusted-keys", str(trusted))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert f"signer trusted (--trusted-keys {trusted})" in accepted.stdout


def test_trusted_keys_must_cover_the_sm2_signature_too(bundle: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "only-ed25519"
    trusted.mkdir()
    shutil.copy(bundle / PUBLIC_NAME, trusted / "school-a.pub")
    res = run_cli("verify", str(bundle), "--trusted-keys", str(trusted))
    assert res.returncode == 4 and "signed by SM2 key" in res.stdout and "not in --trusted-keys" in res.stdout


def test_a_bundle_dated_in_the_future_is_reported(bundle: Path, tmp_path: Path) -> None:
    """The agent's clock was a year fast: the signature is fine, the dates are not believable."""
    keys = tmp_path / "k"
    init_keys(keys)
    future = resign(bundle, tmp_path / "future", keys)
    report = json.loads((future / REPORT_NAME).read_bytes())
    report["run"]["started_at"] = "2099-01-01T00:00:00Z"
    report["run"]["finished_at"] = "2099-01-01T00:05:00Z"
    payload = canonical(report)
    (future / REPORT_NAME).write_bytes(payload)
    (future / ENVELOPE_NAME).write_text(json.dumps(envelope(payload, load_signer(keys))), encoding="utf-8")
    res = run_cli("verify", str(future))
    assert res.returncode == 1 and "run.started_at is 2099-01-01" in res.stderr
    assert "after this computer's clock" in res.stderr and "cannot be trusted" in res.stderr
    assert base64.b64decode(json.loads((future / ENVELOPE_NAME).read_text())["payload"]) == payload


def _replace(kind: str, path: Path, bundle: Path) -> None:
    """Put something that is not the file in the file's place."""
    path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-inside":
        path.symlink_to(bundle / REPORT_NAME)
    elif kind == "symlink-outside":
        path.symlink_to("/etc/hostname")
    elif kind == "dangling":
        path.symlink_to(bundle / "no-such-file")
    elif kind == "huge":  # 1 GiB, sparse: the size is checked before anything is hashed
        with path.open("wb") as handle:
            handle.truncate(2**30)


KINDS = ["directory", "fifo", "symlink-inside", "symlink-outside", "dangling", "huge"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", ["evidence/inventory/site.yaml", REPORT_NAME, ENVELOPE_NAME, PUBLIC_NAME])
def test_what_is_not_a_regular_file_is_named_and_never_opened(bundle: Path, tmp_path: Path, kind: str,
                                                                target: str) -> None:
    """A FIFO, a directory, a link or a 1 GiB file where a file of the bundle belongs: verify names
    it and exits 1, without hanging, crashing or reading it whole (run as the real command)."""
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    _replace(kind, copy / target, copy)
    res = run_cli("verify", str(copy), timeout=20)
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert target.rsplit("/", 1)[-1] in res.stdout + res.stderr


@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling", "symlink-inside", "file"])
def test_an_added_entry_of_any_kind_is_rejected(bundle: Path, tmp_path: Path, kind: str) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    added = copy / "evidence" / "added"
    if kind == "fifo":
        os.mkfifo(added)
    elif kind == "directory":
        added.mkdir()
    elif kind == "dangling":
        added.symlink_to(copy / "nothing")
    elif kind == "symlink-inside":
        added.symlink_to(copy / REPORT_NAME)
    else:
        added.write_text("{}\n", encoding="utf-8")
    res = run_cli("verify", str(copy), timeout=20)
    assert res.returncode == 1 and "evidence/added" in res.stdout + res.stderr, (res.stdout, res.stderr)


def test_names_with_terminal_escapes_are_printed_escaped(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "evil\x1b[2J\x1b[1;1HOK.txt").write_text("x", encoding="utf-8")
    res = run_cli("verify", str(copy), timeout=20)
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "\x1b" not in out and "evil\\x1b[2J" in out
