"""The district's ingest path in-process (``Receiver.accept``), on SQLite and on a throw-away
PostgreSQL cluster: each upload is verified once and stored as verified, a copy left by a killed
earlier attempt is verified before it is kept, and a refusal (a bad signature, an SM2 key other
than the pinned one) stores nothing.

The HTTP side (spooling, signed requests, the status codes) is in ``test_district_api.py``.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from auditor.agent.outbox import pack
from auditor.bundle import verify_bundle, write_bundle
from auditor.district import bundles
from auditor.district.bundles import Receiver
from auditor.district.config import DistrictConfig
from auditor.district.db import open_database
from auditor.district.models import Upload
from auditor.district.service import District, Principal, PublicKeys
from auditor.history.models import Run
from auditor.model import ENVELOPE_NAME
from auditor.signing import Ed25519Signer, signing_entry
from auditor.smcrypto import Sm2Signer
from auditor.wire.errors import BundleRejected
from auditor.wire.protocol import ENROL_CONTEXT
from tests.support.district import db_url_for, digest_of, make_bundle
from tests.support.history_bundles import Synth


@dataclass
class Enrolled:
    who: Principal
    signer: Ed25519Signer
    key: Path  # the public key as the school gave it (for ``verify_bundle``)


@pytest.fixture(params=["sqlite", "postgresql"])
def district(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[District]:
    url = db_url_for(request, tmp_path)
    db = open_database(url)
    try:
        yield District(db, DistrictConfig(db=url, data_dir=tmp_path / "data"))
    finally:
        db.close()


def enrol(district: District, tmp_path: Path, code: str, sm2_pem: str | None = None) -> Enrolled:
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    token, _expires = district.enrolment_token(code)
    keys = PublicKeys.parse(signer.public_key_pem().decode(), sm2_pem)
    proof = base64.b64encode(signer.sign(ENROL_CONTEXT + token.encode())).decode()
    district.enrol(token, keys, proof)
    key = tmp_path / f"{code}.pub"
    key.write_bytes(signer.public_key_pem())
    return Enrolled(Principal("member", code, "school", signer.keyid), signer, key)


def send(receiver: Receiver, school: Enrolled, bundle: Path) -> str:
    archive = bundle.parent / f"{bundle.name}.tar.gz"
    _sha, size = pack(bundle, archive)
    return receiver.accept(school.who, digest_of(bundle), archive, size).status


def stored(district: District, digest: str) -> tuple[int, int]:
    """(runs, upload records) of this bundle digest."""
    with district.db.engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(Run).where(Run.bundle_digest == digest)).scalar()
        ups = conn.execute(select(func.count()).select_from(Upload).where(Upload.digest == digest)).scalar()
    return int(runs or 0), int(ups or 0)


def test_an_upload_is_verified_once_and_stored_as_verified(
    district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = enrol(district, tmp_path, "ING-1")
    bundle = make_bundle(tmp_path / "b", school.signer, "ING-1")
    calls: list[Path] = []

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(path)
        return verify_bundle(path, *args, **kwargs)

    monkeypatch.setattr(bundles, "verify_bundle", counting)
    receiver = Receiver(district)
    assert send(receiver, school, bundle) == "ingested"
    assert len(calls) == 1  # the signature, report and files: checked once, before anything is stored
    final = district.config.data_dir / "bundles" / "ING-1" / digest_of(bundle)
    assert verify_bundle(final, school.key).ok
    assert stored(district, digest_of(bundle)) == (1, 1)
    assert send(receiver, school, bundle) == "already"
    assert stored(district, digest_of(bundle)) == (1, 1)
    assert not list((district.config.data_dir / "tmp").iterdir())


@pytest.mark.parametrize("left", ["intact", "tampered"])
def test_a_copy_left_by_a_killed_attempt_is_verified_before_it_is_kept(
    district: District, tmp_path: Path, left: str
) -> None:
    school = enrol(district, tmp_path, "ING-2")
    bundle = make_bundle(tmp_path / "b", school.signer, "ING-2")
    final = district.config.data_dir / "bundles" / "ING-2" / digest_of(bundle)
    shutil.copytree(bundle, final)  # moved into place, then the process was killed
    evidence = next(p for p in sorted((final / "evidence").rglob("*")) if p.is_file())
    if left == "tampered":
        data = bytearray(evidence.read_bytes())
        data[len(data) // 2] ^= 0x01
        evidence.write_bytes(bytes(data))
    assert send(Receiver(district), school, bundle) == "ingested"
    assert verify_bundle(final, school.key).ok  # what is stored is what was verified
    assert evidence.read_bytes() == (bundle / evidence.relative_to(final)).read_bytes()
    assert stored(district, digest_of(bundle)) == (1, 1)


def test_a_signature_that_does_not_verify_stores_nothing(district: District, tmp_path: Path) -> None:
    school = enrol(district, tmp_path, "ING-3")
    bundle = make_bundle(tmp_path / "b", school.signer, "ING-3")
    env = json.loads((bundle / ENVELOPE_NAME).read_bytes())
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (bundle / ENVELOPE_NAME).write_text(json.dumps(env), encoding="utf-8")
    with pytest.raises(BundleRejected, match="does not verify with the pinned key"):
        send(Receiver(district), school, bundle)
    assert stored(district, digest_of(bundle)) == (0, 0)
    assert not list((district.config.data_dir / "bundles").glob("ING-3/*"))
    assert not list((district.config.data_dir / "tmp").iterdir())


def test_an_sm2_signature_by_another_key_than_the_pinned_one_stores_nothing(
    district: District, tmp_path: Path
) -> None:
    pinned, other = Sm2Signer.generate(), Sm2Signer.generate()
    school = enrol(district, tmp_path, "ING-4", sm2_pem=pinned.public_key_pem().decode())
    synth = Synth()
    synth.report["site"]["school"]["code"] = "ING-4"
    bundle = tmp_path / "b"
    bundle.mkdir()
    for artifact in synth.report["artifacts"]:
        synth._evidence(bundle, artifact, None)
    synth.report["signing"] = {**signing_entry(school.signer), "sm2": signing_entry(other)}
    write_bundle(bundle, synth.report, [], school.signer, sm2=other)
    assert verify_bundle(bundle, school.key).ok  # intact: only the pinned SM2 key tells
    with pytest.raises(BundleRejected, match="not the pinned SM2 key"):
        send(Receiver(district), school, bundle)
    assert stored(district, digest_of(bundle)) == (0, 0)
    assert not list((district.config.data_dir / "bundles").glob("ING-4/*"))
