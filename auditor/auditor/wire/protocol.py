"""The signed-request scheme shared by agents and servers (pure functions, no I/O).

Every request an agent makes after enrolment carries six headers::

    X-Auditor-Member          the school code (or a district's code at its city server)
    X-Auditor-Key             fingerprint of the signing key (sha256:<hex of the raw key>)
    X-Auditor-Time            Unix time, seconds
    X-Auditor-Nonce           32 random hex digits, never reused
    X-Auditor-Content-SHA256  SHA-256 of the body (hex; of b"" for a request without one)
    X-Auditor-Signature       base64 Ed25519 signature over the string below

The signed string is, one item a line (UTF-8, ``\\n``-separated, no trailing newline)::

    campus-auditor-request-v1
    METHOD
    /path?query                (as sent: the raw path and query string)
    member
    key fingerprint
    time
    nonce
    content SHA-256

The server accepts a time within its clock-skew window (default ±300 s) and a nonce it has not
seen within that window for that key (kept in the database, so every server process shares it).
The body is bound through its digest, so the server checks the signature before it reads the body
(an unauthenticated client cannot make it store anything) and compares the digest once the body
is in.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditor.signing import Signer
from auditor.wire.errors import Unauthenticated

SCHEME = "campus-auditor-request-v1"
H_MEMBER = "x-auditor-member"
H_KEY = "x-auditor-key"
H_TIME = "x-auditor-time"
H_NONCE = "x-auditor-nonce"
H_CONTENT = "x-auditor-content-sha256"
H_SIGNATURE = "x-auditor-signature"
HEADERS = (H_MEMBER, H_KEY, H_TIME, H_NONCE, H_CONTENT, H_SIGNATURE)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ENROL_CONTEXT = b"campus-auditor-enrol-v1\n"
ROTATE_CONTEXT = b"campus-auditor-rotate-v1\n"


def message(
    method: str, target: str, member: str, keyid: str, when: str, nonce: str, content_sha256: str
) -> bytes:
    """The bytes a request signature covers."""
    return "\n".join((SCHEME, method.upper(), target, member, keyid, when, nonce, content_sha256)).encode()


def sign_headers(
    signer: Signer, member: str, method: str, target: str, content_sha256: str, now: float | None = None
) -> dict[str, str]:
    """The six headers of a signed request."""
    when = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    sig = signer.sign(message(method, target, member, signer.keyid, when, nonce, content_sha256))
    return {
        H_MEMBER: member,
        H_KEY: signer.keyid,
        H_TIME: when,
        H_NONCE: nonce,
        H_CONTENT: content_sha256,
        H_SIGNATURE: base64.b64encode(sig).decode(),
    }


@dataclass(frozen=True)
class SignedRequest:
    """The signature headers of a request, read but not yet checked against a key."""

    member: str
    keyid: str
    when: int
    nonce: str
    content_sha256: str
    signature: bytes

    def check(self, public_key: Ed25519PublicKey, method: str, target: str) -> None:
        data = message(
            method, target, self.member, self.keyid, str(self.when), self.nonce, self.content_sha256
        )
        try:
            public_key.verify(self.signature, data)
        except InvalidSignature:
            raise Unauthenticated(
                "the request signature does not match (wrong key, or the method, "
                "path, time, nonce or body digest was changed)"
            ) from None


def read_headers(headers: Mapping[str, str], now: float, skew: int) -> SignedRequest:
    """Parse the signature headers; check their form and the time window."""
    missing = [h for h in HEADERS if not headers.get(h)]
    if missing:
        raise Unauthenticated(f"the request is not signed: missing {', '.join(missing)}")
    try:
        when = int(headers[H_TIME])
        signature = base64.b64decode(headers[H_SIGNATURE], validate=True)
    except ValueError:
        raise Unauthenticated(f"malformed {H_TIME} or {H_SIGNATURE}") from None
    nonce, content = headers[H_NONCE], headers[H_CONTENT].lower()
    if not 16 <= len(nonce) <= 64 or not nonce.isalnum():
        raise Unauthenticated(f"malformed {H_NONCE}: 16 to 64 letters and digits")
    if len(content) != 64 or any(c not in "0123456789abcdef" for c in content):
        raise Unauthenticated(f"malformed {H_CONTENT}: 64 hex digits")
    if abs(now - when) > skew:
        raise Unauthenticated(
            f"the request time is {int(now - when)} s from the server's clock "
            f"(allowed ±{skew} s): check the agent's clock"
        )
    return SignedRequest(headers[H_MEMBER], headers[H_KEY], when, nonce, content, signature)


def enrol_proof(signer: Signer, token: str) -> str:
    """Proof that the enrolling agent holds the private key: its signature over the token."""
    return base64.b64encode(signer.sign(ENROL_CONTEXT + token.encode())).decode()


def rotate_proof(signer: Signer, member: str, old_keyid: str) -> str:
    """The new key's signature over the member and the key it replaces."""
    return base64.b64encode(signer.sign(ROTATE_CONTEXT + f"{member}\n{old_keyid}".encode())).decode()


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
