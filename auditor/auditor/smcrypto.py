"""China's national algorithms: SM3 digests (GB/T 32905) and SM2 signatures (GB/T 32918).

Libraries, and why:

* SM3 is ``cryptography``'s ``hashes.SM3`` (OpenSSL's implementation, fast).
* ``cryptography`` has no SM2 keys or signatures (its EC API rejects curve
  1.2.156.10197.1.301), so the SM2 arithmetic comes from ``gmalg`` (pure Python, maintained,
  no dependencies). It draws nonces from ``secrets``, checks that r and s lie in [1, n-1],
  has a public-key check (on the curve, order n; every ``Sm2PublicKey`` passes it) and
  computes Z from the signer's ID as GB/T 32918.2 says. Its documented ``SM2Core`` is given
  the GB/T 32918.5 curve below and an SM3 backed by ``cryptography``: gmalg's own
  pure-Python SM3 hashes about 0.5 MB/s, and SM2 hashes the whole message. The alternative
  ``gmssl`` draws the SM2 nonce from ``random`` (not a CSPRNG, which can reveal the private
  key) and does not range-check signatures; ``snowland-smx`` works on hex strings and takes
  the nonce from the caller.
* Signatures are DER ``SEQUENCE {r INTEGER, s INTEGER}`` (GB/T 35276), encoded and strictly
  parsed by ``cryptography``'s ``encode_dss_signature``/``decode_dss_signature``.
* Key files are DER built and parsed by ``pyasn1`` with the RFC 5280/5208/5915/5480 types from
  ``pyasn1-modules``: a PKCS#8 private key and a SubjectPublicKeyInfo public key, both
  id-ecPublicKey with the SM2 curve, as ``openssl genpkey -algorithm SM2`` writes them.
  Only the PEM armour (base64 between BEGIN/END lines, RFC 7468) is written here: a few
  lines, where no library in use exposes it for arbitrary labels.

The signer's ID is the default ``1234567812345678`` (GM/T 0009). OpenSSL 3.0 uses another
default, so its tools need ``-pkeyopt distid:1234567812345678`` to agree with these signatures.
gmalg's arithmetic is not constant-time; signing is meant for the auditor's own machine.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from gmalg.ellipticcurve import ECDLP
from gmalg.errors import GMError
from gmalg.sm2 import SM2Core
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import tag, univ
from pyasn1_modules import rfc5208, rfc5280, rfc5480, rfc5915

from auditor.errors import SigningKeyError, VerificationError

SM2_PRIVATE_NAME = "agent-sm2.pem"
SM2_PUBLIC_NAME = "agent-sm2.pub"
DEFAULT_ID = b"1234567812345678"
SM2_CURVE_OID = "1.2.156.10197.1.301"

# The recommended curve, GB/T 32918.5-2017 (GM/T 0003.5-2012) section 5.
P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
A = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC
B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123
G = (
    0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7,
    0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0,
)
_CURVE = ECDLP(P, A, B, G, N)


def _fast_inverse(field: Any) -> None:
    """gmalg inverts field elements with a Python extended Euclid (about 60 ms per SM2
    verification); Python's own ``pow(x, -1, m)`` is C and gives the same result, several times
    faster. Set on this curve's field objects only, nothing global is changed."""
    modulus = field.p
    field.inv = lambda x: pow(x, -1, modulus)


_fast_inverse(_CURVE.fp)
_fast_inverse(_CURVE.fpn)

_SM2_PARAMS_DER: bytes = encoder.encode(univ.ObjectIdentifier(SM2_CURVE_OID))
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def sm3_hex(data: bytes) -> str:
    """SM3 digest of ``data`` (GB/T 32905), lowercase hex."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


class _Sm3:
    """The hash object gmalg's SM2Core calls (reset, update, value), backed by ``cryptography``."""

    def __init__(self) -> None:
        self._hash = hashes.Hash(hashes.SM3())

    @classmethod
    def hash_length(cls) -> int:
        return 32

    def reset(self) -> None:
        self._hash = hashes.Hash(hashes.SM3())

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def value(self) -> bytes:
        return self._hash.copy().finalize()


def _core() -> Any:
    """A fresh SM2 engine: SM2Core keeps hash state, so one is never shared between calls."""
    return SM2Core(_CURVE, _Sm3(), secrets.randbits)


def _pem(label: str, der: bytes) -> bytes:
    body = base64.b64encode(der)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode(), b""])


def _unpem(data: bytes) -> tuple[str, bytes]:
    """(label, DER) of the first PEM block in ``data``. Raises ValueError."""
    match = _PEM_RE.search(data)
    if match is None:
        raise ValueError("no PEM block")
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64 in the PEM block ({exc})") from None
    return match.group(1).decode(), der


