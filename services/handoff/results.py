"""What the handoff services return: escalation outcomes and the console's views.

Plain frozen dataclasses (no database rows leave the package), and the small conversions the
views share: times shown in Tehran time, escalation records stored with UTC ISO stamps, and
how a ticket stands against its answer target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.clock import TEHRAN
from services.enums import (
    ClosedBecause,
    ConversationStatus,
    DueClass,
    HandoffReason,
    MessageKind,
    Sender,
    TicketCategory,
    TicketStatus,
)
from services.tickets import TicketInfo


@dataclass(frozen=True, slots=True)
class Queued:
    """The chat waits for an agent: its place in the queue and a rough wait in minutes."""

    conversation_id: int
    position: int
    wait_minutes: int
    already: bool = False  # it was already queued before this request


@dataclass(frozen=True, slots=True)
class WithAgent:
    """The chat is already open with an agent."""

    conversation_id: int
    agent_name: str | None


@dataclass(frozen=True, slots=True)
class Ticketed:
    """Nobody could take the chat now: a 1420 ticket was filed instead."""

    conversation_id: int
    tracking_code: str
    due_date: dt.date
    because: ClosedBecause
    next_opening: dt.datetime | None


EscalationOutcome = Queued | WithAgent | Ticketed


@dataclass(frozen=True, slots=True)
class ActiveConversation:
    """What the bot needs to know about a chat in the handoff (one cheap query per update)."""

    id: int
    status: ConversationStatus
    agent_id: int | None


@dataclass(frozen=True, slots=True)
class LeftConversation:
    id: int
    was: ConversationStatus


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """A line of the chat before the escalation: the user's message and what the bot made of
    it, or the bot's answer (``from_bot``)."""

    at: dt.datetime
    text: str
    intent: str | None
    fallback: bool
    # The bot's answer rather than the user's message.
    from_bot: bool = False


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    """Something a service answered the user shortly before the escalation."""

    kind: str  # eligibility | ticket | dependant_request
    at: dt.datetime
    tracking_code: str
    status: str  # covered / not_covered for eligibility; the record's status otherwise
    detail: str | None = None  # the relation asked about, the ticket category …


@dataclass(frozen=True, slots=True)
class IdentityView:
    """The verified identity as the console shows it: masked unless revealed.

    ``can_reveal``: whether this agent may reveal it (the agent who holds the chat, or a
    supervisor), so the page offers the button only to them.
    """

    verified: bool
    name: str | None
    national_id: str | None
    mobile: str | None
    revealed: bool
    can_reveal: bool = False


@dataclass(frozen=True, slots=True)
class LabelView:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    id: int
    platform: str
    status: ConversationStatus
    reason: HandoffReason
    user_name: str | None
    national_id_masked: str | None
    agent_id: int | None
    agent_name: str | None
    created_at: dt.datetime
    taken_at: dt.datetime | None
    resolved_at: dt.datetime | None
    last_message_at: dt.datetime
    waiting: dt.timedelta
    labels: tuple[LabelView, ...]
    satisfaction: int | None
    ticket_code: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    sender: Sender
    kind: MessageKind
    text: str | None
    event: str | None
    agent_name: str | None
    created_at: dt.datetime
    file_name: str | None
    mime_type: str | None
    has_file: bool
    # For agent replies: pending | sent | failed (the outbox's word for it).
    delivery: str | None


@dataclass(frozen=True, slots=True)
class NoteView:
    id: int
    agent_name: str | None
    text: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    summary: ConversationSummary
    identity: IdentityView
    transcript: tuple[TranscriptLine, ...]
    answers: tuple[ServiceAnswer, ...]
    messages: tuple[MessageView, ...]
    notes: tuple[NoteView, ...]
    can_act: bool  # the viewer may reply, note, label, transfer, resolve


@dataclass(frozen=True, slots=True)
class CannedReplyView:
    id: int
    short_code: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Attachment:
    content: bytes
    file_name: str | None
    mime_type: str | None


@dataclass(frozen=True, slots=True)
class DocRef:
    """A file kept as the messenger's reference, to fetch through the Bot API."""

    platform: str
    file_id: str
    file_name: str | None
    mime_type: str | None
    kind: str = "document"


@dataclass(frozen=True, slots=True)
class TicketRow:
    """A ticket in the console's list, with how it stands against its answer target."""

    id: int
    tracking_code: str
    category: TicketCategory
    status: TicketStatus
    text: str
    due_date: dt.date
    created_at: dt.datetime
    due_class: DueClass
    national_id_masked: str | None
    platform: str | None


@dataclass(frozen=True, slots=True)
class TicketFilters:
    status: TicketStatus | None = None
    category: TicketCategory | None = None
    # overdue | today | week (due within 7 days) | None
    due: str | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class TicketPage:
    ticket: TicketInfo
    due_class: DueClass
    identity: IdentityView
    platform: str | None
    conversation_id: int | None  # the escalation that became this ticket, if any
    transcript: tuple[TranscriptLine, ...] = field(default=())
    deliveries: tuple[tuple[dt.datetime, str], ...] = field(default=())


def due_class(status: TicketStatus, due_date: dt.date, today: dt.date) -> DueClass:
    if status in (TicketStatus.ANSWERED, TicketStatus.CLOSED):
        return DueClass.DONE
    if today > due_date:
        return DueClass.OVERDUE
    if today == due_date:
        return DueClass.DUE_TODAY
    return DueClass.ON_TIME


def iso(moment: dt.datetime) -> str:
    """A moment as the escalation record stores it (UTC, ISO 8601)."""
    return moment.astimezone(dt.UTC).isoformat()


def from_iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(TEHRAN)


def tehran(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TEHRAN)
