"""SM3 digests and SM2 signatures: published vectors, tampering, key files, and OpenSSL interop.

Real cryptography throughout (the OpenSSL interoperability tests are in tests/integration).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gmalg.sm2 import SM2Core
from pyasn1.codec.der import encoder
from pyasn1.type import tag, univ
from pyasn1_modules import rfc5915

from auditor.errors import SigningKeyError, VerificationError
from auditor.signing import envelope, pae
from auditor.smcrypto import (
    _CURVE,
    DEFAULT_ID,
    SM2_PRIVATE_NAME,
    SM2_PUBLIC_NAME,
    Sm2PublicKey,
    Sm2Signer,
    _Sm3,
    init_sm2_keys,
    load_sm2_public_key,
    load_sm2_signer,
    sm3_hex,
)

# GB/T 32905-2016 (GM/T 0004-2012) Appendix A, examples 1 and 2.
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]

# GM/T 0003.5-2012 / GB/T 32918.5-2017 Annex A (signature over the recommended curve,
# ID "1234567812345678"); the same numbers are OpenSSL's test/sm2_internal_test.c sm2_sig_test.
ANNEX_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
ANNEX_X = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
ANNEX_Y = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
ANNEX_MSG = b"message digest"
ANNEX_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
ANNEX_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
ANNEX_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
ANNEX_SIG = bytes.fromhex(
    "3046022100f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    "022100b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
)


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


@pytest.fixture(scope="module")
def signer() -> Sm2Signer:
    return Sm2Signer.generate()


# --- SM3 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "digest"), SM3_VECTORS)
def test_sm3_standard_vectors(message: bytes, digest: str) -> None:
    assert sm3_hex(message) == digest


def test_sm3_is_not_sha256() -> None:
    assert sm3_hex(b"") == "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
    assert sm3_hex(b"abc") != sm3_hex(b"abd")


# --- SM2 sign / verify -------------------------------------------------------------------------


def test_round_trip(signer: Sm2Signer) -> None:
    data = b"report payload \x00\xff" * 100
    sig = signer.sign(data)
    assert sig[0] == 0x30  # DER SEQUENCE
    assert signer.public_key.verify(sig, data)
    assert signer.sign(data) != sig  # a fresh nonce each time


def test_flipped_data_or_signature_fails(signer: Sm2Signer) -> None:
    data = b"the audit passed"
    sig = signer.sign(data)
    assert not signer.public_key.verify(sig, _flip(data, 4))
    assert not signer.public_key.verify(_flip(sig, len(sig) - 1), data)  # last byte of s
    assert not signer.public_key.verify(_flip(sig, 10), data)  # inside r


def test_signature_by_another_key_fails(signer: Sm2Signer) -> None:
    data = b"the audit passed"
    assert not signer.public_key.verify(Sm2Signer.generate().sign(data), data)


@pytest.mark.parametrize(
    "junk",
    [b"", b"junk", b"\x30\x00", bytes(72), b"\x30\x06\x02\x01\x00\x02\x01\x00", ANNEX_SIG + b"\x00"],
)
def test_malformed_signature_is_false_not_an_error(junk: bytes) -> None:
    key = Sm2PublicKey(ANNEX_X, ANNEX_Y)
    assert key.verify(ANNEX_SIG, ANNEX_MSG)
    assert key.verify(junk, ANNEX_MSG) is False


def test_published_vector_verifies() -> None:
    key = Sm2PublicKey(ANNEX_X, ANNEX_Y)
    assert key.verify(ANNEX_SIG, ANNEX_MSG)
    assert not key.verify(ANNEX_SIG, b"message digesT")


def test_published_private_key_gives_published_public_key() -> None:
    assert Sm2Signer(ANNEX_D).public_key == Sm2PublicKey(ANNEX_X, ANNEX_Y)


def test_published_nonce_gives_published_signature() -> None:
    """Our curve and SM3 wiring, fed the Annex's nonce k, reproduce its (r, s) exactly."""
    core = SM2Core(_CURVE, _Sm3(), lambda _bits: ANNEX_K)
    assert core.sign(ANNEX_MSG, ANNEX_D, DEFAULT_ID, (ANNEX_X, ANNEX_Y)) == (ANNEX_R, ANNEX_S)


def test_fits_the_dsse_envelope(signer: Sm2Signer) -> None:
    env = envelope(b'{"score": 1}', signer)
    entry = env["signatures"][0]
    assert entry["keyid"] == signer.keyid
    assert signer.public_key.verify(base64.b64decode(entry["sig"]), pae(env["payloadType"], b'{"score": 1}'))


def test_keyid_is_sm3_of_the_uncompressed_point() -> None:
    key = Sm2PublicKey(ANNEX_X, ANNEX_Y)
    point = b"\x04" + ANNEX_X.to_bytes(32, "big") + ANNEX_Y.to_bytes(32, "big")
    assert key.fingerprint == "sm3:" + sm3_hex(point)
    assert Sm2Signer(ANNEX_D).keyid == key.fingerprint


def test_repr_hides_the_private_key() -> None:
    assert f"{ANNEX_D:x}" not in repr(Sm2Signer(ANNEX_D)).lower()
    assert str(ANNEX_D) not in repr(Sm2Signer(ANNEX_D))


