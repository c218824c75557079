"""The history store's tables (SQLAlchemy 2, typed declarative).

One row in ``runs`` per ingested bundle; every other table hangs off a run (``run_pk``,
deleted with it). The schema is created and upgraded by the Alembic migrations shipped in
``migrations/``; a test keeps these models and the migrations in step.

Times are naive UTC (``DateTime`` without a zone) so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
STATUSES = ("pass", "fail", "error", "skipped", "not_applicable", "manual", "waived")


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names match on every backend."""

    metadata = MetaData(naming_convention=NAMING)


def _run_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), index=True)


class Run(Base):
    """One audit run, as read from its verified bundle."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_comparable", "school_code", "profile_key", "started_at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    school_code: Mapped[str] = mapped_column(String(64))
    school_name: Mapped[str] = mapped_column(String(255))
    school_district: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    profile_key: Mapped[str] = mapped_column(String(512))  # sorted profile ids, comma-separated
    bundle_path: Mapped[str] = mapped_column(Text)
    bundle_digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of report.dsse.json
    key_fingerprint: Mapped[str] = mapped_column(String(128))
    key_pinned: Mapped[bool] = mapped_column(Boolean)
    verified: Mapped[bool] = mapped_column(Boolean)
    exit_status: Mapped[int] = mapped_column(Integer)
    agent_version: Mapped[str | None] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(DateTime)
    n_pass: Mapped[int] = mapped_column(Integer)
    n_fail: Mapped[int] = mapped_column(Integer)
    n_error: Mapped[int] = mapped_column(Integer)
    n_skipped: Mapped[int] = mapped_column(Integer)
    n_not_applicable: Mapped[int] = mapped_column(Integer)
    n_manual: Mapped[int] = mapped_column(Integer)
    n_waived: Mapped[int] = mapped_column(Integer)


class RunProfile(Base):
    """A profile a run was evaluated against, with its score (point-scored profiles) and
    how many of its items passed."""

    __tablename__ = "run_profiles"

    run_pk: Mapped[int] = mapped_column(ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True)
    profile: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(String(64))
    score_total: Mapped[float | None] = mapped_column(Float)
    score_possible: Mapped[float | None] = mapped_column(Float)
    items_pass: Mapped[int] = mapped_column(Integer)
    items_total: Mapped[int] = mapped_column(Integer)


class FindingRow(Base):
    """A check's verdict on one target."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_check_target", "check", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    check: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    original_status: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    measured: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


class Measurement(Base):
    """A number with a unit read from a fact (goodput median/min/max, port speed, signal...)."""

    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_name_subject", "name", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    name: Mapped[str] = mapped_column(String(128))  # e.g. bandwidth.goodput.median
    subject: Mapped[str] = mapped_column(String(255))  # e.g. classroom/room101/downstream
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    valid: Mapped[bool] = mapped_column(Boolean)  # false when the probe flagged it (e.g. CPU-bound)


class IndicatorRow(Base):
    """An item (indicator) result of a profile."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    profile: Mapped[str] = mapped_column(String(128))
    indicator: Mapped[str] = mapped_column(String(128))
    number: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))


class ScoreRow(Base):
    """Points of a point-scored profile: the total (``group_id`` empty, level 0) and each group."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    profile: Mapped[str] = mapped_column(String(128))
    group_id: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[str | None] = mapped_column(String(128))
    level: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    points: Mapped[float] = mapped_column(Float)
    earned: Mapped[float] = mapped_column(Float)
    lost: Mapped[float] = mapped_column(Float)


class DeviceConfig(Base):
    """A device's masked running configuration as audited: its digests and where the bundle
    keeps it."""

    __tablename__ = "device_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    device: Mapped[str] = mapped_column(String(128))
    vendor: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(64))
    config_sha256: Mapped[str] = mapped_column(String(64))  # the probe's digest (volatile lines out)
    artifact_path: Mapped[str | None] = mapped_column(Text)  # masked configuration in the bundle
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of that file
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    changed: Mapped[bool | None] = mapped_column(Boolean)


class OpenPort(Base):
    """An open port: ``inside`` (nmap on a server) or ``outside`` (the firewall's outside view)."""

    __tablename__ = "open_ports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    view: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(64))
    proto: Mapped[str] = mapped_column(String(8))
    port: Mapped[int] = mapped_column(Integer)
    service: Mapped[str | None] = mapped_column(String(128))


class HostRow(Base):
    """A live host found by the ARP sweep; ``known`` is false when the run reported it as not
    in the inventory (None when the unknown-hosts check did not judge the segment)."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    segment: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(255))
    known: Mapped[bool | None] = mapped_column(Boolean)


class AttestationRow(Base):
    """An attestation the run carried, with its expiry."""

    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    target: Mapped[str] = mapped_column(String(255))
    by: Mapped[str] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[str | None] = mapped_column(String(64))
    expires: Mapped[date | None] = mapped_column(Date)
    expired: Mapped[bool] = mapped_column(Boolean)


class WaiverRow(Base):
    """A waiver the run was given, with its dates and whether it was in force."""

    __tablename__ = "waivers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_pk: Mapped[int] = _run_fk()
    check: Mapped[str | None] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(255))
    item: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    approver: Mapped[str | None] = mapped_column(String(255))
    risk: Mapped[str | None] = mapped_column(String(16))
    start: Mapped[date | None] = mapped_column(Date)
    expires: Mapped[date | None] = mapped_column(Date)
    in_force: Mapped[bool] = mapped_column(Boolean)


CHILD_TABLES = (RunProfile, FindingRow, Measurement, IndicatorRow, ScoreRow, DeviceConfig, OpenPort,
                HostRow, AttestationRow, WaiverRow)
