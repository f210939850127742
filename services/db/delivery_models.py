"""The durable dedupe of incoming updates (issue 17, finding 2): ``processed_updates``.

One row per ``(platform, update_id)`` taken by a worker: ``state`` is ``progress`` while a
worker holds it (until ``lease_until``; a lease that ran out is taken over) and ``done`` once
the update's handling committed. Rows are deleted by retention after
``bot.processed_updates_hours`` (the platforms re-send an update for at most 24 hours).
See :mod:`bot.middlewares.dedupe` for the protocol.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UtcDateTime

IN_PROGRESS = "progress"
DONE = "done"


class ProcessedUpdate(Base):
    """An update a worker holds (``progress``, leased) or has handled (``done``)."""

    __tablename__ = "processed_updates"
    __table_args__ = (Index("ix_processed_updates_taken_at", "taken_at"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(8))
    # The holder's lease (progress); a worker may take the update over once it has passed.
    lease_until: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # An opaque token of the holder: only it may renew, release or complete its lease.
    holder: Mapped[str] = mapped_column(String(32))
    taken_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
