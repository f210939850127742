"""The size of a document sent with a dependant request (as the messenger reported it).

Revision ID: 0006_depdocs
Revises: 0005_desk
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_depdocs"
down_revision: str | Sequence[str] | None = "0005_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dependant_request_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_size", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dependant_request_documents", schema=None) as batch_op:
        batch_op.drop_column("file_size")
