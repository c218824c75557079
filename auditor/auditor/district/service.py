"""The district's state: members and their keys, tokens, signed-request checks, jobs, runs.

Plain synchronous functions over the database (the API runs them in its thread pool; the CLI
calls them directly). Every check that refuses raises a ``DistrictError`` naming why.
"""

from __future__ import annotations

import base64
import functools
import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from auditor.district.config import DistrictConfig
from auditor.district.db import Database, utcnow
from auditor.district.models import AdminToken, EnrolmentToken, Job, Key, Member, Nonce, Upload
from auditor.district.schemas import JobOut, KeyOut, MemberOut, RunOut, ScoreOut
from auditor.errors import VerificationError
from auditor.signing import fingerprint, load_public_key
from auditor.smcrypto import load_sm2_public_key
from auditor.wire.errors import BadRequest, Conflict, NotFound, Unauthenticated
from auditor.wire.protocol import ENROL_CONTEXT, ROTATE_CONTEXT, SignedRequest, token_sha256

CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
SESSION_HOURS = 12
SESSION_COOKIE = "auditor_session"

# The statements of every signed request, built once and executed with their parameters.
_REQUEST_KEY = (
    select(Key.public_pem, Key.member, Key.status, Key.retired_at, Key.revoked_at, Member.kind)
    .join(Member, Member.code == Key.member)
    .where(Key.fingerprint == bindparam("keyid"))
)
_NONCES = Nonce.metadata.tables[Nonce.__tablename__]
_INSERT_NONCE = insert(_NONCES)
_EXPIRED_NONCES = delete(_NONCES).where(_NONCES.c.expires_at < bindparam("now"))


@functools.lru_cache(maxsize=4096)
def _request_key(pem: str) -> Ed25519PublicKey:
    """A pinned key's PEM, parsed (a pure function of the text: the PEM itself is read from the
    database on every request, so a revoked or rotated key is refused at once)."""
    return load_public_key(pem.encode(), "pinned key")


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the district administrator, or a member (school or district)."""

    role: str  # admin | member
    member: str | None = None
    kind: str | None = None
    keyid: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_read(self, member: str) -> bool:
        return self.is_admin or self.member == member


ADMIN = Principal("admin")


def check_code(code: str) -> str:
    if not code or len(code) > 64 or not set(code) <= CODE_CHARS:
        raise BadRequest(f"member code {code!r}: 1-64 letters, digits, '-', '_' or '.'")
    return code


@dataclass(frozen=True)
class PublicKeys:
    """An agent's public keys, parsed and fingerprinted."""

    pem: str
    keyid: str
    sm2_pem: str | None
    sm2_keyid: str | None

    @classmethod
    def parse(cls, pem: str, sm2_pem: str | None) -> PublicKeys:
        try:
            key = load_public_key(pem.encode(), "public_key_pem")
            sm2 = load_sm2_public_key(sm2_pem.encode(), "sm2_public_key_pem") if sm2_pem else None
        except VerificationError as exc:
            raise BadRequest(str(exc)) from None
        return cls(pem, fingerprint(key), sm2_pem, sm2.fingerprint if sm2 else None)

    def check_proof(self, proof: str, data: bytes, what: str) -> None:
        try:
            load_public_key(self.pem.encode(), "key").verify(base64.b64decode(proof, validate=True), data)
        except (InvalidSignature, ValueError):
            raise Unauthenticated(f"the {what} proof is not a signature by the key being enrolled") from None