def test_out_of_range_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        Sm2Signer(0)
    with pytest.raises(ValueError):
        Sm2PublicKey(ANNEX_X, ANNEX_Y ^ 1)  # not on the curve


# --- key files -------------------------------------------------------------------------------


def test_init_creates_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    public_path, fingerprint, created = init_sm2_keys(tmp_path / "keys")
    private_path = tmp_path / "keys" / SM2_PRIVATE_NAME
    assert created
    assert public_path == tmp_path / "keys" / SM2_PUBLIC_NAME
    assert private_path.stat().st_mode & 0o777 == 0o600
    assert fingerprint.startswith("sm3:")
    assert len(fingerprint) == 4 + 64
    signer = load_sm2_signer(tmp_path / "keys")
    assert signer is not None
    assert signer.keyid == fingerprint
    assert load_sm2_public_key(public_path.read_bytes(), "pub").fingerprint == fingerprint


def test_second_init_keeps_the_key(tmp_path: Path) -> None:
    _, first, _ = init_sm2_keys(tmp_path)
    before = (tmp_path / SM2_PRIVATE_NAME).read_bytes()
    public_path, second, created = init_sm2_keys(tmp_path)
    assert (second, created) == (first, False)
    assert (tmp_path / SM2_PRIVATE_NAME).read_bytes() == before
    assert public_path.exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_private_key_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    init_sm2_keys(tmp_path)
    path = tmp_path / SM2_PRIVATE_NAME
    path.chmod(mode)
    with pytest.raises(SigningKeyError, match="chmod 600") as err:
        load_sm2_signer(tmp_path)
    assert str(path) in str(err.value)
    with pytest.raises(SigningKeyError):
        init_sm2_keys(tmp_path)


def test_no_key_gives_none(tmp_path: Path) -> None:
    assert load_sm2_signer(tmp_path) is None
    assert load_sm2_signer(tmp_path / "absent") is None


def _write_private(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / SM2_PRIVATE_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def test_ed25519_private_key_is_not_an_sm2_key(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = _write_private(tmp_path, pem)
    with pytest.raises(SigningKeyError, match="not a usable SM2 private key") as err:
        load_sm2_signer(tmp_path)
    assert str(path) in str(err.value)


def test_junk_private_key_is_refused(tmp_path: Path) -> None:
    _write_private(tmp_path, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(SigningKeyError, match="not a usable SM2 private key"):
        load_sm2_signer(tmp_path)


def _sec1_pem(secret: int, point: bytes) -> bytes:
    """An RFC 5915 "EC PRIVATE KEY" naming the SM2 curve, the other layout OpenSSL reads."""
    ec_key = rfc5915.ECPrivateKey()
    ec_key["version"] = 1
    ec_key["privateKey"] = secret.to_bytes(32, "big")
    ec_key["parameters"]["namedCurve"] = univ.ObjectIdentifier("1.2.156.10197.1.301")
    ec_key["publicKey"] = univ.BitString.fromOctetString(point).subtype(
        explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1)
    )
    body = base64.encodebytes(encoder.encode(ec_key))
    return b"-----BEGIN EC PRIVATE KEY-----\n" + body + b"-----END EC PRIVATE KEY-----\n"


def test_sec1_private_key_is_read(tmp_path: Path) -> None:
    annex = Sm2PublicKey(ANNEX_X, ANNEX_Y)
    _write_private(tmp_path, _sec1_pem(ANNEX_D, annex.octets))
    signer = load_sm2_signer(tmp_path)
    assert signer is not None
    assert signer.keyid == annex.fingerprint


def test_private_key_stored_with_another_public_key_is_refused(tmp_path: Path) -> None:
    _write_private(tmp_path, _sec1_pem(ANNEX_D, Sm2Signer.generate().public_key.octets))
    with pytest.raises(SigningKeyError, match="does not belong to the private key"):
        load_sm2_signer(tmp_path)


def _spki_with_last_byte_flipped() -> bytes:
    pem = Sm2PublicKey(ANNEX_X, ANNEX_Y).pem()
    der = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    body = base64.encodebytes(_flip(der, len(der) - 1))
    return b"-----BEGIN PUBLIC KEY-----\n" + body + b"-----END PUBLIC KEY-----\n"


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"not a key",
        b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
        Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        _spki_with_last_byte_flipped(),  # the right format, a point off the curve
    ],
)
def test_junk_public_key_is_a_verification_error(junk: bytes) -> None:
    with pytest.raises(VerificationError, match=r"^bundle/agent-sm2\.pub: not an SM2 public key"):
        load_sm2_public_key(junk, "bundle/agent-sm2.pub")


# --- OpenSSL interoperability ------------------------------------------------------------------


def test_a_key_file_with_two_pem_blocks_is_refused(signer: Sm2Signer) -> None:
    """Which of two keys counts would be a guess: one key per file, as for Ed25519 key files."""
    pem = signer.public_key_pem()
    assert load_sm2_public_key(pem, "agent-sm2.pub").fingerprint == signer.keyid
    with pytest.raises(VerificationError, match="more than one PEM block"):
        load_sm2_public_key(pem + pem, "agent-sm2.pub")
