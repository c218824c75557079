"""District server API against a real uvicorn server on loopback (HTTPS, throw-away CA), on SQLite
and on a throw-away PostgreSQL cluster: enrolment, signed requests, uploads and their refusals,
school isolation, key rotation and revocation, the schema beside the history store's.

Helpers here (``DistrictEnv``, ``enrol_school``, ``make_bundle``, ``upload``) are shared by the other
``test_district_*`` and ``test_agent_*`` modules.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, inspect, text

from auditor.agent.config import CA_NAME, load_agent_config
from auditor.agent.enrol import enrol, rotate
from auditor.district.models import SCHEMA_HEAD, VERSION_TABLE, Base
from auditor.district.tlsgen import make_tls
from auditor.lab.district_harness import cli
from auditor.model import ENVELOPE_NAME
from auditor.signing import Ed25519Signer, load_signer
from auditor.wire.client import ServerError, SignedClient
from auditor.wire.protocol import EMPTY_SHA256, sign_headers
from tests.support.district import (
    DistrictEnv,
    School,
    db_url_for,
    digest_of,
    enrol_school,
    make_bundle,
    random_bytes,
    start_district,
    upload,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    base = tmp_path_factory.mktemp(f"district-{request.param}")
    district = start_district(base, db_url_for(request, base), max_upload_mb=3)
    try:
        yield district
    finally:
        district.server.stop()


def put_raw(school: School, digest: str, data: bytes) -> httpx.Response:
    path = f"/v1/bundles/{digest}"
    headers = sign_headers(school.signer, school.code, "PUT", path, hashlib.sha256(data).hexdigest())
    return school.client.http.put(path, content=data, headers=headers)


def nothing_stored(env: DistrictEnv, school: School) -> None:
    assert env.runs(school.code) == []
    assert not list((env.data / "bundles").glob(f"{school.code}/*"))
    assert not [p for p in (env.data / "tmp").iterdir() if p.name.startswith(("unpack-", "upload-"))]


# -- enrolment -------------------------------------------------------------------------------


def test_enrolment_token_works_once(env: DistrictEnv) -> None:
    school = enrol_school(env)
    token = env.admin_call("POST", f"/v1/admin/members/{school.code}/tokens").json()["token"]
    enrol(env.base / "again", env.server.url, token, env.server.ca, env.base / "again-keys")
    with pytest.raises(ServerError) as info:
        enrol(env.base / "replay", env.server.url, token, env.server.ca, env.base / "replay-keys")
    assert info.value.status == 401 and "already used" in info.value.detail


def test_expired_and_unknown_tokens_are_refused(env: DistrictEnv) -> None:
    res = cli("district", "--home", str(env.home), "enroll", "--school", "EXP-1", "--hours", "0.0003")
    assert res.returncode == 0, res.stderr
    time.sleep(1.5)
    with pytest.raises(ServerError, match="expired"):
        enrol(env.base / "exp", env.server.url, res.stdout.strip(), env.server.ca, env.base / "exp-keys")
    with pytest.raises(ServerError, match="unknown enrolment token"):
        enrol(env.base / "unk", env.server.url, "x" * 32, env.server.ca, env.base / "unk-keys")


def test_enrolment_needs_proof_of_the_key(env: DistrictEnv) -> None:
    token = env.admin_call("POST", "/v1/admin/members/PROOF-1/tokens").json()["token"]
    other = enrol_school(env)
    with env.http() as http:
        got = http.post(
            "/v1/enrol",
            json={"token": token, "public_key_pem": other.signer.public_key_pem().decode(), "proof": "AAAA"},
        )
    assert got.status_code == 401 and "proof" in got.json()["detail"]


def test_wrong_ca_is_refused_by_the_agent(env: DistrictEnv, tmp_path: Path) -> None:
    other_ca, _cert, _key = make_tls(tmp_path / "other", ["127.0.0.1"])
    token = env.admin_call("POST", "/v1/admin/members/CA-1/tokens").json()["token"]
    from auditor.wire.errors import AgentError

    with pytest.raises(AgentError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        enrol(tmp_path / "a", env.server.url, token, other_ca, tmp_path / "k")


# -- signed requests -------------------------------------------------------------------------


def test_unsigned_and_badly_signed_requests(env: DistrictEnv) -> None:
    school = enrol_school(env)
    http = school.client.http
    got = http.get("/v1/jobs")
    assert got.status_code == 401 and "not signed" in got.json()["detail"]
    headers = sign_headers(school.signer, school.code, "GET", "/v1/jobs?wait=0", EMPTY_SHA256)
    assert http.get("/v1/jobs?wait=0", headers=headers).status_code == 200
    replay = http.get("/v1/jobs?wait=0", headers=headers)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
    moved = sign_headers(school.signer, school.code, "GET", "/v1/jobs?wait=0", EMPTY_SHA256)
    got = http.get("/v1/runs", headers=moved)
    assert got.status_code == 401 and "signature does not match" in got.json()["detail"]
    stale = sign_headers(school.signer, school.code, "GET", "/v1/jobs", EMPTY_SHA256, now=time.time() - 3600)
    got = http.get("/v1/jobs", headers=stale)
    assert got.status_code == 401 and "clock" in got.json()["detail"]
    impostor = sign_headers(school.signer, "OTHER-SCHOOL", "GET", "/v1/jobs", EMPTY_SHA256)
    assert http.get("/v1/jobs", headers=impostor).status_code == 401


def test_body_must_match_its_signed_digest(env: DistrictEnv) -> None:
    school = enrol_school(env)
    body = json.dumps({"status": "failed", "message": "x"}).encode()
    headers = sign_headers(
        school.signer, school.code, "POST", "/v1/jobs/nope/result", hashlib.sha256(b"{}").hexdigest()
    )
    got = school.client.http.post(
        "/v1/jobs/nope/result", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert got.status_code == 400 and "signed SHA-256" in got.json()["detail"]


def test_roles(env: DistrictEnv) -> None:
    a, b = enrol_school(env), enrol_school(env)
    upload(b, make_bundle(env.base / "roles" / "b", b.signer, b.code))
    with pytest.raises(ServerError) as info:
        a.client.call("GET", f"/v1/runs?school={b.code}")
    assert info.value.status == 403 and "only its own" in info.value.detail
    with pytest.raises(ServerError) as info:
        a.client.call("GET", f"/v1/keys?member={b.code}")
    assert info.value.status == 403
    assert a.client.call("GET", "/v1/runs")["runs"] == []
    assert [r["school"] for r in b.client.call("GET", "/v1/runs")["runs"]] == [b.code]
    with pytest.raises(ServerError) as info:
        a.client.call("GET", "/v1/admin/members")
    assert info.value.status == 403
    assert env.admin_call("GET", "/v1/jobs").status_code == 403  # the admin is not an agent
    assert {b.code} <= {r["school"] for r in env.runs()}
    with env.http() as http:
        got = http.get("/v1/admin/members", headers={"authorization": "Bearer not-a-token"})
    assert got.status_code == 401


# -- uploads ---------------------------------------------------------------------------------


def test_upload_is_verified_ingested_and_idempotent(env: DistrictEnv) -> None:
    school = enrol_school(env)
    bundle = make_bundle(env.base / "idem" / school.code, school.signer, school.code)
    first = upload(school, bundle)
    assert first["status"] == "ingested" and first["school"] == school.code
    again = upload(school, bundle)
    assert again == {**first, "status": "already"}
    runs = env.runs(school.code)
    assert len(runs) == 1 and runs[0]["key_status"] == "active" and runs[0]["origin"] == "agent"
    stored = env.data / "bundles" / school.code / first["digest"]
    assert (stored / ENVELOPE_NAME).is_file()
    res = cli("verify", str(stored), "--key", str(school.key_dir / "agent-ed25519.pub"))
    assert res.returncode == 0, res.stderr


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


UNSAFE = {
    "traversal": ([(_info("../escape.txt", size=2), b"hi")], "leaves the bundle"),
    "absolute": ([(_info("/etc/evil", size=2), b"hi")], "absolute path"),
    "symlink": ([(_info("report.json", tarfile.SYMTYPE, link="/etc/passwd"), None)], "symbolic link"),
    "hardlink": ([(_info("report.json", tarfile.LNKTYPE, link="x"), None)], "hard link"),
    "device": ([(_info("dev", tarfile.CHRTYPE), None)], "device file"),
    "fifo": ([(_info("fifo", tarfile.FIFOTYPE), None)], "FIFO"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_archives_are_refused(env: DistrictEnv, case: str) -> None:
    school = enrol_school(env)
    members, why = UNSAFE[case]
    got = put_raw(school, "a" * 64, _tar(members))
    assert got.status_code == 422 and why in got.json()["detail"], got.text
    nothing_stored(env, school)


def test_not_an_archive(env: DistrictEnv) -> None:
    school = enrol_school(env)
    got = put_raw(school, "b" * 64, b"this is not a tar file at all" * 10)
    assert got.status_code == 422 and "not a readable tar archive" in got.json()["detail"]


def _tampered(bundle: Path) -> None:
    target = next(p for p in sorted((bundle / "evidence").rglob("*")) if p.is_file())
    target.write_bytes(target.read_bytes() + b"x")


def _unsigned(bundle: Path) -> None:
    (bundle / ENVELOPE_NAME).unlink()


def _no_signatures(bundle: Path) -> None:
    env = json.loads((bundle / ENVELOPE_NAME).read_bytes())
    env["signatures"] = []
    (bundle / ENVELOPE_NAME).write_text(json.dumps(env))


def _report_edited(bundle: Path) -> None:
    (bundle / "report.json").write_bytes(
        (bundle / "report.json").read_bytes().replace(b'"fail"', b'"pass"', 1)
    )


def _evidence(bundle: Path) -> Path:
    return next(p for p in sorted((bundle / "evidence").rglob("*")) if p.is_file())


def _flipped(bundle: Path) -> None:  # same size: only the digest tells
    target = _evidence(bundle)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))


def _deleted(bundle: Path) -> None:
    _evidence(bundle).unlink()


def _emptied(bundle: Path) -> None:
    _evidence(bundle).write_bytes(b"")


def _added(bundle: Path) -> None:
    (bundle / "evidence" / "added.txt").write_text("not in the report\n", encoding="utf-8")


BAD = {
    "flipped-evidence": (_flipped, 422, "SHA-256 does not match the signed report"),
    "deleted-evidence": (_deleted, 422, "missing"),
    "emptied-evidence": (_emptied, 422, "the signed report says"),
    "added-file": (_added, 422, "evidence/added.txt"),
    "tampered-evidence": (_tampered, 422, "the signed report says"),  # one byte longer: the size tells
    "report-edited": (_report_edited, 422, "differs from the signed report"),
    "unsigned": (_unsigned, 422, "not signed"),
    "no-signatures": (_no_signatures, 422, "carries no signature"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bundles_are_refused_and_stored_nowhere(env: DistrictEnv, case: str) -> None:
    school = enrol_school(env)
    bundle = make_bundle(env.base / "bad" / f"{case}-{school.code}", school.signer, school.code)
    digest = digest_of(bundle)
    change, status, why = BAD[case]
    change(bundle)
    with pytest.raises(ServerError) as info:
        upload(school, bundle, digest=digest if case == "unsigned" else digest_of(bundle))
    assert info.value.status == status and why in info.value.detail, info.value.detail
    nothing_stored(env, school)


def test_wrong_school_is_refused(env: DistrictEnv) -> None:
    a, b = enrol_school(env), enrol_school(env)
    of_b = make_bundle(env.base / "wrong" / "of-b", b.signer, b.code)
    with pytest.raises(ServerError) as info:
        upload(a, of_b)
    assert info.value.status == 403 and "wrong school" in info.value.detail and b.code in info.value.detail
    names_b = make_bundle(env.base / "wrong" / "names-b", a.signer, b.code)
    with pytest.raises(ServerError) as info:
        upload(a, names_b)
    assert info.value.status == 403 and f"of school '{b.code}'" in info.value.detail
    stranger = make_bundle(
        env.base / "wrong" / "stranger", Ed25519Signer(Ed25519PrivateKey.generate()), a.code
    )
    with pytest.raises(ServerError) as info:
        upload(a, stranger)
    assert info.value.status == 422 and "not a key pinned" in info.value.detail
    nothing_stored(env, a)


def test_digest_in_the_url_must_be_the_envelopes(env: DistrictEnv) -> None:
    school = enrol_school(env)
    bundle = make_bundle(env.base / "url" / school.code, school.signer, school.code)
    with pytest.raises(ServerError) as info:
        upload(school, bundle, digest="c" * 64)
    assert info.value.status == 422 and "not the digest" in info.value.detail
    nothing_stored(env, school)


def test_oversized_upload_is_refused(env: DistrictEnv) -> None:
    school = enrol_school(env)
    big = random_bytes(4 * 1024 * 1024)  # does not compress
    bundle = make_bundle(
        env.base / "big" / school.code, school.signer, school.code, extra={"evidence/big.bin": big}
    )
    with pytest.raises(ServerError) as info:
        upload(school, bundle)
    assert info.value.status == 413 and "larger than this server accepts" in info.value.detail
    nothing_stored(env, school)


# -- keys ------------------------------------------------------------------------------------


def test_rotation_then_revocation(env: DistrictEnv) -> None:
    school = enrol_school(env)
    before = make_bundle(env.base / "rot" / "before", school.signer, school.code)
    upload(school, before)
    old_client = school.client
    config = load_agent_config(school.home)
    old_id, new_id = rotate(config)
    assert old_id == school.signer.keyid and new_id != old_id
    with pytest.raises(ServerError) as info:
        old_client.call("GET", "/v1/jobs")
    assert info.value.status == 401 and "replaced" in info.value.detail
    new_signer = load_signer(school.key_dir)
    assert new_signer.keyid == new_id
    new = School(
        school.code,
        school.home,
        school.key_dir,
        new_signer,
        SignedClient(env.server.url, school.home / CA_NAME, new_signer, school.code),
    )
    queued_with_old = make_bundle(env.base / "rot" / "queued", school.signer, school.code)
    assert upload(new, queued_with_old)["status"] == "ingested"  # a rotated (not revoked) key's bundle
    upload(new, make_bundle(env.base / "rot" / "after", new_signer, school.code))
    revoked = env.admin_call("POST", f"/v1/admin/keys/{old_id}/revoke", {"reason": "laptop stolen"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    late = make_bundle(env.base / "rot" / "late", school.signer, school.code)
    with pytest.raises(ServerError) as info:
        upload(new, late)
    assert info.value.status == 422 and "revoked" in info.value.detail
    runs = {r["bundle_digest"]: r for r in env.runs(school.code)}
    assert len(runs) == 3
    assert runs[digest_of(before)]["key_status"] == "revoked"  # earlier runs stay, marked
    assert runs[digest_of(before)]["key_revoked_at"] is not None
    res = cli("verify", str(env.data / "bundles" / school.code / digest_of(before)))
    assert res.returncode == 0, res.stderr  # and still verifiable
    env.admin_call("POST", f"/v1/admin/keys/{new_id}/revoke", {"reason": "test"})
    with pytest.raises(ServerError) as info:
        new.client.call("GET", "/v1/jobs")
    assert info.value.status == 401 and "revoked" in info.value.detail
    again = env.admin_call("POST", f"/v1/admin/keys/{new_id}/revoke", {"reason": "twice"})
    assert again.status_code == 409


# -- jobs ------------------------------------------------------------------------------------


def test_jobs_are_claimed_once_and_finished_with_their_bundle(env: DistrictEnv) -> None:
    school = enrol_school(env)
    created = env.admin_call(
        "POST", "/v1/admin/jobs", {"school": school.code, "profiles": ["gbt22239-2019-level2"]}
    )
    assert created.status_code == 201, created.text
    job = created.json()
    started = time.monotonic()
    got = school.client.call("GET", "/v1/jobs?wait=5")["jobs"]
    assert [j["id"] for j in got] == [job["id"]] and time.monotonic() - started < 3
    started = time.monotonic()
    assert school.client.call("GET", "/v1/jobs?wait=1.5")["jobs"] == []  # claimed: not offered twice
    assert time.monotonic() - started >= 1.4  # a long poll
    bundle = make_bundle(env.base / "jobs" / school.code, school.signer, school.code)
    with pytest.raises(ServerError) as info:
        school.client.call(
            "POST", f"/v1/jobs/{job['id']}/result", {"status": "done", "bundle_digest": digest_of(bundle)}
        )
    assert info.value.status == 409
    upload(school, bundle)
    done = school.client.call(
        "POST", f"/v1/jobs/{job['id']}/result", {"status": "done", "bundle_digest": digest_of(bundle)}
    )
    assert done["status"] == "done"
    again = school.client.call(
        "POST", f"/v1/jobs/{job['id']}/result", {"status": "done", "bundle_digest": digest_of(bundle)}
    )
    assert again == done
    other = enrol_school(env)
    with pytest.raises(ServerError) as info:
        other.client.call("POST", f"/v1/jobs/{job['id']}/result", {"status": "failed"})
    assert info.value.status == 404


def test_job_for_unknown_school_or_profile(env: DistrictEnv) -> None:
    got = env.admin_call("POST", "/v1/admin/jobs", {"school": "NOPE", "profiles": ["gbt22239-2019-level2"]})
    assert got.status_code == 404
    school = enrol_school(env)
    got = env.admin_call("POST", "/v1/admin/jobs", {"school": school.code, "profiles": ["no-such-profile"]})
    assert got.status_code == 400 and "no-such-profile" in got.json()["detail"]


# -- schema and documentation ----------------------------------------------------------------


def test_tables_beside_the_history_store(env: DistrictEnv) -> None:
    engine = create_engine(env.db_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert {"runs", "findings", "alembic_version", VERSION_TABLE, "district_keys"} <= tables
            assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == SCHEMA_HEAD  # noqa: S608
            context = MigrationContext.configure(
                conn,
                opts={
                    "version_table": VERSION_TABLE,
                    "include_name": lambda name, kind, _p: (
                        kind != "table" or str(name).startswith("district_")
                    ),
                },
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_openapi_document(tmp_path: Path) -> None:
    res = cli("district", "openapi", "--out", str(tmp_path / "openapi.json"))
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "openapi.json").read_text())
    assert {
        "/v1/enrol",
        "/v1/jobs",
        "/v1/bundles/{digest}",
        "/v1/jobs/{job_id}/result",
        "/v1/keys/rotate",
        "/v1/admin/jobs",
        "/v1/federation/runs",
    } <= set(doc["paths"])
    assert "422" in doc["paths"]["/v1/bundles/{digest}"]["put"]["responses"]
