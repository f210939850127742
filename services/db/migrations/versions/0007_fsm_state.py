"""Conversation steps in progress kept in the database when Redis is not used (issue 17, 9).

Revision ID: 0007_fsm
Revises: 0006_depdocs
Create Date: 2026-12-06 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.db.base import UtcDateTime

revision: str = "0007_fsm"
down_revision: str | Sequence[str] | None = "0006_depdocs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fsm_state",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=255), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm_state")),
    )
    with op.batch_alter_table("fsm_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fsm_state_expires_at"), ["expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("fsm_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fsm_state_expires_at"))
    op.drop_table("fsm_state")
