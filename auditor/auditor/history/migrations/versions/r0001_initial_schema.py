"""Initial schema of the history store.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written out in full (not imported from the models) so this revision stays what it was when
the models change; ``tests/test_history.py`` checks that head matches the models on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILDREN = ("run_profiles", "findings", "measurements", "indicators", "scores", "device_configs",
            "open_ports", "hosts", "attestations", "waivers")


def _child(name: str, *columns: sa.Column[Any], pk: Sequence[str] = ("id",)) -> None:
    """A table hanging off ``runs`` (deleted with its run), indexed by ``run_pk``."""
    cols: list[sa.Column[Any]] = []
    if "id" in pk:
        cols.append(sa.Column("id", sa.Integer(), nullable=False))
    cols.append(sa.Column("run_pk", sa.Integer(), nullable=False))
    op.create_table(
        name, *cols, *columns,
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name=f"fk_{name}_run_pk_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*pk, name=f"pk_{name}"),
    )
    if "id" in pk:
        op.create_index(f"ix_{name}_run_pk", name, ["run_pk"])


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _col(name: str, kind: sa.types.TypeEngine[Any], nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=nullable)


def _runs() -> None:
    counts = [_col(f"n_{s}", sa.Integer()) for s in
              ("pass", "fail", "error", "skipped", "not_applicable", "manual", "waived")]
    op.create_table(
        "runs",
        _col("pk", sa.Integer()), _str("run_id", 64), _str("school_code", 64),
        _str("school_name", 255), _str("school_district", 255, True),
        _col("started_at", sa.DateTime()), _col("finished_at", sa.DateTime(), True),
        _str("profile_key", 512), _col("bundle_path", sa.Text()), _str("bundle_digest", 64),
        _str("key_fingerprint", 128), _col("key_pinned", sa.Boolean()), _col("verified", sa.Boolean()),
        _col("exit_status", sa.Integer()), _str("agent_version", 64, True),
        _col("ingested_at", sa.DateTime()), *counts,
        sa.PrimaryKeyConstraint("pk", name="pk_runs"),
        sa.UniqueConstraint("bundle_digest", name="uq_runs_bundle_digest"),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
    )
    op.create_index("ix_runs_comparable", "runs", ["school_code", "profile_key", "started_at"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])


def _results() -> None:
    _child("run_profiles", _str("profile", 128), _col("title", sa.Text(), True),
           _str("version", 64, True), _str("sha256", 64, True), _col("score_total", sa.Float(), True),
           _col("score_possible", sa.Float(), True), _col("items_pass", sa.Integer()),
           _col("items_total", sa.Integer()), pk=("run_pk", "profile"))
    _child("findings", _str("check", 128), _str("target", 255), _str("status", 16),
           _str("original_status", 16, True), _str("severity", 16), _col("measured", sa.Float(), True),
           _col("threshold", sa.Float(), True), _str("unit", 64, True), _col("message", sa.Text()))
    op.create_index("ix_findings_check_target", "findings", ["check", "target"])
    _child("measurements", _str("name", 128), _str("subject", 255), _col("value", sa.Float()),
           _str("unit", 32), _col("valid", sa.Boolean()))
    op.create_index("ix_measurements_name_subject", "measurements", ["name", "subject"])
    _child("indicators", _str("profile", 128), _str("indicator", 128), _str("number", 32, True),
           _col("title", sa.Text(), True), _str("status", 16))
    _child("scores", _str("profile", 128), _str("group_id", 128), _str("parent_id", 128, True),
           _col("level", sa.Integer()), _str("number", 32, True), _col("title", sa.Text(), True),
           _col("points", sa.Float()), _col("earned", sa.Float()), _col("lost", sa.Float()))


def _observations() -> None:
    _child("device_configs", _str("device", 128), _str("vendor", 32, True), _str("address", 64, True),
           _str("config_sha256", 64), _col("artifact_path", sa.Text(), True),
           _str("artifact_sha256", 64, True), _str("previous_sha256", 64, True),
           _col("changed", sa.Boolean(), True))
    _child("open_ports", _str("view", 16), _str("host", 255), _str("address", 64, True),
           _str("proto", 8), _col("port", sa.Integer()), _str("service", 128, True))
    _child("hosts", _str("segment", 64), _str("ip", 64), _str("mac", 32, True),
           _str("vendor", 255, True), _col("known", sa.Boolean(), True))
    _child("attestations", _str("target", 255), _str("by", 255), _str("role", 255, True),
           _str("at", 64, True), _col("expires", sa.Date(), True), _col("expired", sa.Boolean()))
    _child("waivers", _str("check", 128, True), _str("target", 255, True), _str("item", 255, True),
           _col("reason", sa.Text(), True), _str("approver", 255, True), _str("risk", 16, True),
           _col("start", sa.Date(), True), _col("expires", sa.Date(), True), _col("in_force", sa.Boolean()))


def upgrade() -> None:
    _runs()
    _results()
    _observations()


def downgrade() -> None:
    for name in CHILDREN:
        op.drop_table(name)
    op.drop_table("runs")
