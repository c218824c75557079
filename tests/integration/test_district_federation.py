"""City roll-up: a district forwards the runs it verified to a city server speaking the same API;
the city verifies each school's original envelope, keeps it byte for byte, and refuses tampered
envelopes, schools another district owns, and forwarding by anything but a member district."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.lab.district_harness import cli
from auditor.model import ENVELOPE_NAME
from auditor.signing import load_public_key, load_signer, open_envelope
from auditor.wire.client import ServerError, SignedClient
from tests.support.district import DistrictEnv, digest_of, enrol_school, make_bundle, start_district, upload


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DistrictEnv, DistrictEnv]]:
    base = tmp_path_factory.mktemp("federation")
    city = start_district(base / "city", f"sqlite:///{base / 'city.db'}")
    district = start_district(base / "district", f"sqlite:///{base / 'district.db'}")
    try:
        yield city, district
    finally:
        district.server.stop()
        city.server.stop()


def _join(city: DistrictEnv, district: DistrictEnv, code: str) -> None:
    token = cli("district", "--home", str(city.home), "enroll", "--school", code, "--kind", "district")
    assert token.returncode == 0, token.stderr
    res = cli(
        "district",
        "--home",
        str(district.home),
        "join-parent",
        city.server.url,
        "--token",
        token.stdout.strip(),
        "--ca",
        str(city.server.ca),
    )
    assert res.returncode == 0, res.stderr


def test_forwarded_runs_keep_the_schools_signature(pair: tuple[DistrictEnv, DistrictEnv]) -> None:
    city, district = pair
    _join(city, district, "HAIDIAN")
    school = enrol_school(district, "FED-1")
    first = make_bundle(district.base / "b1", school.signer, "FED-1", "联邦学校", html=True)
    second = make_bundle(district.base / "b2", school.signer, "FED-1", "联邦学校")
    upload(school, first)
    upload(school, second)
    res = cli("district", "--home", str(district.home), "forward")
    assert res.returncode == 0 and "forwarded 2 run(s)" in res.stderr, res.stderr
    runs = {r["bundle_digest"]: r for r in city.runs("FED-1")}
    assert set(runs) == {digest_of(first), digest_of(second)}
    assert {(r["origin"], r["via"]) for r in runs.values()} == {("federation", "HAIDIAN")}
    kept = city.data / "forwarded" / "FED-1" / digest_of(first)
    assert (kept / ENVELOPE_NAME).read_bytes() == (first / ENVELOPE_NAME).read_bytes()
    payload = open_envelope(
        json.loads((kept / ENVELOPE_NAME).read_bytes()),
        load_public_key(school.signer.public_key_pem(), "school"),
    )
    assert json.loads(payload)["site"]["school"]["code"] == "FED-1"
    with city.http() as http:
        got = http.get(
            f"/dashboard/runs/{runs[digest_of(first)]['run_id']}/report.html",
            headers={"authorization": f"Bearer {city.admin}"},
        )
    assert got.status_code == 200 and "联邦学校" in got.text
    again = cli("district", "--home", str(district.home), "forward")
    assert "forwarded 0 run(s)" in again.stderr


def _district_client(city: DistrictEnv, district: DistrictEnv, code: str) -> SignedClient:
    return SignedClient(city.server.url, city.server.ca, load_signer(district.home / "keys"), code)


def test_city_refuses_bad_forwards(pair: tuple[DistrictEnv, DistrictEnv], tmp_path: Path) -> None:
    city, district = pair
    school = enrol_school(district, "FED-2")
    bundle = make_bundle(district.base / "b3", school.signer, "FED-2")
    envelope = json.loads((bundle / ENVELOPE_NAME).read_bytes())
    body = {
        "school": "FED-2",
        "school_key_pem": school.signer.public_key_pem().decode(),
        "key_status": "active",
        "envelope": json.dumps(envelope),
    }
    client = _district_client(city, district, "HAIDIAN")
    payload = json.loads(base64.b64decode(envelope["payload"]))
    payload["summary"]["exit_status"] = 0
    forged = {**envelope, "payload": base64.b64encode(json.dumps(payload).encode()).decode()}
    with pytest.raises(ServerError) as info:
        client.call("POST", "/v1/federation/runs", {**body, "envelope": json.dumps(forged)})
    assert info.value.status == 422 and "does not verify" in info.value.detail
    assert client.call("POST", "/v1/federation/runs", body)["status"] == "ingested"
    other_district = start_district(tmp_path / "other", f"sqlite:///{tmp_path / 'other.db'}")
    try:
        _join(city, other_district, "CHAOYANG")
        with pytest.raises(ServerError) as info:
            _district_client(city, other_district, "CHAOYANG").call("POST", "/v1/federation/runs", body)
        assert info.value.status == 403 and "not forwarded by CHAOYANG" in info.value.detail
    finally:
        other_district.server.stop()
    agent = enrol_school(city, "CITY-SCHOOL")
    with pytest.raises(ServerError) as info:
        agent.client.call("POST", "/v1/federation/runs", body)
    assert info.value.status == 403 and "member district" in info.value.detail
