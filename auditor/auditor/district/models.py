"""The district server's own tables (SQLAlchemy 2), beside the history store's in one database.

Every table is named ``district_*`` and the Alembic chain in ``migrations/`` keeps its revision in
``district_alembic_version``, so the history store's migrations and these never see each other's
tables. Runs, findings and measurements themselves live in the history store's tables.

Times are naive UTC, as in the history store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from auditor.history.models import NAMING

VERSION_TABLE = "district_alembic_version"
SCHEMA_HEAD = "d0002"


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


# -- monitoring between audits (auditor.wire.monitoring) -------------------------------------------
#
# Raw samples have no surrogate key (one row is ~70 bytes; a key would add 8 plus its index). The
# (school, at) btree serves each school's recent samples (state, the roll-up of an hour at
# ingest, retention per school); on PostgreSQL a BRIN index on ``at`` (a few pages: rows arrive in
# time order) serves the district-wide "last N minutes" reads of the overview and the metrics.

MonSample = Table(
    "district_mon_samples",
    Base.metadata,
    Column("school", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("kind", String(10), nullable=False),  # reach | dns | heartbeat
    Column("target", String(200), nullable=False),
    Column("uplink", String(64)),
    Column("method", String(4)),
    Column("sent", SmallInteger),
    Column("received", SmallInteger),
    Column("rtt_ms", Float),
    Column("jitter_ms", Float),
    Column("resolve_ms", Float),
    Column("ok", Boolean),
    Index("ix_district_mon_samples_school_at", "school", "at"),
    Index("ix_district_mon_samples_at", "at", postgresql_using="brin"),
)

MonTest = Table(
    "district_mon_tests",
    Base.metadata,
    Column("school", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("uplink", String(64), nullable=False),
    Column("direction", String(4), nullable=False),  # down | up
    Column("mbps", Float),
    Column("bytes", BigInteger),
    Column("valid", Boolean, nullable=False),
    Column("reason", Text),
    Index("ix_district_mon_tests_school_at", "school", "at"),
    Index("ix_district_mon_tests_at", "at"),
)


class MonHourly(Base):
    """One hour of one school's samples of one kind and target (throughput: per direction)."""

    __tablename__ = "district_mon_hourly"

    school: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    direction: Mapped[str] = mapped_column(String(4), primary_key=True)  # "" unless throughput
    n: Mapped[int] = mapped_column(Integer)
    ok: Mapped[int | None] = mapped_column(Integer)  # dns resolved / throughput valid
    sent: Mapped[int | None] = mapped_column(Integer)
    received: Mapped[int | None] = mapped_column(Integer)
    rtt_p10: Mapped[float | None] = mapped_column(Float)
    rtt_p50: Mapped[float | None] = mapped_column(Float)
    rtt_p90: Mapped[float | None] = mapped_column(Float)
    mbps_min: Mapped[float | None] = mapped_column(Float)
    mbps_p10: Mapped[float | None] = mapped_column(Float)
    mbps_p50: Mapped[float | None] = mapped_column(Float)


class MonOutage(Base):
    """An hour in which at least one round of probes of an uplink's endpoints went unanswered
    (``sent``: how many such samples; written by the roll-up): the contract report reads the raw
    samples of these hours only, to find the outages, instead of scanning the month. (Rows from
    before this meaning, hours in which every reach probe was lost, are such hours too.)"""

    __tablename__ = "district_mon_outages"

    school: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)


class MonUplink(Base):
    """Per school, uplink and direction: the latest valid test and the last few (newest first, as
    ``unix-seconds:Mbit/s`` pairs), kept at ingest so the overview reads one row, not the tests."""

    __tablename__ = "district_mon_uplinks"

    school: Mapped[str] = mapped_column(String(64), primary_key=True)
    uplink: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(4), primary_key=True)
    latest_at: Mapped[datetime] = mapped_column(DateTime)
    latest_mbps: Mapped[float] = mapped_column(Float)
    recent: Mapped[str] = mapped_column(Text)


class MonContract(Base):
    """A school's uplink contract as its agent last reported it."""

    __tablename__ = "district_mon_contracts"

    school: Mapped[str] = mapped_column(String(64), primary_key=True)
    uplink: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(120), index=True)
    down_mbps: Mapped[float] = mapped_column(Float)
    up_mbps: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MonAgent(Base):
    """Per school: the last heartbeat, the newest batch and the month's test budget."""

    __tablename__ = "district_mon_agents"

    school: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(255))
    last_heartbeat: Mapped[datetime | None] = mapped_column(DateTime)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_batch_at: Mapped[datetime] = mapped_column(DateTime)
    budget_month: Mapped[str | None] = mapped_column(String(7))
    budget_used: Mapped[int | None] = mapped_column(BigInteger)
    budget_limit: Mapped[int | None] = mapped_column(BigInteger)


class MonBatch(Base):
    """A batch already stored (a batch id seen again is a retry and stores nothing)."""

    __tablename__ = "district_mon_batches"

    batch_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    school: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
