"""District server tables.

Revision ID: d0001
Revises:
Create Date: 2026-12-10

Written out in full (not imported from the models) so this revision stays what it was when the
models change; ``tests/test_district_api.py`` checks that head matches the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _s(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _t(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _d(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "district_members",
        _s("code", 64),
        _s("kind", 16),
        _s("name", 255, True),
        _s("via", 64, True),
        _d("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_district_members"),
    )
    op.create_table(
        "district_keys",
        _s("fingerprint", 128),
        _s("member", 64),
        _t("public_pem"),
        _s("sm2_fingerprint", 128, True),
        _t("sm2_pem", True),
        _s("status", 16),
        _d("created_at"),
        _d("retired_at", True),
        _d("revoked_at", True),
        _t("reason", True),
        sa.ForeignKeyConstraint(
            ["member"], ["district_members.code"], name="fk_district_keys_member_district_members"
        ),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_district_keys"),
    )
    op.create_index("ix_district_keys_member_status", "district_keys", ["member", "status"])
    op.create_table(
        "district_enrolment_tokens",
        _s("token_sha256", 64),
        _s("member", 64),
        _s("kind", 16),
        _d("created_at"),
        _d("expires_at"),
        _d("used_at", True),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_district_enrolment_tokens"),
    )
    op.create_table(
        "district_nonces",
        _s("keyid", 128),
        _s("nonce", 64),
        _d("expires_at"),
        sa.PrimaryKeyConstraint("keyid", "nonce", name="pk_district_nonces"),
    )
    op.create_index("ix_district_nonces_expires_at", "district_nonces", ["expires_at"])
    op.create_table(
        "district_admin_tokens",
        _s("token_sha256", 64),
        _s("kind", 16),
        _s("label", 255, True),
        _d("created_at"),
        _d("expires_at", True),
        _d("revoked_at", True),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_district_admin_tokens"),
    )
    op.create_table(
        "district_jobs",
        _s("id", 36),
        _s("member", 64),
        _t("profiles"),
        sa.Column("allow_class_hours", sa.Boolean(), nullable=False),
        _d("not_before"),
        _d("not_after", True),
        _s("status", 16),
        _d("created_at"),
        _d("claimed_at", True),
        _d("lease_until", True),
        _d("finished_at", True),
        _s("bundle_digest", 64, True),
        _t("message", True),
        sa.ForeignKeyConstraint(
            ["member"], ["district_members.code"], name="fk_district_jobs_member_district_members"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_district_jobs"),
    )
    op.create_index("ix_district_jobs_member_status", "district_jobs", ["member", "status"])
    op.create_table(
        "district_uploads",
        _s("digest", 64),
        _s("member", 64),
        _s("run_id", 64),
        _s("key_fingerprint", 128),
        _t("bundle_dir"),
        sa.Column("size", sa.Integer(), nullable=False),
        _d("uploaded_at"),
        _s("origin", 16),
        _s("via", 64, True),
        _d("forwarded_at", True),
        sa.PrimaryKeyConstraint("digest", name="pk_district_uploads"),
    )
    op.create_index("ix_district_uploads_member", "district_uploads", ["member", "uploaded_at"])


def downgrade() -> None:
    for table in (
        "district_uploads",
        "district_jobs",
        "district_admin_tokens",
        "district_nonces",
        "district_enrolment_tokens",
        "district_keys",
        "district_members",
    ):
        op.drop_table(table)
