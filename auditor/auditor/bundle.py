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

from auditor.errors import AuditorError, InputError, VerificationError
from auditor.model import JsonDict
from auditor.plugins import Registry, Renderer
from auditor.reports.options import RenderOptions
from auditor.signing import (
    PUBLIC_NAME,
    Signer,
    check_signature,
    envelope,
    fingerprint,
    load_public_key,
    open_envelope,
)
from auditor.smcrypto import SM2_PUBLIC_NAME, load_sm2_public_key, sm3_hex

REPORT_NAME = "report.json"
ENVELOPE_NAME = "report.dsse.json"
_FIXED = {REPORT_NAME, ENVELOPE_NAME, PUBLIC_NAME, SM2_PUBLIC_NAME}


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


DEFAULT_FORMATS = ("html", "md")
FORMAT_ALIASES = {"md": ("markdown",), "html": ("html", "evidence-index")}


def select_renderers(renderers: Registry[Renderer], formats: Sequence[str]) -> list[Renderer]:
    """The renderers for ``--format`` names (``html`` also writes the evidence index)."""
    chosen: list[Renderer] = []
    for fmt in formats:
        for name in FORMAT_ALIASES.get(fmt, (fmt,)):
            if name not in renderers:
                known = ", ".join(sorted({*renderers.names(), *FORMAT_ALIASES}))
                raise InputError(f"--format {fmt}: no such renderer (installed: {known})")
            renderer = renderers.get(name)
            if renderer not in chosen:
                chosen.append(renderer)
    return chosen


def render_all(
    out: Path, report: JsonDict, renderers: Sequence[Renderer], options: RenderOptions,
    failed: list[str] | None = None,
) -> list[JsonDict]:
    """Render ``report`` with each renderer into ``out``; describe each file written.

    A renderer that fails is named in ``failed`` (when given) and the others still run, so a
    missing font never loses an audit; without ``failed`` the error propagates.
    """
    renderings = []
    for renderer in renderers:
        try:
            data = renderer.render(report, options)
        except Exception as exc:  # a renderer's bug must not lose the audit either
            if failed is None:
                raise
            why = str(exc) if isinstance(exc, AuditorError) else f"internal error: {type(exc).__name__}"
            why += "" if isinstance(exc, AuditorError) else f": {exc}"
            failed.append(f"{renderer.filename} was not rendered: {why}")
            continue
        tmp = out / f".{renderer.filename}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / renderer.filename)
        renderings.append(
            {
                "path": renderer.filename,
                "renderer": renderer.name,
                "media_type": renderer.media_type,
                "lang": options.lang,
                "sha256": hashlib.sha256(data).hexdigest(),
                "sm3": sm3_hex(data),
                "size": len(data),
            }
        )
    return renderings


def write_bundle(
    out: Path, report: JsonDict, renderers: Sequence[Renderer], signer: Signer,
    options: RenderOptions | None = None, sm2: Signer | None = None,
) -> list[Path]:
    """Render, then sign and write the report. Returns the files written (besides evidence).

    ``sm2``, when given, signs the same DSSE payload as a second signature (its key is shipped
    as ``agent-sm2.pub``; the report names it under ``signing.sm2``). Renderings that failed
    are listed in the signed report's ``warnings``.
    """
    failed: list[str] = []
    renderings = render_all(out, report, renderers, options or RenderOptions(), failed)
    written = [out / r["path"] for r in renderings]
    report = {**report, "renderings": renderings,
              "warnings": [*report.get("warnings", []), *failed]}
    payload = canonical(report)
    (out / REPORT_NAME).write_bytes(payload)
    env = envelope(payload, signer, also=[sm2] if sm2 is not None else [])
    (out / ENVELOPE_NAME).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
    (out / PUBLIC_NAME).write_bytes(signer.public_key_pem())
    written += [out / REPORT_NAME, out / ENVELOPE_NAME, out / PUBLIC_NAME]
    if sm2 is not None:
        (out / SM2_PUBLIC_NAME).write_bytes(sm2.public_key_pem())
        written.append(out / SM2_PUBLIC_NAME)
    return written


