"""Tampering sweeps over a bundle: every file in turn flipped (one byte), truncated, emptied,
deleted, or replaced by a directory, a FIFO, a symbolic link or a hard link to another file of the
bundle; entries of every kind added (file, directory, FIFO, link, dangling link); and the small
bundle the tamper tests sweep (a real run whose targets lie outside the scope, with every non-PDF
rendering, an SM2 key, an attestation and an authorisation document).

Shared by ``tests/integration/test_reliability_tamper.py``, the lab's sweep of a full demo bundle
and ``bench/reliability.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    seconds: float = 0.0


def verdict(bundle: Path) -> list[str]:
    """Verification problems of ``bundle`` (an unreadable bundle is one problem)."""
    try:
        result = verify_bundle(bundle)
    except VerificationError as exc:
        return [str(exc)]
    return result.problems


def _case(case: str, target: str, bundle: Path) -> Tamper:
    started = time.perf_counter()
    problems = verdict(bundle)
    return Tamper(case, target, bool(problems), any(target.rsplit("/", 1)[-1] in p for p in problems),
                  "; ".join(problems), time.perf_counter() - started)


def _put(kind: str, path: Path, other: Path) -> None:
    """Put an entry of ``kind`` at ``path`` (absent); ``other`` is another file of the bundle."""
    if kind == "file":
        path.write_text("{}\n", encoding="utf-8")
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(other)
    elif kind == "dangling":
        path.symlink_to(path.parent / "no-such-file")
    elif kind == "hardlink":
        os.link(other, path)
    else:
        raise ValueError(kind)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink()


REPLACEMENTS = ("directory", "fifo", "symlink", "hardlink")
ADDITIONS = ("file", "directory", "fifo", "symlink", "dangling")


EDITS = ("flip", "truncate", "empty")


def tamper_sweep(bundle: Path, work: Path, edits: tuple[str, ...] = EDITS,
                 replacements: tuple[str, ...] = REPLACEMENTS) -> list[Tamper]:
    """Every file of a copy of ``bundle`` in turn: one byte flipped, cut in half, emptied, deleted,
    replaced by each of REPLACEMENTS; then an entry of each kind of ADDITIONS added at the top and
    under evidence/. The copy is restored between cases. A hard link to another file of the bundle
    is another file's bytes in this file's place (a hard link to identical bytes would be no
    change at all, so it is not a case)."""
    copy = work / "tampered"
    shutil.copytree(bundle, copy)
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    out = []
    for rel in files:
        path = copy / rel
        original = path.read_bytes()
        other = copy / (REPORT_NAME if rel != REPORT_NAME else ENVELOPE_NAME)
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        for case, data in (("flip", bytes(flipped)), ("truncate", original[: len(original) // 2]),
                           ("empty", b"")):
            if case not in edits:
                continue
            path.write_bytes(data)
            out.append(_case(case, rel, copy))
        path.unlink()
        out.append(_case("delete", rel, copy))
        for kind in replacements:
            _put(kind, path, other)
            out.append(_case(f"replace by {kind}", rel, copy))
            _remove(path)
        path.write_bytes(original)
    for rel in ("notes.txt", "evidence/extra/added.json"):
        added = copy / rel
        made = not added.parent.exists()
        added.parent.mkdir(parents=True, exist_ok=True)
        for kind in ADDITIONS:
            _put(kind, added, copy / REPORT_NAME)
            out.append(_case(f"add {kind}", rel, copy))
            _remove(added)
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


def _all_pass(report: dict[str, Any], _dst: Path) -> None:
    for finding in report["findings"]:
        finding["status"] = "pass"


def resign(bundle: Path, dst: Path, keys: Path,
           edit: Callable[[dict[str, Any], Path], None] = _all_pass) -> Path:
    """What a forger does: improve the report (``edit``, by default every finding a pass), sign it
    with their own key (Ed25519 only) and ship that key. With the agent's own ``keys`` it is how a
    test makes a genuine bundle of a shape no audit produces (e.g. a 1 GiB artifact)."""
    shutil.copytree(bundle, dst)
    report = json.loads((dst / REPORT_NAME).read_bytes())
    edit(report, dst)
    signer = load_signer(keys)
    report["signing"] = signing_entry(signer)
    payload = canonical(report)
    (dst / REPORT_NAME).write_bytes(payload)
    (dst / ENVELOPE_NAME).write_text(json.dumps(envelope(payload, signer)), encoding="utf-8")
    (dst / PUBLIC_NAME).write_bytes(signer.public_key_pem())
    (dst / "agent-sm2.pub").unlink()
    return dst
