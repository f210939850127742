"""Proactive notices: users' switches per notice kind, and the notices planned and sent.

Revision ID: 0008_notices
Revises: 0007_fsm
Create Date: 2026-12-06 14:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.db.base import UtcDateTime

revision: str = "0008_notices"
down_revision: str | Sequence[str] | None = "0007_fsm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_preferences",
        sa.Column("chat_user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_notice_preferences_chat_user_id_chat_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_user_id", "kind", name=op.f("pk_notice_preferences")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dropped')", name=op.f("ck_notices_status")
        ),
        sa.ForeignKeyConstraint(
            ["chat_user_id"],
            ["chat_users.id"],
            name=op.f("fk_notices_chat_user_id_chat_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "chat_user_id",
            "kind",
            "subject",
            "due_on",
            name=op.f("uq_notices_chat_user_id_kind_subject_due_on"),
        ),
    )
    op.create_index(
        op.f("ix_notices_status_not_before"), "notices", ["status", "not_before"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_status_not_before"), table_name="notices")
    op.drop_table("notices")
    op.drop_table("notice_preferences")