def _decode(der: bytes, spec: Any) -> Any:
    """Decode DER into ``spec``, refusing trailing bytes. Raises ValueError."""
    try:
        value, rest = decoder.decode(der, asn1Spec=spec)
    except PyAsn1Error as exc:
        raise ValueError(f"malformed DER ({exc})") from None
    if rest:
        raise ValueError("trailing bytes after the DER value")
    return value


def _algorithm(spec: Any) -> Any:
    """id-ecPublicKey with namedCurve SM2, in the AlgorithmIdentifier type ``spec``."""
    algorithm = spec.clone()
    algorithm["algorithm"] = rfc5480.id_ecPublicKey
    algorithm["parameters"] = univ.Any(_SM2_PARAMS_DER)
    return algorithm


def _check_algorithm(algorithm: Any) -> None:
    if algorithm["algorithm"] != rfc5480.id_ecPublicKey:
        raise ValueError(f"algorithm {algorithm['algorithm']} is not id-ecPublicKey")
    if not algorithm["parameters"].isValue or bytes(algorithm["parameters"]) != _SM2_PARAMS_DER:
        raise ValueError("the curve is not SM2 (1.2.156.10197.1.301)")


@dataclass(frozen=True)
class Sm2PublicKey:
    """An SM2 public key: a point of order n on the recommended curve (checked on creation)."""

    x: int
    y: int

    def __post_init__(self) -> None:
        in_field = 0 <= self.x < P and 0 <= self.y < P
        if not (in_field and _core().verify_pk((self.x, self.y))):
            raise ValueError("not a point of order n on the SM2 curve")

    @classmethod
    def from_octets(cls, octets: bytes) -> Sm2PublicKey:
        """From the uncompressed encoding 04||X||Y. Raises ValueError."""
        if len(octets) != 65 or octets[0] != 4:
            raise ValueError("not an uncompressed 65-byte SM2 point")
        return cls(int.from_bytes(octets[1:33], "big"), int.from_bytes(octets[33:], "big"))

    @property
    def octets(self) -> bytes:
        return b"\x04" + self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    @property
    def fingerprint(self) -> str:
        """``sm3:<hex>`` of the uncompressed point 04||X||Y."""
        return "sm3:" + sm3_hex(self.octets)

    def pem(self) -> bytes:
        """PEM SubjectPublicKeyInfo (id-ecPublicKey, curve SM2), as OpenSSL writes it."""
        info = rfc5280.SubjectPublicKeyInfo()
        info["algorithm"] = _algorithm(rfc5280.AlgorithmIdentifier())
        info["subjectPublicKey"] = univ.BitString.fromOctetString(self.octets)
        return _pem("PUBLIC KEY", bytes(encoder.encode(info)))

    def verify(self, signature_der: bytes, data: bytes) -> bool:
        """Whether ``signature_der`` is this key's SM2-SM3 signature of ``data`` (default ID)."""
        try:
            r, s = decode_dss_signature(signature_der)
        except ValueError:
            return False
        if encode_dss_signature(r, s) != signature_der:
            return False
        try:
            return bool(_core().verify(data, r, s, DEFAULT_ID, (self.x, self.y)))
        except (GMError, ArithmeticError, ValueError, TypeError):
            return False


@dataclass(frozen=True)
class Sm2Signer:
    """A signer backed by an SM2 private key d, 1 <= d <= n-2 (GB/T 32918.1 section 6.1)."""

    secret: int = field(repr=False)
    algorithm: ClassVar[str] = "sm2-sm3"

    def __post_init__(self) -> None:
        if not 1 <= self.secret <= N - 2:
            raise ValueError("the SM2 private key is out of range [1, n-2]")

    @classmethod
    def generate(cls) -> Sm2Signer:
        return cls(secrets.randbelow(N - 2) + 1)

    @cached_property
    def public_key(self) -> Sm2PublicKey:
        x, y = _core().generate_pk(self.secret)
        return Sm2PublicKey(int(x), int(y))

    @property
    def keyid(self) -> str:
        return self.public_key.fingerprint

    def public_key_pem(self) -> bytes:
        return self.public_key.pem()

    def private_key_pem(self) -> bytes:
        """PEM PKCS#8 (id-ecPublicKey, curve SM2) holding an RFC 5915 ECPrivateKey."""
        ec_key = rfc5915.ECPrivateKey()
        ec_key["version"] = 1
        ec_key["privateKey"] = self.secret.to_bytes(32, "big")
        ec_key["publicKey"] = univ.BitString.fromOctetString(self.public_key.octets).subtype(
            explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1)
        )
        info = rfc5208.PrivateKeyInfo()
        info["version"] = 0
        info["privateKeyAlgorithm"] = _algorithm(rfc5208.AlgorithmIdentifier())
        info["privateKey"] = encoder.encode(ec_key)
        return _pem("PRIVATE KEY", bytes(encoder.encode(info)))

    def sign(self, data: bytes) -> bytes:
        """DER SEQUENCE{r, s}: SM2 over SM3(Z || data), Z from the default ID (GB/T 32918.2)."""
        r, s = _core().sign(data, self.secret, DEFAULT_ID, (self.public_key.x, self.public_key.y))
        return encode_dss_signature(int(r), int(s))


