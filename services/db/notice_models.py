"""Tables of the proactive notices (``services.notices``): who wants which, and what was sent.

- ``notice_preferences``: a user's switch per notice kind; no row means the kind's default.
- ``notices``: one row per notice, unique per (user, kind, subject, due), so that any number of
  scheduler processes agree on it: the row is inserted with ON CONFLICT DO NOTHING, and handed
  to the outbox by the one process whose conditional UPDATE moved it from ``pending``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UtcDateTime


class NoticePreference(Base):
    """A user's choice for one notice kind."""

    __tablename__ = "notice_preferences"

    chat_user_id: Mapped[int] = mapped_column(
        ForeignKey("chat_users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Notice(Base):
    """One notice to one user, from its planning to its hand-over to the outbox."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("chat_user_id", "kind", "subject", "due_on"),
        Index(None, "status", "not_before"),
        CheckConstraint("status IN ('pending', 'sent', 'dropped')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    # What the notice is about: a ticket's or request's code, a contract number, "cover".
    subject: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[dt.date] = mapped_column(Date)
    # The outbox payload it becomes (``kind`` = the outbox kind).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    # Not before this moment (the end of the quiet hours when it fell inside them).
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
