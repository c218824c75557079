"""The district server's own tables (SQLAlchemy 2), beside the history store's in one database.

Every table is named ``district_*`` and the Alembic chain in ``migrations/`` keeps its revision in
``district_alembic_version``, so the history store's migrations and these never see each other's
tables. Runs, findings and measurements themselves live in the history store's tables.

Times are naive UTC, as in the history store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from auditor.history.models import NAMING

VERSION_TABLE = "district_alembic_version"
SCHEMA_HEAD = "d0001"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Member(Base):
    """An enrolled school, or (on a city server) a district that forwards its schools' runs.

    ``via`` is set on a city server for a school whose runs a member district forwards."""

    __tablename__ = "district_members"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # school | district
    name: Mapped[str | None] = mapped_column(String(255))
    via: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Key(Base):
    """A member's public signing key: ``active`` (one per member), ``retired`` (rotated out; its
    bundles still verify) or ``revoked`` (its later bundles and requests are refused)."""

    __tablename__ = "district_keys"
    __table_args__ = (Index("ix_district_keys_member_status", "member", "status"),)

    fingerprint: Mapped[str] = mapped_column(String(128), primary_key=True)
    member: Mapped[str] = mapped_column(ForeignKey("district_members.code"))
    public_pem: Mapped[str] = mapped_column(Text)
    sm2_fingerprint: Mapped[str | None] = mapped_column(String(128))
    sm2_pem: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class EnrolmentToken(Base):
    """A one-time enrolment token (only its SHA-256 is stored)."""

    __tablename__ = "district_enrolment_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Nonce(Base):
    """Nonces of signed requests seen within the allowed clock skew (replay protection)."""

    __tablename__ = "district_nonces"

    keyid: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class AdminToken(Base):
    """A district administrator's bearer token (SHA-256 only), or a dashboard session."""

    __tablename__ = "district_admin_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # token | session
    label: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Job(Base):
    """A remote check: run these profiles at the school, within a window."""

    __tablename__ = "district_jobs"
    __table_args__ = (Index("ix_district_jobs_member_status", "member", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member: Mapped[str] = mapped_column(ForeignKey("district_members.code"))
    profiles: Mapped[str] = mapped_column(Text)  # comma-separated profile names
    allow_class_hours: Mapped[bool] = mapped_column(Boolean)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    not_after: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending claimed deferred done failed expired
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    bundle_digest: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)


class Upload(Base):
    """A bundle the server accepted: from a school's agent, or forwarded by a member district."""

    __tablename__ = "district_uploads"
    __table_args__ = (Index("ix_district_uploads_member", "member", "uploaded_at"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of report.dsse.json
    member: Mapped[str] = mapped_column(String(64))  # the school
    run_id: Mapped[str] = mapped_column(String(64))
    key_fingerprint: Mapped[str] = mapped_column(String(128))
    bundle_dir: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    origin: Mapped[str] = mapped_column(String(16))  # agent | federation
    via: Mapped[str | None] = mapped_column(String(64))  # forwarding district (origin federation)
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime)  # sent on to the parent
