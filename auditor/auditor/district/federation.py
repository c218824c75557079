"""City roll-up: a district forwards the runs it verified to a higher-level server (same API).

What travels is the school's original DSSE envelope (``report.dsse.json``, whose payload is the
whole signed report: findings, indicators, scores, every evidence digest), the school's public
key as the district pinned it and its status there, and ``report.html`` (its SHA-256 is in the
signed report, so the city checks it too). Evidence files stay at the district; their digests
are signed, so they can be fetched and checked later.

The district enrols at the city like an agent (kind ``district``, its own Ed25519 key) and signs
its forwarding requests. The city trusts a member district to vouch for its schools' keys: the
first district to forward a school's run owns that school code there, and another district
cannot forward runs for it. The city verifies every envelope with the vouched key before it
stores anything, and keeps the envelope byte for byte, so the school's signature stays
verifiable at every level.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import insert, select, update
from starlette.concurrency import run_in_threadpool

from auditor.district.auth import member
from auditor.district.bundles import record_upload
from auditor.district.db import utcnow
from auditor.district.models import Key, Member, Upload
from auditor.district.schemas import ForwardIn, Problem, UploadOut
from auditor.district.service import District, Principal, PublicKeys
from auditor.errors import VerificationError
from auditor.model import ENVELOPE_NAME, REPORT_NAME
from auditor.signing import PUBLIC_NAME, load_public_key, open_envelope
from auditor.wire.errors import BundleRejected, Forbidden

log = logging.getLogger("auditor.district.federation")
router = APIRouter(
    prefix="/v1/federation",
    tags=["federation"],
    responses={c: {"model": Problem} for c in (400, 401, 403, 409, 422, 503)},
)


async def _district_member(request: Request) -> Principal:
    who = await member(request)
    if who.kind != "district":
        raise Forbidden("only a member district forwards runs")
    return who


ForwardingDistrict = Annotated[Principal, Depends(_district_member)]


@router.post("/runs", response_model=UploadOut, status_code=201)
async def receive(
    body: ForwardIn, request: Request, response: Response, who: ForwardingDistrict
) -> UploadOut:
    """Store a run a member district verified, after verifying its original envelope here."""
    district: District = request.app.state.district
    out = await run_in_threadpool(accept_forwarded, district, who, body)
    response.status_code = 201 if out.status == "ingested" else 200
    return out


def accept_forwarded(district: District, who: Principal, body: ForwardIn) -> UploadOut:
    assert who.member is not None
    env_bytes = body.envelope.encode()
    digest = hashlib.sha256(env_bytes).hexdigest()
    keys = PublicKeys.parse(body.school_key_pem, None)
    try:
        payload = open_envelope(json.loads(env_bytes), load_public_key(keys.pem.encode(), "school key"))
        report = json.loads(payload)
    except (VerificationError, ValueError) as exc:
        raise BundleRejected(f"the forwarded envelope does not verify with the school's key: {exc}") from None
    code = ((report.get("site") or {}).get("school") or {}).get("code")
    if code != body.school:
        raise BundleRejected(f"the signed report is of school {code!r}, not {body.school}")
    html = _report_html(body.report_html, report)
    _claim_school(district, who.member, body, keys)
    return _store(district, who.member, digest, env_bytes, payload, report, keys, html)


def _report_html(encoded: str | None, report: dict[str, Any]) -> bytes | None:
    if encoded is None:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BundleRejected("report_html is not base64") from None
    listed = next((r for r in report.get("renderings", []) if r.get("path") == "report.html"), None)
    if listed is None or hashlib.sha256(data).hexdigest() != listed.get("sha256"):
        raise BundleRejected("report.html does not match the digest in the signed report")
    return data


def _claim_school(district: District, via: str, body: ForwardIn, keys: PublicKeys) -> None:
    now = utcnow()
    with district.db.writer.begin() as conn:
        school = conn.execute(select(Member).where(Member.code == body.school)).first()
        if school is None:
            conn.execute(
                insert(Member).values(
                    code=body.school, kind="school", name=body.school_name, via=via, created_at=now
                )
            )
        elif school.via != via:
            raise Forbidden(f"school {body.school} is not forwarded by {via} here")
        key = conn.execute(select(Key).where(Key.fingerprint == keys.keyid)).first()
        if key is not None and key.member != body.school:
            raise Forbidden(f"key {keys.keyid} is pinned for another member")
        revoked = now if body.key_status == "revoked" else None
        if key is None:
            conn.execute(
                insert(Key).values(
                    fingerprint=keys.keyid,
                    member=body.school,
                    public_pem=keys.pem,
                    status=body.key_status,
                    created_at=now,
                    revoked_at=revoked,
                    reason="revoked at the member district" if revoked else None,
                )
            )
        elif key.status not in {body.key_status, "revoked"}:
            conn.execute(
                update(Key)
                .where(Key.fingerprint == keys.keyid)
                .values(status=body.key_status, revoked_at=revoked)
            )


def _store(
    district: District,
    via: str,
    digest: str,
    env_bytes: bytes,
    payload: bytes,
    report: dict[str, Any],
    keys: PublicKeys,
    html: bytes | None,
) -> UploadOut:
    school = str(report["site"]["school"]["code"])
    with district.db.engine.connect() as conn:
        row = conn.execute(select(Upload.run_id, Upload.member).where(Upload.digest == digest)).first()
    if row is not None:
        return UploadOut(digest=digest, run_id=row.run_id, school=row.member, status="already")
    final = district.config.data_dir / "forwarded" / school / digest
    _write_summary(final, env_bytes, payload, keys, html)
    # the envelope was verified above, against the school's pinned key
    result = district.db.store.ingest_verified(final, report, digest, keys.keyid, True)
    return record_upload(
        district,
        Upload(
            digest=digest,
            member=school,
            key_fingerprint=keys.keyid,
            bundle_dir=str(final),
            size=len(env_bytes),
            origin="federation",
            via=via,
        ),
        result,
    )


def _write_summary(
    final: Path, env_bytes: bytes, payload: bytes, keys: PublicKeys, html: bytes | None
) -> None:
    if final.is_dir():
        return
    tmp = final.parent / f".{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    (tmp / ENVELOPE_NAME).write_bytes(env_bytes)
    (tmp / REPORT_NAME).write_bytes(payload)
    (tmp / PUBLIC_NAME).write_text(keys.pem, encoding="ascii")
    if html is not None:
        (tmp / "report.html").write_bytes(html)
    try:
        tmp.rename(final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


# -- the forwarding side ---------------------------------------------------------------------


@dataclass
class ForwardResult:
    forwarded: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def pending(district: District, limit: int = 500) -> list[Any]:
    with district.db.engine.connect() as conn:
        return list(
            conn.execute(
                select(Upload, Key.public_pem, Key.status.label("key_status"), Member.name)
                .join(Key, Key.fingerprint == Upload.key_fingerprint)
                .join(Member, Member.code == Upload.member, isouter=True)
                .where(Upload.forwarded_at.is_(None))
                .order_by(Upload.uploaded_at)
                .limit(limit)
            ).all()
        )


def forward(district: District, client: Any) -> ForwardResult:
    """Send every run not yet forwarded to the parent (``client``: a SignedClient as this district)."""
    from auditor.wire.client import ServerError  # noqa: PLC0415

    result = ForwardResult()
    for row in pending(district):
        body = _forward_body(row)
        try:
            client.call("POST", "/v1/federation/runs", body)
        except ServerError as exc:
            if not exc.permanent:
                raise
            result.refused.append((row.digest, exc.detail))
            log.warning("parent refused %s: %s", row.digest[:12], exc.detail)
            continue
        with district.db.writer.begin() as conn:
            conn.execute(update(Upload).where(Upload.digest == row.digest).values(forwarded_at=utcnow()))
        result.forwarded.append(row.digest)
    return result


def _forward_body(row: Any) -> dict[str, Any]:
    bundle = Path(row.bundle_dir)
    html_path = bundle / "report.html"
    return ForwardIn(
        school=row.member,
        school_name=row.name,
        school_key_pem=row.public_pem,
        key_status=row.key_status,
        envelope=(bundle / ENVELOPE_NAME).read_text(encoding="utf-8"),
        report_html=base64.b64encode(html_path.read_bytes()).decode() if html_path.is_file() else None,
    ).model_dump(mode="json")


__all__ = ["ForwardResult", "SimpleNamespace", "forward", "router"]
