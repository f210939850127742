"""Tables of the human handoff and the 1420 agent console.

Agents and their sessions, the conversations the bot escalates (with their messages, notes,
labels and satisfaction), the supervisors' canned replies, and the per-message intent log the
dashboard reads. The shared ``Base`` comes from :mod:`services.db.base`, so these tables live in
the same metadata (and the same Alembic history) as the rest of the assistant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db.base import Base, CleanString, CleanText, UtcDateTime

# The states in which a chat belongs to the handoff rather than to the bot. At most one such
# conversation per chat: a partial unique index enforces it on both back ends, so two racing
# escalations of the same chat cannot both be queued.
ACTIVE_STATUSES_SQL = "status IN ('queued', 'open')"


class Agent(Base):
    """A 1420 agent or supervisor who signs in to the console."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(CleanString(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The agent's own "I take chats" switch (Chatwoot's availability); being online also needs
    # a console session seen recently (``last_seen_at``).
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AgentSession(Base):
    """A signed-in console session; the cookie holds the token, the table only its hash."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class LoginAttempt(Base):
    """One console sign-in attempt, counted by the login throttle (per username and per IP)."""

    __tablename__ = "agent_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class Conversation(Base):
    """An escalated chat: queued (waits for an agent) → open (an agent owns it) → resolved.

    ``ticketed`` is the end state of an escalation that became a 1420 ticket (outside working
    hours or with nobody online); the row keeps the escalation record for the ticket's page.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index(
            "uq_conversations_active_chat",
            "platform",
            "chat_id",
            unique=True,
            sqlite_where=text(ACTIVE_STATUSES_SQL),
            postgresql_where=text(ACTIVE_STATUSES_SQL),
        ),
        Index("ix_conversations_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    chat_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The verified identity at escalation time (shown masked; revealing it is audited).
    national_id: Mapped[str | None] = mapped_column(String(10), nullable=True)
    mobile: Mapped[str | None] = mapped_column(String(11), nullable=True)
    user_name: Mapped[str | None] = mapped_column(CleanString(128), nullable=True)
    # The escalation record: recent transcript and what the bot answered (see services.handoff).
    escalation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True
    )
    ticket_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    taken_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_message_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    satisfaction_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    labels: Mapped[list[Label]] = relationship(
        secondary="conversation_labels", lazy="selectin", order_by="Label.name"
    )


class ConversationMessage(Base):
    """One message of a handed-off chat: from the user, from an agent, or a system event."""

    __tablename__ = "conversation_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(8))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(CleanText, nullable=True)
    # For system events: a stable code the console renders in Persian (taken, transferred …).
    event: Mapped[str | None] = mapped_column(String(32), nullable=True)
    file_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    file_name: Mapped[str | None] = mapped_column(CleanString(255), nullable=True)
    mime_type: Mapped[str | None] = mapped_column(String(127), nullable=True)
    # Agent replies go out through the outbox; this links the message to its delivery record.
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ConversationAttachment(Base):
    """The bytes of a photo or document a user sent while talking to an agent.

    Kept apart from the messages so listing a transcript never loads them; stored in the
    database (bounded in size) so that every worker and the console see the same file.
    """

    __tablename__ = "conversation_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), unique=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class ConversationNote(Base):
    """A private note between agents; never sent to the user."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(CleanText)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class Label(Base):
    """A label supervisors define and agents put on conversations."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True
    )


class CannedReply(Base):
    """A ready answer agents insert into the reply box; managed by supervisors."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(CleanString(128))
    text: Mapped[str] = mapped_column(CleanText)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class IntentLogEntry(Base):
    """What the bot understood of one incoming message, for the dashboard and the transcript.

    The text is kept for the escalation transcript only and is cleared after a retention
    period (``handoff.transcript_retention_hours``); intent and confidence stay for statistics.
    """

    __tablename__ = "intent_log"
    __table_args__ = (Index("ix_intent_log_chat", "platform", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(CleanText, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    # A line the bot sent (its answer), kept for the transcript; no intent, not in statistics.
    from_bot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class OutboxDelivery(Base):
    """The outbound sender's bookkeeping for one ``outbox`` row.

    Kept beside the shared ``outbox`` table (which says what to send and whether it was sent):
    when the next try may start after an error, the lease that stops two senders from taking
    the same message, and the platform's message id once delivered. A missing row means
    "never tried".
    """

    __tablename__ = "outbox_delivery"

    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    not_before: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Flood-control answers (429) are counted apart from errors: waiting is not failing.
    flood_waits: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class OutboxChat(Base):
    """Per-chat pacing of the outbound sender: nothing goes to the chat before ``next_at``.

    Set after each delivery (about one message a second per chat) and after a 429 answer
    (``retry_after``), in the database so that the pace survives a restart.
    """

    __tablename__ = "outbox_chats"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