@dataclass
class Verification:
    """The outcome of verifying a bundle. ``problems`` is empty when it is intact.

    ``algorithms`` names the signatures verified (``ed25519``, ``sm2-sm3``), ``digests`` the
    file digests checked (``sha256``, ``sm3``).
    """

    problems: list[str] = field(default_factory=list)
    keyid: str | None = None
    pinned: bool = False
    report: JsonDict | None = None
    files_checked: int = 0
    algorithms: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    sm2_keyid: str | None = None

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


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise VerificationError(f"{path}: public key not readable") from None


def split_pinned_keys(paths: Sequence[Path]) -> tuple[Path | None, Path | None]:
    """Sort ``--key`` files into the Ed25519 key and the SM2 key (at most one of each)."""
    ed25519: Path | None = None
    sm2: Path | None = None
    for path in paths:
        data = _read_key(path)
        try:
            load_public_key(data, str(path))
            kind = "ed25519"
        except VerificationError:
            load_sm2_public_key(data, str(path))  # raises: neither kind
            kind = "sm2"
        if (ed25519 if kind == "ed25519" else sm2) is not None:
            raise InputError(f"--key {path}: a second {kind} key; pin at most one of each kind")
        if kind == "ed25519":
            ed25519 = path
        else:
            sm2 = path
    return ed25519, sm2


def verify_bundle(bundle: Path, pinned_key: Path | None = None,
                  pinned_sm2: Path | None = None) -> Verification:
    """Check the signatures, that report.json is the signed payload, and every listed digest.

    The Ed25519 signature is always checked; the SM2 signature whenever the report names an
    SM2 key (or ``pinned_sm2`` is given); SM3 digests wherever the report lists them.
    """
    if not bundle.is_dir():
        raise InputError(f"{bundle}: not a directory")
    result = Verification(pinned=pinned_key is not None)
    key_path = pinned_key or bundle / PUBLIC_NAME
    public_key = load_public_key(_read_key(key_path), str(key_path))
    result.keyid = fingerprint(public_key)
    env = _read_json(bundle / ENVELOPE_NAME)
    payload = open_envelope(env, public_key)
    result.algorithms.append("ed25519")
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
    _check_sm2(bundle, env, report, pinned_sm2, result)
    listed = list(report.get("artifacts", [])) + list(report.get("renderings", []))
    result.digests = ["sha256", *(["sm3"] if any(e.get("sm3") for e in listed) else [])]
    for entry in listed:
        _check_file(bundle, entry, result)
    _check_unlisted(bundle, {e["path"] for e in listed}, result)
    return result


def _check_sm2(bundle: Path, env: Any, report: JsonDict, pinned: Path | None,
               result: Verification) -> None:
    named = (report.get("signing") or {}).get("sm2")
    if not named and pinned is None:
        return
    if not named:
        result.problems.append("an SM2 key was pinned, but the report names no SM2 signing key")
        return
    key_path = pinned or bundle / SM2_PUBLIC_NAME
    if not key_path.exists():
        result.problems.append(f"{SM2_PUBLIC_NAME}: missing (the report names SM2 key "
                               f"{named.get('key_fingerprint')})")
        return
    key = load_sm2_public_key(_read_key(key_path), str(key_path))
    result.sm2_keyid = key.fingerprint
    if key.fingerprint != named.get("key_fingerprint"):
        result.problems.append(f"the report names SM2 key {named.get('key_fingerprint')}, but "
                               f"{key_path.name} is {key.fingerprint}")
        return
    try:
        check_signature(env, key.fingerprint, key.verify)
    except VerificationError as exc:
        result.problems.append(f"SM2: {exc}")
        return
    result.algorithms.append("sm2-sm3")


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
    elif entry.get("sm3") and sm3_hex(data) != entry["sm3"]:
        result.problems.append(f"{rel}: SM3 does not match the signed report (altered)")


def _check_unlisted(bundle: Path, listed: set[str], result: Verification) -> None:
    for path in sorted(bundle.rglob("*")):
        rel = path.relative_to(bundle).as_posix()
        if path.is_file() and rel not in listed and rel not in _FIXED:
            result.problems.append(f"{rel}: not part of the signed report (added after signing)")
