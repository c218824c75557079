"""The report bundle on disk: write it signed, and verify it offline.

Layout of a bundle directory::

    report.json          the report, canonical JSON (RFC 8785): exactly the signed payload
    report.dsse.json     DSSE envelope (Ed25519) over report.json
    agent-ed25519.pub    the agent's public key (its fingerprint is inside the report)
    report.md ...        renderings; their SHA-256 are listed in the report
    evidence/...         raw artifacts; their SHA-256 are listed in the report
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785

from auditor.errors import InputError, VerificationError
from auditor.model import JsonDict
from auditor.plugins import Renderer
from auditor.signing import (
    PUBLIC_NAME,
    Signer,
    envelope,
    fingerprint,
    load_public_key,
    open_envelope,
)

REPORT_NAME = "report.json"
ENVELOPE_NAME = "report.dsse.json"
_FIXED = {REPORT_NAME, ENVELOPE_NAME, PUBLIC_NAME}


def prepare_out_dir(out: Path) -> None:
    """Create the bundle directory; refuse one that already holds files."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out {out}: directory is not empty; choose a new directory per audit")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create directory: {exc.strerror}") from None


def canonical(doc: JsonDict) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    return bytes(rfc8785.dumps(doc))


def write_bundle(
    out: Path, report: JsonDict, renderers: Sequence[Renderer], signer: Signer
) -> list[Path]:
    """Render, then sign and write the report. Returns the files written (besides evidence)."""
    written: list[Path] = []
    renderings = []
    for renderer in renderers:
        data = renderer.render(report)
        (out / renderer.filename).write_bytes(data)
        written.append(out / renderer.filename)
        renderings.append(
            {
                "path": renderer.filename,
                "renderer": renderer.name,
                "media_type": renderer.media_type,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
        )
    report = {**report, "renderings": renderings}
    payload = canonical(report)
    (out / REPORT_NAME).write_bytes(payload)
    env = envelope(payload, signer)
    (out / ENVELOPE_NAME).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
    (out / PUBLIC_NAME).write_bytes(signer.public_key_pem())
    written += [out / REPORT_NAME, out / ENVELOPE_NAME, out / PUBLIC_NAME]
    return written


@dataclass
class Verification:
    """The outcome of verifying a bundle. ``problems`` is empty when it is intact."""

    problems: list[str] = field(default_factory=list)
    keyid: str | None = None
    pinned: bool = False
    report: JsonDict | None = None
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise VerificationError(f"{path.name} is missing: not a report bundle?") from None
    except (ValueError, UnicodeDecodeError):
        raise VerificationError(f"{path.name} is not valid JSON (altered or truncated)") from None


def verify_bundle(bundle: Path, pinned_key: Path | None = None) -> Verification:
    """Check the signature, that report.json is the signed payload, and every listed hash."""
    if not bundle.is_dir():
        raise InputError(f"{bundle}: not a directory")
    result = Verification(pinned=pinned_key is not None)
    key_path = pinned_key or bundle / PUBLIC_NAME
    try:
        key_bytes = key_path.read_bytes()
    except OSError:
        raise VerificationError(f"{key_path}: public key not readable") from None
    public_key = load_public_key(key_bytes, str(key_path))
    result.keyid = fingerprint(public_key)
    payload = open_envelope(_read_json(bundle / ENVELOPE_NAME), public_key)
    report = json.loads(payload)
    result.report = report
    _check_report_file(bundle, payload, result)
    signed_key = report.get("signing", {}).get("key_fingerprint")
    if signed_key != result.keyid:
        result.problems.append(
            f"the report names signing key {signed_key}, but it was verified with {result.keyid}"
        )
    if pinned_key is not None and (bundle / PUBLIC_NAME).exists():
        shipped = load_public_key((bundle / PUBLIC_NAME).read_bytes(), PUBLIC_NAME)
        if fingerprint(shipped) != result.keyid:
            result.problems.append(f"{PUBLIC_NAME} is not the pinned key")
    listed = list(report.get("artifacts", [])) + list(report.get("renderings", []))
    for entry in listed:
        _check_file(bundle, entry, result)
    _check_unlisted(bundle, {e["path"] for e in listed}, result)
    return result


def _check_report_file(bundle: Path, payload: bytes, result: Verification) -> None:
    try:
        on_disk = (bundle / REPORT_NAME).read_bytes()
    except FileNotFoundError:
        result.problems.append(f"{REPORT_NAME} is missing")
        return
    if on_disk != payload:
        result.problems.append(f"{REPORT_NAME} differs from the signed report (altered)")


def _check_file(bundle: Path, entry: JsonDict, result: Verification) -> None:
    rel = str(entry.get("path", ""))
    path = (bundle / rel).resolve()
    if bundle.resolve() not in path.parents:
        result.problems.append(f"{rel}: path leaves the bundle directory")
        return
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        result.problems.append(f"{rel}: missing")
        return
    result.files_checked += 1
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        result.problems.append(f"{rel}: SHA-256 does not match the signed report (altered)")


def _check_unlisted(bundle: Path, listed: set[str], result: Verification) -> None:
    for path in sorted(bundle.rglob("*")):
        rel = path.relative_to(bundle).as_posix()
        if path.is_file() and rel not in listed and rel not in _FIXED:
            result.problems.append(f"{rel}: not part of the signed report (added after signing)")
