"""The dependant requests desk: the decision on a request and the documents sent with it;
the bot's answers in the intent log (for the transcript).

Revision ID: 0005_desk
Revises: 0004_kb
Create Date: 2026-12-06 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.db.base import UtcDateTime

revision: str = "0005_desk"
down_revision: str | Sequence[str] | None = "0004_kb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dependant_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reject_reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("decision_note", sa.Text(), nullable=True))
    # The bot's own answers in the intent log, for the transcript agents read.
    with op.batch_alter_table("intent_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_bot", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "dependant_request_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=256), nullable=True),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["dependant_requests.id"],
            name=op.f("fk_dependant_request_documents_request_id_dependant_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependant_request_documents")),
    )
    op.create_index(
        op.f("ix_dependant_request_documents_request_id"),
        "dependant_request_documents",
        ["request_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_dependant_request_documents_request_id"),
        table_name="dependant_request_documents",
    )
    op.drop_table("dependant_request_documents")
    with op.batch_alter_table("intent_log", schema=None) as batch_op:
        batch_op.drop_column("from_bot")
    with op.batch_alter_table("dependant_requests", schema=None) as batch_op:
        batch_op.drop_column("decision_note")
        batch_op.drop_column("reject_reason")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("assigned_agent_id")