def _curve_is_sm2(parameters: Any) -> bool:
    return bool(parameters.isValue) and str(parameters.getComponent()) == SM2_CURVE_OID


def _ec_private_key(label: str, der: bytes) -> Any:
    """The RFC 5915 ECPrivateKey inside a PKCS#8 or SEC1 PEM block. Raises ValueError."""
    if label == "PRIVATE KEY":
        info = _decode(der, rfc5208.PrivateKeyInfo())
        _check_algorithm(info["privateKeyAlgorithm"])
        ec_key = _decode(bytes(info["privateKey"]), rfc5915.ECPrivateKey())
        if ec_key["parameters"].isValue and not _curve_is_sm2(ec_key["parameters"]):
            raise ValueError("the curve is not SM2 (1.2.156.10197.1.301)")
        return ec_key
    if label == "EC PRIVATE KEY":
        ec_key = _decode(der, rfc5915.ECPrivateKey())
        if not _curve_is_sm2(ec_key["parameters"]):
            raise ValueError("the curve is not SM2 (1.2.156.10197.1.301)")
        return ec_key
    raise ValueError(f"a PEM {label!r} block, not an unencrypted PRIVATE KEY or EC PRIVATE KEY")


def _signer_from_pem(data: bytes) -> Sm2Signer:
    """Raises ValueError for anything but an SM2 private key whose public part (if given) matches."""
    ec_key = _ec_private_key(*_unpem(data))
    signer = Sm2Signer(int.from_bytes(bytes(ec_key["privateKey"]), "big"))
    if ec_key["publicKey"].isValue and _octets(ec_key["publicKey"]) != signer.public_key.octets:
        raise ValueError("the public key stored with it does not belong to the private key")
    return signer


def _octets(bits: Any) -> bytes:
    """The bytes of a BIT STRING. Raises ValueError."""
    try:
        return bytes(bits.asOctets())
    except PyAsn1Error:
        raise ValueError("a key that is not a whole number of bytes") from None


def _public_key_from_pem(data: bytes) -> Sm2PublicKey:
    """Raises ValueError for anything but a PEM SubjectPublicKeyInfo holding an SM2 point (one
    block: with two, which one counts would be a guess, as for the Ed25519 key files)."""
    if data.count(b"-----BEGIN ") > 1:
        raise ValueError("more than one PEM block; give one key per file")
    label, der = _unpem(data)
    if label != "PUBLIC KEY":
        raise ValueError(f"a PEM {label!r} block, not PUBLIC KEY")
    info = _decode(der, rfc5280.SubjectPublicKeyInfo())
    _check_algorithm(info["algorithm"])
    return Sm2PublicKey.from_octets(_octets(info["subjectPublicKey"]))


def load_sm2_public_key(data: bytes, source: str) -> Sm2PublicKey:
    """The SM2 public key in PEM ``data``; ``source`` names it in errors. Raises VerificationError."""
    try:
        return _public_key_from_pem(data)
    except ValueError as exc:
        raise VerificationError(f"{source}: not an SM2 public key ({exc})") from None


def load_sm2_signer(key_dir: Path) -> Sm2Signer | None:
    """The SM2 private key in ``key_dir``, None if there is none; refuses one others can read."""
    path = key_dir / SM2_PRIVATE_NAME
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & 0o077:
        raise SigningKeyError(
            f"{path}: private key is open to group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    try:
        return _signer_from_pem(path.read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the SM2 private key ({exc.strerror})") from None
    except ValueError as exc:
        raise SigningKeyError(
            f"{path}: not a usable SM2 private key ({exc}); move it aside and create a new key pair"
        ) from None


def init_sm2_keys(key_dir: Path) -> tuple[Path, str, bool]:
    """Create the SM2 key pair if absent. Returns (public key path, fingerprint, created)."""
    public_path = key_dir / SM2_PUBLIC_NAME
    existing = load_sm2_signer(key_dir)
    if existing is not None:
        return public_path, existing.keyid, False
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = Sm2Signer.generate()
    try:
        fd = os.open(key_dir / SM2_PRIVATE_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by someone else, or a dangling link
        return public_path, _require_signer(key_dir).keyid, False
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.private_key_pem())
    public_path.write_bytes(signer.public_key_pem())
    return public_path, signer.keyid, True


def _require_signer(key_dir: Path) -> Sm2Signer:
    signer = load_sm2_signer(key_dir)
    if signer is None:
        path = key_dir / SM2_PRIVATE_NAME
        raise SigningKeyError(f"{path}: exists but is not a readable file; remove it and try again")
    return signer