class District:
    """Operations on one district's database."""

    def __init__(self, db: Database, config: DistrictConfig) -> None:
        self.db = db
        self.config = config

    # -- administrators ---------------------------------------------------------------------

    def new_admin_token(self, label: str, kind: str = "token", hours: float | None = None) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + timedelta(hours=hours) if hours else None
        with self.db.writer.begin() as conn:
            conn.execute(
                insert(AdminToken).values(
                    token_sha256=token_sha256(token),
                    kind=kind,
                    label=label,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return token

    def admin(self, token: str, kind: str | None = None) -> Principal | None:
        """The administrator, if ``token`` is a valid admin token (or, with ``kind``, session)."""
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(AdminToken).where(AdminToken.token_sha256 == token_sha256(token))
            ).first()
        if row is None or row.revoked_at is not None or (kind and row.kind != kind):
            return None
        if row.expires_at is not None and row.expires_at < utcnow():
            return None
        return ADMIN

    def new_session(self) -> str:
        return self.new_admin_token("dashboard session", kind="session", hours=SESSION_HOURS)

    # -- enrolment --------------------------------------------------------------------------

    def enrolment_token(
        self, code: str, kind: str = "school", name: str | None = None, hours: float | None = None
    ) -> tuple[str, datetime]:
        """A one-time token that binds ``code`` to the key of the agent that presents it first."""
        check_code(code)
        now = utcnow()
        expires = now + timedelta(hours=hours or self.config.token_hours)
        token = secrets.token_urlsafe(24)
        with self.db.writer.begin() as conn:
            member = conn.execute(select(Member).where(Member.code == code)).first()
            if member is None:
                conn.execute(insert(Member).values(code=code, kind=kind, name=name, created_at=now))
            elif member.kind != kind:
                raise Conflict(f"{code} is already enrolled as a {member.kind}, not a {kind}")
            conn.execute(
                insert(EnrolmentToken).values(
                    token_sha256=token_sha256(token),
                    member=code,
                    kind=kind,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return token, expires

    def enrol(self, token: str, keys: PublicKeys, proof: str) -> tuple[str, str]:
        """Bind the token's member to ``keys``; returns (member, kind). The token is used up."""
        keys.check_proof(proof, ENROL_CONTEXT + token.encode(), "enrolment")
        now = utcnow()
        with self.db.writer.begin() as conn:
            row = conn.execute(
                select(EnrolmentToken).where(EnrolmentToken.token_sha256 == token_sha256(token))
            ).first()
            if row is None:
                raise Unauthenticated("unknown enrolment token")
            if row.used_at is not None:
                raise Unauthenticated(
                    f"this enrolment token was already used "
                    f"({row.used_at:%Y-%m-%d %H:%M} UTC); ask the district for a new one"
                )
            if row.expires_at < now:
                raise Unauthenticated(f"this enrolment token expired at {row.expires_at:%Y-%m-%d %H:%M} UTC")
            used = conn.execute(
                update(EnrolmentToken)
                .where(EnrolmentToken.token_sha256 == row.token_sha256, EnrolmentToken.used_at.is_(None))
                .values(used_at=now)
            ).rowcount
            if used != 1:
                raise Unauthenticated("this enrolment token was already used")
            self._pin(conn, row.member, keys, now)
        return row.member, row.kind

    def _pin(self, conn: Connection, member: str, keys: PublicKeys, now: datetime) -> None:
        old = conn.execute(select(Key).where(Key.fingerprint == keys.keyid)).first()
        if old is not None and (old.member != member or old.status == "revoked"):
            why = "revoked" if old.status == "revoked" else "pinned for another member"
            raise Conflict(
                f"key {keys.keyid} is {why}; create a new key (auditor keys init --key-dir NEW_DIR)"
            )
        conn.execute(
            update(Key)
            .where(Key.member == member, Key.status == "active", Key.fingerprint != keys.keyid)
            .values(status="retired", retired_at=now)
        )
        if old is not None:
            conn.execute(
                update(Key).where(Key.fingerprint == keys.keyid).values(status="active", retired_at=None)
            )
            return
        conn.execute(
            insert(Key).values(
                fingerprint=keys.keyid,
                member=member,
                public_pem=keys.pem,
                sm2_fingerprint=keys.sm2_keyid,
                sm2_pem=keys.sm2_pem,
                status="active",
                created_at=now,
            )
        )

    # -- signed requests --------------------------------------------------------------------

    def authenticate(self, signed: SignedRequest, method: str, target: str) -> Principal:
        """Check a signed request's key, signature and nonce; returns the member it is from."""
        with self.db.engine.connect() as conn:
            row = conn.execute(_REQUEST_KEY, {"keyid": signed.keyid}).first()
        if row is None:
            raise Unauthenticated(f"unknown key {signed.keyid}: enrol first (auditor agent enroll)")
        if row.member != signed.member:
            raise Unauthenticated(f"key {signed.keyid} is not pinned for {signed.member}")
        if row.status == "revoked":
            raise Unauthenticated(f"key {signed.keyid} was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
        if row.status == "retired":
            raise Unauthenticated(f"key {signed.keyid} was replaced on {row.retired_at:%Y-%m-%d %H:%M} UTC")
        signed.check(_request_key(row.public_pem), method, target)
        self._use_nonce(signed)
        return Principal("member", row.member, row.kind, signed.keyid)

    def _use_nonce(self, signed: SignedRequest) -> None:
        now = utcnow()
        expires = now + timedelta(seconds=2 * self.config.clock_skew_s)  # past the time window
        try:
            with self.db.writer.begin() as conn:
                conn.execute(
                    _INSERT_NONCE, {"keyid": signed.keyid, "nonce": signed.nonce, "expires_at": expires}
                )
                if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
                    conn.execute(_EXPIRED_NONCES, {"now": now})
        except IntegrityError:
            raise Unauthenticated("replayed request: this nonce was already used") from None

    # -- keys -------------------------------------------------------------------------------

    def rotate(self, who: Principal, keys: PublicKeys, proof: str) -> str:
        assert who.member is not None and who.keyid is not None
        keys.check_proof(proof, ROTATE_CONTEXT + f"{who.member}\n{who.keyid}".encode(), "rotation")
        with self.db.writer.begin() as conn:
            self._pin(conn, who.member, keys, utcnow())
        return keys.keyid

    def revoke(self, keyid: str, reason: str) -> KeyOut:
        now = utcnow()
        with self.db.writer.begin() as conn:
            done = conn.execute(
                update(Key)
                .where(Key.fingerprint == keyid, Key.status != "revoked")
                .values(status="revoked", revoked_at=now, reason=reason)
            ).rowcount
            row = conn.execute(select(Key).where(Key.fingerprint == keyid)).first()
        if row is None:
            raise NotFound(f"no key {keyid}")
        if not done:
            raise Conflict(f"key {keyid} was already revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
        return _key_out(row)

    def keys(self, member: str | None = None) -> list[KeyOut]:
        query = select(Key).order_by(Key.member, Key.created_at)
        if member:
            query = query.where(Key.member == member)
        with self.db.engine.connect() as conn:
            return [_key_out(r) for r in conn.execute(query).all()]

    def key(self, keyid: str) -> Any:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(Key).where(Key.fingerprint == keyid)).first()
        if row is None:
            raise NotFound(f"no key {keyid}")
        return row

    def members(self) -> list[MemberOut]:
        with self.db.engine.connect() as conn:
            members = conn.execute(select(Member).order_by(Member.code)).all()
            active = dict(
                conn.execute(select(Key.member, Key.fingerprint).where(Key.status == "active")).all()
            )
        return [
            MemberOut(
                code=m.code,
                kind=m.kind,
                name=m.name,
                via=m.via,
                active_key=active.get(m.code),
                created_at=m.created_at,
            )
            for m in members
        ]

    # -- jobs -------------------------------------------------------------------------------

    def create_job(
        self,
        school: str,
        profiles: Sequence[str],
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        allow_class_hours: bool = False,
    ) -> JobOut:
        now = utcnow()
        start = _naive(not_before) or now
        end = _naive(not_after)
        if end is not None and end <= max(start, now):
            raise BadRequest("not_after must be later than not_before and now")
        with self.db.writer.begin() as conn:
            member = conn.execute(select(Member).where(Member.code == school)).first()
            if member is None or member.kind != "school":
                raise NotFound(f"no enrolled school {school}")
            values = {
                "id": str(uuid.uuid4()),
                "member": school,
                "profiles": ",".join(profiles),
                "allow_class_hours": allow_class_hours,
                "not_before": start,
                "not_after": end,
                "status": "pending",
                "created_at": now,
            }
            conn.execute(insert(Job).values(**values))
            row = conn.execute(select(Job).where(Job.id == values["id"])).one()
        return _job_out(row)

    def claim_jobs(self, member: str) -> list[JobOut]:
        """Jobs due for ``member`` (pending and in their window, or whose lease ran out), claimed."""
        now = utcnow()
        lease = now + timedelta(minutes=self.config.job_lease_minutes)
        with self.db.engine.connect() as conn:  # cheap read first: most polls find nothing
            due = conn.execute(select(Job.id).where(Job.member == member, _due(now)).limit(1)).first()
        if due is None:
            return []
        claimed = []
        with self.db.writer.begin() as conn:
            conn.execute(
                update(Job)
                .where(
                    Job.member == member,
                    Job.status == "pending",
                    Job.not_after.is_not(None),
                    Job.not_after < now,
                )
                .values(status="expired", finished_at=now, message="window passed before the agent polled")
            )
            for row in conn.execute(
                select(Job).where(Job.member == member, _due(now)).order_by(Job.created_at)
            ).all():
                got = conn.execute(
                    update(Job)
                    .where(Job.id == row.id, Job.status == row.status)
                    .values(status="claimed", claimed_at=now, lease_until=lease)
                ).rowcount
                if got:
                    claimed.append(conn.execute(select(Job).where(Job.id == row.id)).one())
        return [_job_out(r) for r in claimed]

    def finish_job(
        self,
        who: Principal,
        job_id: str,
        status: str,
        digest: str | None,
        message: str | None,
        run_at: datetime | None,
    ) -> JobOut:
        now = utcnow()
        with self.db.writer.begin() as conn:
            row = conn.execute(select(Job).where(Job.id == job_id)).first()
            if row is None or row.member != who.member:
                raise NotFound(f"no job {job_id} for {who.member}")
            if row.status in {"done", "failed"}:
                if row.status == status and row.bundle_digest == digest:
                    return _job_out(row)  # a retried report: same answer
                raise Conflict(f"job {job_id} is already {row.status}")
            values: dict[str, Any] = {"status": status, "message": message}
            if status == "done":
                if (
                    digest is None
                    or conn.execute(
                        select(Upload.digest).where(Upload.digest == digest, Upload.member == who.member)
                    ).first()
                    is None
                ):
                    raise Conflict("the job's bundle has not been uploaded (upload it first)")
                values.update(bundle_digest=digest, finished_at=now)
            elif status == "failed":
                values.update(finished_at=now)
            else:
                when = _naive(run_at) or now
                values.update(lease_until=when + timedelta(minutes=self.config.job_lease_minutes))
            conn.execute(update(Job).where(Job.id == job_id).values(**values))
            return _job_out(conn.execute(select(Job).where(Job.id == job_id)).one())

    def jobs(self, member: str | None = None, limit: int = 200) -> list[JobOut]:
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if member:
            query = query.where(Job.member == member)
        with self.db.engine.connect() as conn:
            return [_job_out(r) for r in conn.execute(query).all()]

    # -- runs -------------------------------------------------------------------------------

    def runs(self, member: str | None = None, limit: int | None = None) -> list[RunOut]:
        infos = self.db.store.runs(school=member, limit=limit)
        with self.db.engine.connect() as conn:
            keys = {
                r.fingerprint: r
                for r in conn.execute(select(Key.fingerprint, Key.status, Key.revoked_at)).all()
            }
            query = select(Upload.digest, Upload.origin, Upload.via)
            if member:
                query = query.where(Upload.member == member)
            uploads = {r.digest: r for r in conn.execute(query).all()}
        out = []
        for info in infos:
            key = keys.get(info.key_fingerprint)
            up = uploads.get(info.bundle_digest)
            out.append(
                RunOut(
                    run_id=info.run_id,
                    school=info.school_code,
                    school_name=info.school_name,
                    started_at=info.started_at,
                    profiles=list(info.profiles),
                    counts=info.counts,
                    scores=[ScoreOut(**s.to_json()) for s in info.scores],
                    bundle_digest=info.bundle_digest,
                    key_fingerprint=info.key_fingerprint,
                    key_status=key.status if key else "unknown",
                    key_revoked_at=key.revoked_at if key else None,
                    origin=up.origin if up else "local",
                    via=up.via if up else None,
                )
            )
        return out


def _due(now: datetime) -> Any:
    pending = (
        (Job.status == "pending")
        & (Job.not_before <= now)
        & or_(Job.not_after.is_(None), Job.not_after >= now)
    )
    lapsed = Job.status.in_(("claimed", "deferred")) & (Job.lease_until < now)
    return or_(pending, lapsed)


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _job_out(row: Any) -> JobOut:
    return JobOut(
        id=row.id,
        school=row.member,
        profiles=[p for p in row.profiles.split(",") if p],
        allow_class_hours=row.allow_class_hours,
        not_before=row.not_before,
        not_after=row.not_after,
        status=row.status,
        created_at=row.created_at,
        lease_until=row.lease_until,
        finished_at=row.finished_at,
        bundle_digest=row.bundle_digest,
        message=row.message,
    )


def _key_out(row: Any) -> KeyOut:
    return KeyOut(
        fingerprint=row.fingerprint,
        member=row.member,
        status=row.status,
        public_key_pem=row.public_pem,
        sm2_fingerprint=row.sm2_fingerprint,
        created_at=row.created_at,
        retired_at=row.retired_at,
        revoked_at=row.revoked_at,
        reason=row.reason,
    )
