"""The knowledge base's tables: the console's edits of entries, their version, and feedback.

The entries themselves live in ``knowledge/`` (the repository); a row of ``kb_entries`` is a
supervisor's version of one entry, which overrides the file of the same id. ``kb_version``
holds one counter, bumped by every edit in the same transaction: each process compares it with
the one its index was built from (``services.knowledge.store``). ``kb_feedback`` collects the
questions nobody could answer and the answers people marked 👎 (and 👍, for counts), masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UtcDateTime


class KnowledgeEdit(Base):
    """A supervisor's version of one entry (the whole entry, as its YAML file would hold it)."""

    __tablename__ = "kb_entries"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class KnowledgeVersion(Base):
    """One row (id 1): how many edits there have been; a process rebuilds when it moved."""

    __tablename__ = "kb_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class KnowledgeFeedback(Base):
    """A question nobody answered (``unanswered``), or an answer marked ``down`` or ``up``."""

    __tablename__ = "kb_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    entry_id: Mapped[str | None] = mapped_column(String(64))
    # Masked with persian's mask before it is stored: national IDs and mobiles never kept.
    question: Mapped[str] = mapped_column(Text)
    # Set when a supervisor turned the question into an entry's variant (or dismissed it).
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
