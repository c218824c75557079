"""Ed25519 signing keys and DSSE envelopes.

The DSSE pre-authentication encoding (PAE) is one line of the specification; a library for
it (securesystemslib) would bring a much larger dependency for that line, so it is here.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.errors import SigningKeyError, VerificationError
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


def load_public_key(data: bytes, source: str) -> Ed25519PublicKey:
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


def check_signature(env: Any, keyid: str, verify: Callable[[bytes, bytes], bool]) -> None:
    """Check the envelope's signature by ``keyid`` with ``verify(signature, message)``.

    For algorithms other than the envelope's primary Ed25519 one (SM2). Raises
    VerificationError naming the key when the signature is missing or does not match.
    """
    try:
        message = pae(env["payloadType"], base64.b64decode(env["payload"], validate=True))
        signatures = list(env["signatures"])
    except (KeyError, TypeError, ValueError):
        raise VerificationError("the envelope is malformed (payloadType, payload, signatures)") from None
    for entry in signatures:
        if not isinstance(entry, dict) or entry.get("keyid") != keyid:
            continue
        try:
            sig = base64.b64decode(entry["sig"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise VerificationError(f"the signature by {keyid} is malformed") from None
        if not verify(sig, message):
            raise VerificationError(f"the signature by {keyid} does not match the report")
        return
    raise VerificationError(f"the envelope carries no signature by key {keyid}")


def open_envelope(env: Any, public_key: Ed25519PublicKey) -> bytes:
    """Verify a DSSE envelope with ``public_key``; return the payload. Raises VerificationError."""
    try:
        payload_type = env["payloadType"]
        payload = base64.b64decode(env["payload"], validate=True)
        signatures = env["signatures"]
    except (KeyError, TypeError, ValueError):
        raise VerificationError("the envelope is malformed (payloadType, payload, signatures)") from None
    if payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"unexpected payload type {payload_type!r}")
    keyid = fingerprint(public_key)
    for entry in signatures if isinstance(signatures, list) else []:
        if not isinstance(entry, dict) or entry.get("keyid") != keyid:
            continue
        try:
            public_key.verify(base64.b64decode(entry["sig"]), pae(payload_type, payload))
        except (InvalidSignature, ValueError, KeyError):
            raise VerificationError(f"the signature by {keyid} does not match the report") from None
        return payload
    raise VerificationError(f"the envelope carries no signature by key {keyid}")
