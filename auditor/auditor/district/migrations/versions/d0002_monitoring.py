"""Monitoring between audits: raw samples, throughput tests, hourly roll-ups, contracts, agents.

Revision ID: d0002
Revises: d0001
Create Date: 2026-12-07

Written out in full, as d0001; the indexes are explained in ``auditor.district.models``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d0002"
down_revision: str | None = "d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _s(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _d(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _f(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "district_mon_samples",
        _s("school", 64),
        _d("at"),
        _s("kind", 10),
        _s("target", 200),
        _s("uplink", 64, True),
        _s("method", 4, True),
        sa.Column("sent", sa.SmallInteger(), nullable=True),
        sa.Column("received", sa.SmallInteger(), nullable=True),
        _f("rtt_ms"),
        _f("jitter_ms"),
        _f("resolve_ms"),
        sa.Column("ok", sa.Boolean(), nullable=True),
    )
    op.create_index("ix_district_mon_samples_school_at", "district_mon_samples", ["school", "at"])
    op.create_index("ix_district_mon_samples_at", "district_mon_samples", ["at"], postgresql_using="brin")
    op.create_table(
        "district_mon_tests",
        _s("school", 64),
        _d("at"),
        _s("uplink", 64),
        _s("direction", 4),
        _f("mbps"),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_district_mon_tests_school_at", "district_mon_tests", ["school", "at"])
    op.create_index("ix_district_mon_tests_at", "district_mon_tests", ["at"])
    op.create_table(
        "district_mon_hourly",
        _s("school", 64),
        _d("hour"),
        _s("kind", 10),
        _s("target", 200),
        _s("direction", 4),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=True),
        sa.Column("received", sa.Integer(), nullable=True),
        _f("rtt_p10"),
        _f("rtt_p50"),
        _f("rtt_p90"),
        _f("mbps_min"),
        _f("mbps_p10"),
        _f("mbps_p50"),
        sa.PrimaryKeyConstraint(
            "school", "hour", "kind", "target", "direction", name="pk_district_mon_hourly"
        ),
    )
    op.create_table(
        "district_mon_outages",
        _s("school", 64),
        _d("hour"),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("school", "hour", name="pk_district_mon_outages"),
    )
    op.create_table(
        "district_mon_uplinks",
        _s("school", 64),
        _s("uplink", 64),
        _s("direction", 4),
        _d("latest_at"),
        _f("latest_mbps", False),
        sa.Column("recent", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("school", "uplink", "direction", name="pk_district_mon_uplinks"),
    )
    op.create_table(
        "district_mon_contracts",
        _s("school", 64),
        _s("uplink", 64),
        _s("provider", 120),
        _f("down_mbps", False),
        _f("up_mbps", False),
        _d("updated_at"),
        sa.PrimaryKeyConstraint("school", "uplink", name="pk_district_mon_contracts"),
    )
    op.create_index("ix_district_mon_contracts_provider", "district_mon_contracts", ["provider"])
    op.create_table(
        "district_mon_agents",
        _s("school", 64),
        _s("agent", 255),
        _d("last_heartbeat", True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        _d("last_batch_at"),
        _s("budget_month", 7, True),
        sa.Column("budget_used", sa.BigInteger(), nullable=True),
        sa.Column("budget_limit", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("school", name="pk_district_mon_agents"),
    )
    op.create_table(
        "district_mon_batches",
        _s("batch_id", 36),
        _s("school", 64),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        _d("received_at"),
        sa.PrimaryKeyConstraint("batch_id", name="pk_district_mon_batches"),
    )
    op.create_index("ix_district_mon_batches_received_at", "district_mon_batches", ["received_at"])


def downgrade() -> None:
    for table in (
        "district_mon_batches",
        "district_mon_agents",
        "district_mon_contracts",
        "district_mon_uplinks",
        "district_mon_outages",
        "district_mon_hourly",
        "district_mon_tests",
        "district_mon_samples",
    ):
        op.drop_table(table)
