"""The conversation steps in progress (aiogram's FSM state and data) when Redis is not used.

Without Redis the embedded default kept them in memory, so any restart lost every flow half-way
(issue 17, finding 9). ``bot.fsm_storage.DbStorage`` keeps one row per chat here instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UtcDateTime


class FsmState(Base):
    """One chat's step and its data (a dependant's national ID, a complaint's text …).

    ``expires_at`` mirrors the TTL of the Redis keys (``retention.flow_state_hours`` after the
    last write): an expired row reads as no step at all, and retention deletes it.
    """

    __tablename__ = "fsm_state"
    __table_args__ = (Index(None, "expires_at"),)

    # aiogram's storage key: bot id, chat, user (and thread and destiny), built as for Redis.
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
