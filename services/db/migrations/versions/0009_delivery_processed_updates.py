"""Delivery: ``processed_updates``, the durable dedupe of incoming updates (issue 17, finding 2).

Revision ID: 0009_delivery
Revises: 0008_notices
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.db.base import UtcDateTime

revision: str = "0009_delivery"
down_revision: str | Sequence[str] | None = "0008_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("taken_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("platform", "update_id", name=op.f("pk_processed_updates")),
    )
    op.create_index("ix_processed_updates_taken_at", "processed_updates", ["taken_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_updates_taken_at", table_name="processed_updates")
    op.drop_table("processed_updates")
