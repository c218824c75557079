"""Ed25519 signing keys and DSSE envelopes.

The DSSE pre-authentication encoding (PAE) is one line of the specification; a library for
it (securesystemslib) would bring a much larger dependency for that line, so it is here.

Envelope and key-file variants (issue 19). Only the PAE of payloadType and payload is signed:
everything else in ``report.dsse.json`` is text anyone can edit, and this tool reads only envelopes
it wrote (bundles, district uploads). So :func:`open_envelope` is strict where the DSSE envelope
spec (1.0.2: "Consumers MUST ignore unrecognized fields"; extra signatures are skipped) is lenient,
as the bundle verifier refuses a file added after signing. A refusal is one VerificationError line;
the bundle verifier puts ``report.dsse.json:`` in front (key errors name the key file).
Case → decision → why:

- unknown top-level field (``"x": 1``) → refused → unsigned text that would pass as part of the bundle
- unknown field in a signature object → refused → the same
- signature without a keyid (DSSE: optional) → refused → this tool names every key; matches no signer
- extra signature by a key the signed report does not name → refused → unverified, reads as a co-signer
- two signatures with one keyid → refused → which counts is arbitrary: a forged twin hides or fails
- signatures empty, not a list, entry not an object → refused → nothing is signed
- envelope not an object, or a field missing → refused → not a DSSE envelope (DSSE: reject)
- payload or sig not a string, or not base64 → refused, field named → undecodable; never a traceback
- URL-safe base64 (``-_``, padded) → accepted → DSSE: verifiers MUST accept either alphabet
- payloadType not ``PAYLOAD_TYPE`` → refused → DSSE: reject an unsupported type (it is in the PAE too)
- signed payload not a JSON object → refused → DSSE: reject a body that does not parse as its type
- signatures or fields in another order → accepted → matched by keyid and name; order means nothing
- text around a PEM public key (comment before BEGIN) → accepted → see below
- text inside the PEM block (a header) → refused → only base64 belongs there (cryptography skips it)
- a second PEM block in the key file → refused → one key per file; a reader would take the first

Text around a key: ``agent-*.pub`` are not among the files report.json lists with digests; what
binds them is the key fingerprint the signed report names (``signing[.sm2].key_fingerprint``), so
a changed key fails and text around the block changes nothing verified. RFC 7468 allows such text,
``cryptography`` skips it, and this loader also reads ``--key`` files, where a key pasted from a
mail is normal (``keys trust`` accepts it too). SM2 key files (:mod:`auditor.smcrypto`) also ignore
text around the block and refuse text inside it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.errors import SigningKeyError, VerificationError
from auditor.model import ENVELOPE_NAME
from auditor.paths import user_path

PAYLOAD_TYPE = "application/vnd.campus-auditor.report+json"
PRIVATE_NAME = "agent-ed25519.pem"
PUBLIC_NAME = "agent-ed25519.pub"


def default_key_dir() -> Path:
    """``$AUDITOR_KEY_DIR``, else ``$XDG_CONFIG_HOME/campus-auditor/keys``."""
    return user_path("AUDITOR_KEY_DIR", "XDG_CONFIG_HOME", ".config", "keys")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """``sha256:<hex>`` of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Signer(Protocol):
    """Signs bytes; identifies itself by the fingerprint of its public key."""

    algorithm: ClassVar[str]

    @property
    def keyid(self) -> str: ...

    def public_key_pem(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Signer:
    """A signer backed by an Ed25519 private key."""

    private_key: Ed25519PrivateKey
    algorithm: ClassVar[str] = "ed25519"

    @property
    def keyid(self) -> str:
        return fingerprint(self.private_key.public_key())

    def public_key_pem(self) -> bytes:
        return public_pem(self.private_key.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def init_keys(key_dir: Path) -> tuple[Path, str, bool]:
    """Create the agent key pair if absent. Returns (public key path, fingerprint, created)."""
    private_path, public_path = key_dir / PRIVATE_NAME, key_dir / PUBLIC_NAME
    if private_path.exists():
        signer = load_signer(key_dir)
        return public_path, signer.keyid, False
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(public_pem(key.public_key()))
    return public_path, fingerprint(key.public_key()), True


def load_signer(key_dir: Path) -> Ed25519Signer:
    """Load the agent's private key, refusing one that others can read."""
    path = key_dir / PRIVATE_NAME
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(
            f"no signing key at {path}; create one with: auditor keys init"
        ) from None
    if st.st_mode & 0o077:
        raise SigningKeyError(
            f"{path}: private key is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not a readable PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return Ed25519Signer(key)


_PEM_BEGIN = b"-----BEGIN "
_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.DOTALL)
_PEM_BODY = re.compile(rb"[A-Za-z0-9+/=\s]*")


def load_public_key(data: bytes, source: str) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM ``data``; ``source`` names it in errors. Raises VerificationError.

    Text around the one PEM block is ignored; a second block, or anything but base64 inside the
    block, is refused (see the module docstring).
    """
    if data.count(_PEM_BEGIN) > 1:
        raise VerificationError(f"{source}: more than one PEM block; a public key file holds one key")
    block = _PEM_BLOCK.search(data)
    if block is not None and not _PEM_BODY.fullmatch(block.group(1)):
        raise VerificationError(f"{source}: text inside the PEM block (a header or comment line "
                                "between BEGIN and END); only base64 belongs there")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise VerificationError(f"{source}: not an Ed25519 PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError(f"{source}: not an Ed25519 public key")
    return key


def signing_entry(signer: Signer) -> dict[str, Any]:
    """How the report names a key that signs it (algorithm, fingerprint, public key)."""
    entry: dict[str, Any] = {"algorithm": signer.algorithm, "key_fingerprint": signer.keyid,
                             "public_key_pem": signer.public_key_pem().decode()}
    if signer.algorithm == "sm2-sm3":
        entry["distinguishing_id"] = "1234567812345678"
    return entry


def envelope(payload: bytes, signer: Signer, payload_type: str = PAYLOAD_TYPE,
             also: Sequence[Signer] = ()) -> dict[str, Any]:
    """A DSSE envelope over ``payload``, signed by ``signer`` and every signer in ``also``."""
    message = pae(payload_type, payload)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": s.keyid, "sig": base64.b64encode(s.sign(message)).decode()}
                       for s in (signer, *also)],
    }


# ------------------------------------------------------------------ reading an envelope

_ENVELOPE_FIELDS = ("payloadType", "payload", "signatures")
_SIGNATURE_FIELDS = ("keyid", "sig")
_B64_STANDARD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_URLSAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _shown(value: Any, limit: int = 72) -> str:
    """A value from an envelope, safe and short enough for a one-line message (``repr`` escapes
    control characters, so a field name cannot move the cursor)."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "…")
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _b64(value: Any, what: str) -> bytes:
    """Decode standard or URL-safe base64 (DSSE allows either), strictly. Raises VerificationError."""
    if not isinstance(value, str):
        raise VerificationError(f"{what} is {_shown(value)}, not base64 text")
    if _B64_STANDARD.fullmatch(value):
        altchars = None
    elif _B64_URLSAFE.fullmatch(value):
        altchars = b"-_"
    else:
        raise VerificationError(f"{what} is not base64 text (characters outside the base64 alphabet)")
    try:
        return base64.b64decode(value, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what} is not base64 text ({exc})") from None


def _unknown(fields: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    extra = [name for name in fields if name not in known]
    if extra:
        raise VerificationError(f"{where}unknown field {_shown(extra[0])} (not part of a DSSE "
                                f"{'signature' if where else 'envelope'}, and not signed)")


@dataclass(frozen=True)
class _Envelope:
    """A DSSE envelope as this tool writes it, decoded; ``signatures`` maps keyid -> (position, sig)."""

    payload_type: str
    payload: bytes
    signatures: dict[str, tuple[int, bytes]]

    @property
    def message(self) -> bytes:
        return pae(self.payload_type, self.payload)


def _parse(env: Any) -> _Envelope:
    """Decode ``env`` (parsed JSON), refusing anything this tool does not write. Raises
    VerificationError naming the field; never KeyError, TypeError or binascii.Error."""
    if not isinstance(env, dict):
        raise VerificationError(f"not a DSSE envelope: {_shown(env)}, where an object with "
                                "payloadType, payload and signatures belongs")
    _unknown(env, _ENVELOPE_FIELDS, "")
    missing = [name for name in _ENVELOPE_FIELDS if name not in env]
    if missing:
        raise VerificationError(f"no {missing[0]} field (a DSSE envelope has payloadType, payload "
                                "and signatures)")
    payload_type = env["payloadType"]
    if payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"payloadType is {_shown(payload_type)}, not {PAYLOAD_TYPE!r} "
                                "(not a campus-auditor report)")
    payload = _b64(env["payload"], "payload")
    entries = env["signatures"]
    if not isinstance(entries, list):
        raise VerificationError(f"signatures is {_shown(entries)}, not a list")
    if not entries:
        raise VerificationError("signatures is empty: the report is not signed")
    signatures: dict[str, tuple[int, bytes]] = {}
    for number, entry in enumerate(entries, 1):
        where = f"signature {number}: "
        if not isinstance(entry, dict):
            raise VerificationError(f"{where}{_shown(entry)}, where an object with keyid and sig belongs")
        _unknown(entry, _SIGNATURE_FIELDS, where)
        keyid = entry.get("keyid")
        if not isinstance(keyid, str) or not keyid:
            raise VerificationError(f"{where}keyid is {_shown(keyid)}, not a key fingerprint "
                                    "(this tool names the key of every signature)")
        if "sig" not in entry:
            raise VerificationError(f"{where}no sig field")
        sig = _b64(entry["sig"], f"{where}sig")
        if keyid in signatures:
            raise VerificationError(f"signatures {signatures[keyid][0]} and {number} are both by key "
                                    f"{_shown(keyid)}; an envelope carries one signature per key")
        signatures[keyid] = (number, sig)
    return _Envelope(payload_type, payload, signatures)


def _named_signers(payload: bytes) -> set[str]:
    """The signing keys the signed report names. Raises VerificationError if it is no report."""
    try:
        report = json.loads(payload)
    except (ValueError, RecursionError):
        report = None
    if not isinstance(report, dict):
        raise VerificationError("the signed payload is not a JSON object (not a campus-auditor report)")
    signing = report.get("signing")
    signing = signing if isinstance(signing, dict) else {}
    sm2 = signing.get("sm2")
    named = [signing.get("key_fingerprint"), sm2.get("key_fingerprint") if isinstance(sm2, dict) else None]
    return {k for k in named if isinstance(k, str)}


def check_signature(env: Any, keyid: str, verify: Callable[[bytes, bytes], bool]) -> None:
    """Check the envelope's signature by ``keyid`` with ``verify(signature, message)``.

    For algorithms other than the envelope's primary Ed25519 one (SM2), after
    :func:`open_envelope` has read the envelope. Raises VerificationError naming the key when the
    signature is missing or does not match.
    """
    parsed = _parse(env)
    if keyid not in parsed.signatures:
        raise VerificationError(f"the envelope carries no signature by key {keyid} ({ENVELOPE_NAME})")
    if not verify(parsed.signatures[keyid][1], parsed.message):
        raise VerificationError(f"the signature by {keyid} in {ENVELOPE_NAME} does not match the report")


def open_envelope(env: Any, public_key: Ed25519PublicKey) -> bytes:
    """Verify a DSSE envelope with ``public_key``; return the payload. Raises VerificationError.

    Strict (see the module docstring): besides the signature by ``public_key``, the envelope may
    hold only signatures by keys the signed report names, one per key, and no unknown fields.
    """
    parsed = _parse(env)
    keyid = fingerprint(public_key)
    if keyid not in parsed.signatures:
        raise VerificationError(f"the envelope carries no signature by key {keyid}")
    try:
        public_key.verify(parsed.signatures[keyid][1], parsed.message)
    except InvalidSignature:
        raise VerificationError(f"the signature by {keyid} does not match the report") from None
    allowed = _named_signers(parsed.payload) | {keyid}
    for other, (number, _sig) in parsed.signatures.items():
        if other not in allowed:
            raise VerificationError(f"signature {number} is by key {_shown(other)}, which the signed "
                                    "report does not name as a signer (added after signing)")
    return parsed.payload
