"""Conversations waiting for an agent are ``queued`` (were ``pending``).

Chatwoot, whose words the console borrows, calls a chat the bot still holds "pending"; ours
waits for a person, so it is renamed. The partial unique index of active conversations names
the states, so it is rebuilt around the update.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_conversations_active_chat"


def _rename(old: str, new: str) -> None:
    op.drop_index(_INDEX, table_name="conversations")
    op.execute(
        sa.text("UPDATE conversations SET status = :new WHERE status = :old").bindparams(
            old=old, new=new
        )
    )
    active = sa.text(f"status IN ('{new}', 'open')")
    op.create_index(
        _INDEX,
        "conversations",
        ["platform", "chat_id"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )


def upgrade() -> None:
    _rename("pending", "queued")


def downgrade() -> None:
    _rename("queued", "pending")
