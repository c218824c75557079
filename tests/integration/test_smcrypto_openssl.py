"""SM2 keys and signatures interoperate with the machine's ``openssl`` binary (real OpenSSL 3)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.smcrypto import (
    DEFAULT_ID,
    SM2_PRIVATE_NAME,
    SM2_PUBLIC_NAME,
    init_sm2_keys,
    load_sm2_public_key,
    load_sm2_signer,
)

# GB/T 32905-2016 (GM/T 0004-2012) Appendix A, examples 1 and 2.

DISTID = "distid:" + DEFAULT_ID.decode()  # the SM2 distinguishing identifier, as openssl takes it
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=60, check=False)


@pytest.fixture()
def keys(tmp_path: Path) -> Path:
    init_sm2_keys(tmp_path / "keys")
    return tmp_path / "keys"


@needs_openssl
def test_openssl_reads_our_key_files(keys: Path) -> None:
    private = _openssl("pkey", "-in", keys / SM2_PRIVATE_NAME, "-text", "-noout")
    public = _openssl("pkey", "-pubin", "-in", keys / SM2_PUBLIC_NAME, "-text", "-noout")
    assert private.returncode == 0, private.stderr
    assert public.returncode == 0, public.stderr
    assert b"ASN1 OID: SM2" in private.stdout
    assert b"ASN1 OID: SM2" in public.stdout
    derived = _openssl("pkey", "-in", keys / SM2_PRIVATE_NAME, "-pubout")
    assert derived.stdout == (keys / SM2_PUBLIC_NAME).read_bytes()


@needs_openssl
def test_openssl_verifies_our_signature(keys: Path, tmp_path: Path) -> None:
    signer = load_sm2_signer(keys)
    assert signer is not None
    data, sig = tmp_path / "data", tmp_path / "data.sig"
    data.write_bytes(b"DSSEv1 report bytes")
    sig.write_bytes(signer.sign(data.read_bytes()))
    verify = ("pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", keys / SM2_PUBLIC_NAME)
    good = _openssl(*verify, "-in", data, "-sigfile", sig, "-pkeyopt", DISTID)
    assert good.returncode == 0, good.stdout + good.stderr
    assert b"Signature Verified Successfully" in good.stdout
    data.write_bytes(b"DSSEv1 report bytez")
    bad = _openssl(*verify, "-in", data, "-sigfile", sig, "-pkeyopt", DISTID)
    assert bad.returncode != 0
    assert b"Signature Verification Failure" in bad.stdout


@needs_openssl
def test_we_verify_an_openssl_signature(keys: Path, tmp_path: Path) -> None:
    data, sig = tmp_path / "data", tmp_path / "data.sig"
    data.write_bytes(b"signed by the openssl command")
    res = _openssl(
        "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", keys / SM2_PRIVATE_NAME,
        "-in", data, "-out", sig, "-pkeyopt", DISTID,
    )
    assert res.returncode == 0, res.stderr
    key = load_sm2_public_key((keys / SM2_PUBLIC_NAME).read_bytes(), "pub")
    assert key.verify(sig.read_bytes(), data.read_bytes())
    assert not key.verify(sig.read_bytes(), b"signed by the openssl commanD")


@needs_openssl
def test_we_load_an_openssl_generated_key(tmp_path: Path) -> None:
    private_path = tmp_path / SM2_PRIVATE_NAME
    res = _openssl("genpkey", "-algorithm", "SM2", "-out", private_path)
    assert res.returncode == 0, res.stderr
    private_path.chmod(0o600)
    signer = load_sm2_signer(tmp_path)
    assert signer is not None
    assert signer.public_key_pem() == _openssl("pkey", "-in", private_path, "-pubout").stdout
    assert signer.private_key_pem() == private_path.read_bytes()
