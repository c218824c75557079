"""Tampering sweeps over a bundle: one flipped byte in each file in turn, each file deleted in
turn, files added; and the small bundle the tamper tests sweep (a real run whose targets lie outside
the scope, with every non-PDF rendering, an SM2 key, an attestation and an authorisation document).

Shared by ``tests/integration/test_reliability_tamper.py``, the lab's sweep of a full demo bundle
and ``bench/reliability.py``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from auditor.bundle import canonical, verify_bundle
from auditor.errors import VerificationError
from auditor.model import ENVELOPE_NAME, REPORT_NAME
from auditor.signing import PUBLIC_NAME, envelope, load_signer, signing_entry
from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE


@dataclass(frozen=True)
class Tamper:
    """One tampering case and what verification said about it."""

    case: str
    target: str
    detected: bool
    named: bool
    message: str


def verdict(bundle: Path) -> list[str]:
    """Verification problems of ``bundle`` (an unreadable bundle is one problem)."""
    try:
        result = verify_bundle(bundle)
    except VerificationError as exc:
        return [str(exc)]
    return result.problems


def _case(case: str, target: str, problems: list[str]) -> Tamper:
    return Tamper(case, target, bool(problems), any(target in p for p in problems), "; ".join(problems))


def tamper_sweep(bundle: Path, work: Path) -> list[Tamper]:
    """Flip one byte of every file in turn, delete every file in turn, add a file at the top and
    one under evidence/; each on a copy of ``bundle``, restored between cases."""
    copy = work / "tampered"
    shutil.copytree(bundle, copy)
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    out = []
    for rel in files:
        path = copy / rel
        original = path.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        path.write_bytes(bytes(flipped))
        out.append(_case("flip", rel, verdict(copy)))
        path.unlink()
        out.append(_case("delete", rel, verdict(copy)))
        path.write_bytes(original)
    for rel in ("notes.txt", "evidence/extra/added.json"):
        added = copy / rel
        made = not added.parent.exists()
        added.parent.mkdir(parents=True, exist_ok=True)
        added.write_text("{}\n", encoding="utf-8")
        out.append(_case("add", rel, verdict(copy)))
        added.unlink()
        if made:
            added.parent.rmdir()  # an empty directory left behind is itself an unlisted entry
    assert verdict(copy) == [], "the copy did not restore cleanly"
    return out


def build_bundle(base: Path) -> Path:
    """A signed bundle (Ed25519 + SM2) from a run that sends nothing; returns its directory."""
    keys = base / "keys"
    assert run_cli("keys", "init", "--sm2", "--key-dir", str(keys)).returncode == 0
    (base / "authorisation.pdf").write_bytes(b"%PDF-1.4 signed by the principal")
    inv = base / "site.yaml"
    inv.write_text(OUT_OF_SCOPE.replace("  valid_until: 2099-12-31\n",
                                        "  valid_until: 2099-12-31\n  document: authorisation.pdf\n"),
                   encoding="utf-8")
    store = base / "attestations"
    (base / "policy.pdf").write_bytes(b"%PDF-1.4 security policy")
    res = run_cli("attest", "smart-env.facilities.2", "--evidence", str(base / "policy.pdf"),
                  "--by", "王老师", "--role", "信息中心主任", "--store", str(store))
    assert res.returncode == 0, res.stderr
    out = base / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023", "-o", str(out),
                  "--key-dir", str(keys), "--attestations", str(store), "--format", "html,md,oscal",
                  "--no-history", env={"SNMP_COMMUNITY": "not-used-here"})
    assert res.returncode == 1, res.stdout + res.stderr
    return out


def resign(bundle: Path, dst: Path, keys: Path) -> Path:
    """What a forger does: improve the report, sign it with their own key, ship that key."""
    shutil.copytree(bundle, dst)
    report = json.loads((dst / REPORT_NAME).read_bytes())
    for finding in report["findings"]:
        finding["status"] = "pass"
    signer = load_signer(keys)
    report["signing"] = signing_entry(signer)
    payload = canonical(report)
    (dst / REPORT_NAME).write_bytes(payload)
    (dst / ENVELOPE_NAME).write_text(json.dumps(envelope(payload, signer)), encoding="utf-8")
    (dst / PUBLIC_NAME).write_bytes(signer.public_key_pem())
    (dst / "agent-sm2.pub").unlink()
    return dst
