"""Human handoff: escalated chats, the agents' queue, and the console's ticket desk.

A chat belongs to the bot until it is escalated (the user asks for a person, the NLU misses
twice in a row, or an agent picks the chat). Escalation then depends on the contact centre:
inside working hours with an agent online the chat is queued (``pending``) and the user learns
their place and a rough wait; otherwise it becomes a 1420 ticket with its due date. An agent
takes a pending chat (``open``): from then on the bot relays the user's messages to the console
and stays silent, and agent replies reach the user through the outbox. ``resolve`` hands the
chat back to the bot and asks for a 1–5 rating.

Conversation states (Chatwoot's, in the 1420 centre's words)::

    bot ──escalate──▶ pending ──take──▶ open ──resolve──▶ resolved ──rate──▶ (rated)
     ▲                  │  ▲              │
     └──── leave ───────┘  └─ transfer ───┘ (to the queue; or to another agent: stays open)
    bot ──escalate (closed / nobody online)──▶ ticketed (a 1420 ticket)

Every escalation carries a record: the user's recent messages with what the bot understood,
the verified identity, and what the services already answered (eligibility inquiries,
tickets, dependant requests), so that the user never has to repeat themselves.

Services here return data and codes; the console and the bot word them. Permissions: an agent
sees pending chats (to choose one) and their own; supervisors see and may act on all.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_mobile, mask_national_id, to_ascii_digits
from services.agents import AgentPublic, AgentService
from services.clock import TEHRAN, Clock
from services.common import audit
from services.db.handoff_models import (
    Agent,
    CannedReply,
    Conversation,
    ConversationAttachment,
    ConversationLabel,
    ConversationMessage,
    ConversationNote,
    IntentLogEntry,
    Label,
)
from services.db.models import (
    ChatUser,
    DependantRequest,
    EligibilityInquiry,
    Outbox,
    Ticket,
)
from services.enums import TicketCategory, TicketStatus
from services.errors import DomainError
from services.info import InfoService
from services.outbox import enqueue
from services.registry import SqlRegistryGateway
from services.settings import Settings
from services.tickets import TicketInfo, TicketService

logger = logging.getLogger(__name__)


class HandoffConfig(BaseModel):
    """The ``handoff`` section of ``config.yml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transcript_messages: int = Field(10, ge=1, le=100)
    transcript_hours: int = Field(24, ge=1)
    transcript_retention_hours: int = Field(72, ge=1)
    answers_hours: int = Field(72, ge=1)
    default_handle_minutes: int = Field(5, ge=1)
    min_handle_minutes: int = Field(2, ge=1)
    max_handle_minutes: int = Field(30, ge=1)
    handle_sample: int = Field(50, ge=1)
    max_reply_chars: int = Field(3500, ge=100)
    max_note_chars: int = Field(2000, ge=10)
    max_user_message_chars: int = Field(4096, ge=100)
    max_attachment_bytes: int = Field(5_000_000, ge=0)
    ticket_category: TicketCategory = TicketCategory.OTHER

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffConfig:
        extra = settings.config.model_extra or {}
        return cls.model_validate(extra.get("handoff") or {})


# --- vocabularies ---------------------------------------------------------------------------


class ConversationStatus(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    RESOLVED = "resolved"
    TICKETED = "ticketed"


ACTIVE: Final = (ConversationStatus.PENDING.value, ConversationStatus.OPEN.value)


class HandoffReason(StrEnum):
    HUMAN_AGENT = "human_agent"  # the user asked for a person
    NLU_MISS = "nlu_miss"  # the bot did not understand twice in a row
    AGENT_PICK = "agent_pick"  # an agent started the chat (from a ticket)


class Resolution(StrEnum):
    RESOLVED = "resolved"
    USER_LEFT = "user_left"


class Sender(StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class MessageKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    DOCUMENT = "document"
    EVENT = "event"


class Event(StrEnum):
    """System events in a transcript; the console words them."""

    QUEUED = "queued"
    TAKEN = "taken"
    TRANSFERRED = "transferred"
    REQUEUED = "requeued"
    RESOLVED = "resolved"
    USER_LEFT = "user_left"
    PICKED = "picked"
    RATED = "rated"


class ClosedBecause(StrEnum):
    OUTSIDE_HOURS = "outside_hours"
    NOBODY_ONLINE = "nobody_online"


class OutboxKind(StrEnum):
    """What an outbox payload asks the bot to send (``bot.outbound`` words each kind)."""

    AGENT_REPLY = "agent_reply"
    HANDOFF_TAKEN = "handoff_taken"
    HANDOFF_TRANSFERRED = "handoff_transferred"
    HANDOFF_REQUEUED = "handoff_requeued"
    HANDOFF_RESOLVED = "handoff_resolved"
    SATISFACTION_QUESTION = "satisfaction_question"
    TICKET_ANSWER = "ticket_answer"


class RateOutcome(StrEnum):
    THANKS = "thanks"
    ALREADY_RATED = "already_rated"
    NOT_FOUND = "not_found"


class DueClass(StrEnum):
    """How a ticket stands against its answer target (3/7/10 working days)."""

    DONE = "done"
    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    ON_TIME = "on_time"


# --- errors ---------------------------------------------------------------------------------


class ConversationNotFound(DomainError):
    code: ClassVar[str] = "conversation_not_found"


class NotAllowed(DomainError):
    """The agent may not see or do this (another agent's chat, a supervisor's task)."""

    code: ClassVar[str] = "not_allowed"


class InvalidConversationState(DomainError):
    """The action does not fit the conversation's state (take an open chat, reply to a
    pending one…); ``current`` is the state it is in."""

    code: ClassVar[str] = "invalid_conversation_state"

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


class InvalidText(DomainError):
    """``problem`` is ``empty`` or ``too_long`` (``limit`` characters)."""

    code: ClassVar[str] = "invalid_text"

    def __init__(self, problem: str, limit: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.limit = limit


class InvalidLabel(DomainError):
    code: ClassVar[str] = "invalid_label"


class InvalidCannedReply(DomainError):
    """``problem`` is ``short_code``, ``title``, ``text`` or ``duplicate``."""

    code: ClassVar[str] = "invalid_canned_reply"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class NoChatForTicket(DomainError):
    """The ticket's owner has no messenger chat we can write to."""

    code: ClassVar[str] = "no_chat_for_ticket"


# --- results --------------------------------------------------------------------------------


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
    """A message the user sent the bot before the escalation, and what the bot made of it."""

    at: dt.datetime
    text: str
    intent: str | None
    fallback: bool


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
    """The verified identity as the console shows it: masked unless revealed."""

    verified: bool
    name: str | None
    national_id: str | None
    mobile: str | None
    revealed: bool


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


# --- helpers --------------------------------------------------------------------------------

# A run of digits (any script), possibly with +98/0098, spaces or dashes: how people type
# national IDs and mobiles. Mirrors bot.pii.scrub, which services cannot import.
_DIGIT_RUN: Final = re.compile(r"(?<!\d)(?:\+|00)?\d(?:\d|[ \-](?=\d)){9,15}(?!\d)")
_MOBILE: Final = re.compile(r"^(?:\+98|0098|98|0)?(9\d{9})$")


def _mask_run(match: re.Match[str]) -> str:
    digits = re.sub(r"[\s\-+]", "", to_ascii_digits(match.group(0)))
    mobile = _MOBILE.match(digits)
    if mobile:
        return mask_mobile("0" + mobile.group(1))
    if len(digits) >= 10 and digits.isdigit():
        return mask_national_id(digits)
    return match.group(0)


def mask_identifiers(text: str) -> str:
    """Mask national IDs, mobiles and other long numbers a user typed (for the console)."""
    return _DIGIT_RUN.sub(_mask_run, text)


def due_class(status: TicketStatus, due_date: dt.date, today: dt.date) -> DueClass:
    if status in (TicketStatus.ANSWERED, TicketStatus.CLOSED):
        return DueClass.DONE
    if today > due_date:
        return DueClass.OVERDUE
    if today == due_date:
        return DueClass.DUE_TODAY
    return DueClass.ON_TIME


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _from_iso(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(TEHRAN)


def _tehran(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(TEHRAN)


# --- the service ----------------------------------------------------------------------------


class HandoffService:
    """Escalations, the queue and everything agents do to a conversation; methods that
    change something commit (one transaction each, audit entry included)."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self.config = HandoffConfig.from_settings(settings)

    # === the bot's side =====================================================================

    async def prune_transcripts(self) -> int:
        """Clear message texts older than the retention period (statistics stay)."""
        before = self._clock.now() - dt.timedelta(hours=self.config.transcript_retention_hours)
        result = await self._session.execute(
            update(IntentLogEntry)
            .where(IntentLogEntry.created_at < before, IntentLogEntry.text.is_not(None))
            .values(text=None)
        )
        await self._session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def active(self, platform: str, chat_id: int) -> ActiveConversation | None:
        """Return the chat's pending or open conversation, if any."""
        row = (
            await self._session.execute(
                select(Conversation.id, Conversation.status, Conversation.agent_id).where(
                    Conversation.platform == str(platform),
                    Conversation.chat_id == chat_id,
                    Conversation.status.in_(ACTIVE),
                )
            )
        ).first()
        if row is None:
            return None
        return ActiveConversation(row.id, ConversationStatus(row.status), row.agent_id)

    async def escalate(
        self,
        *,
        platform: str,
        chat_id: int,
        chat_user_id: int | None,
        reason: HandoffReason | str = HandoffReason.HUMAN_AGENT,
        ticket_text: str,
    ) -> EscalationOutcome:
        """Hand the chat to a person: queue it, or file a 1420 ticket when nobody can answer.

        ``ticket_text`` is the ticket's opening line in the bot's words (the user's recent
        messages are appended below it). Asking again while queued returns the current place.
        """
        platform = str(platform)
        reason = HandoffReason(reason)
        current = await self._active_row(platform, chat_id)
        if current is not None:
            return await self._current_outcome(current)

        status = InfoService(self._settings, self._clock).is_open()
        online = await AgentService(self._session, self._settings, self._clock).count_online()
        record = await self._escalation_record(platform, chat_id, chat_user_id)
        identity = await self._identity_snapshot(chat_user_id)
        now = self._clock.now()
        conversation = Conversation(
            platform=platform,
            chat_id=chat_id,
            chat_user_id=chat_user_id,
            reason=reason.value,
            national_id=identity[0],
            mobile=identity[1],
            user_name=identity[2],
            escalation=record,
            created_at=now,
            last_message_at=now,
        )
        if not status.open or online == 0:
            because = (
                ClosedBecause.OUTSIDE_HOURS if not status.open else ClosedBecause.NOBODY_ONLINE
            )
            return await self._ticket_instead(
                conversation, chat_user_id, ticket_text, because, status.next_opening
            )

        conversation.status = ConversationStatus.PENDING.value
        self._session.add(conversation)
        try:
            await self._session.flush()
        except IntegrityError:
            # Another update of the same chat queued it a moment ago (the partial unique index).
            await self._session.rollback()
            current = await self._active_row(platform, chat_id)
            if current is None:
                raise
            return await self._current_outcome(current)
        self._event(conversation, Event.QUEUED, now)
        audit(
            self._session,
            self._clock,
            actor=f"chat:{platform}",
            action="handoff.queued",
            subject=f"conversation:{conversation.id}",
            details={"reason": reason.value},
        )
        await self._session.commit()
        position, wait = await self._position_and_wait(conversation, online)
        logger.info("conversation %s queued at %s", conversation.id, position)
        return Queued(conversation.id, position, wait)

    async def _ticket_instead(
        self,
        conversation: Conversation,
        chat_user_id: int | None,
        ticket_text: str,
        because: ClosedBecause,
        next_opening: dt.datetime | None,
    ) -> Ticketed:
        if chat_user_id is None:
            raise NoChatForTicket("escalation without a chat user")
        lines = [ticket_text.strip()]
        for line in conversation.escalation.get("transcript", [])[-5:]:
            lines.append("• " + str(line.get("text", ""))[:300])
        body = "\n".join(lines)[:3900]
        tickets = TicketService(self._session, self._settings, self._clock)
        info = await tickets.create(chat_user_id, self.config.ticket_category, body)
        ticket_id = await self._session.scalar(
            select(Ticket.id).where(Ticket.tracking_code == info.tracking_code)
        )
        conversation.status = ConversationStatus.TICKETED.value
        conversation.ticket_id = ticket_id
        conversation.ticket_code = info.tracking_code
        conversation.resolved_at = conversation.created_at
        self._session.add(conversation)
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=f"chat:{conversation.platform}",
            action="handoff.ticketed",
            subject=f"conversation:{conversation.id}",
            details={"ticket": info.tracking_code, "because": because.value},
        )
        await self._session.commit()
        return Ticketed(conversation.id, info.tracking_code, info.due_date, because, next_opening)

    async def _current_outcome(self, conversation: Conversation) -> EscalationOutcome:
        if conversation.status == ConversationStatus.OPEN.value:
            name = None
            if conversation.agent_id is not None:
                name = await self._session.scalar(
                    select(Agent.display_name).where(Agent.id == conversation.agent_id)
                )
            return WithAgent(conversation.id, name)
        online = await AgentService(self._session, self._settings, self._clock).count_online()
        position, wait = await self._position_and_wait(conversation, online)
        return Queued(conversation.id, position, wait, already=True)

    async def queue_status(self, platform: str, chat_id: int) -> EscalationOutcome | None:
        """Return the chat's place in the queue (or its agent), if it is in the handoff."""
        current = await self._active_row(str(platform), chat_id)
        return None if current is None else await self._current_outcome(current)

    async def _position_and_wait(self, conversation: Conversation, online: int) -> tuple[int, int]:
        ahead = await self._session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.status == ConversationStatus.PENDING.value,
                or_(
                    Conversation.created_at < conversation.created_at,
                    and_(
                        Conversation.created_at == conversation.created_at,
                        Conversation.id < conversation.id,
                    ),
                ),
            )
        )
        position = int(ahead or 0) + 1
        handle = await self._handle_minutes()
        # Each online agent takes one chat at a time: the queue moves one "round" per handling.
        wait = math.ceil(position / max(online, 1)) * handle
        return position, wait

    async def _handle_minutes(self) -> int:
        """The median time agents spent on recent chats (taken → resolved), within bounds."""
        rows = (
            await self._session.execute(
                select(Conversation.taken_at, Conversation.resolved_at)
                .where(
                    Conversation.status == ConversationStatus.RESOLVED.value,
                    Conversation.taken_at.is_not(None),
                    Conversation.resolution == Resolution.RESOLVED.value,
                )
                .order_by(Conversation.resolved_at.desc())
                .limit(self.config.handle_sample)
            )
        ).all()
        spans = [
            (r.resolved_at - r.taken_at).total_seconds() / 60
            for r in rows
            if r.resolved_at is not None and r.taken_at is not None
        ]
        if not spans:
            return self.config.default_handle_minutes
        median = statistics.median(spans)
        return int(
            min(
                max(math.ceil(median), self.config.min_handle_minutes),
                self.config.max_handle_minutes,
            )
        )

    async def _escalation_record(
        self, platform: str, chat_id: int, chat_user_id: int | None
    ) -> dict[str, Any]:
        now = self._clock.now()
        since = now - dt.timedelta(hours=self.config.transcript_hours)
        rows = (
            await self._session.scalars(
                select(IntentLogEntry)
                .where(
                    IntentLogEntry.platform == platform,
                    IntentLogEntry.chat_id == chat_id,
                    IntentLogEntry.created_at >= since,
                    IntentLogEntry.text.is_not(None),
                )
                .order_by(IntentLogEntry.id.desc())
                .limit(self.config.transcript_messages)
            )
        ).all()
        transcript = [
            {
                "at": _iso(r.created_at),
                "text": r.text,
                "intent": r.intent,
                "fallback": r.is_fallback,
            }
            for r in reversed(rows)
        ]
        answers: list[dict[str, Any]] = []
        if chat_user_id is not None:
            answers_since = now - dt.timedelta(hours=self.config.answers_hours)
            for inquiry in await self._session.scalars(
                select(EligibilityInquiry)
                .where(
                    EligibilityInquiry.chat_user_id == chat_user_id,
                    EligibilityInquiry.created_at >= answers_since,
                )
                .order_by(EligibilityInquiry.id.desc())
                .limit(5)
            ):
                answers.append(
                    {
                        "kind": "eligibility",
                        "at": _iso(inquiry.created_at),
                        "tracking_code": inquiry.tracking_code,
                        "status": "covered" if inquiry.covered else "not_covered",
                        "detail": inquiry.relation_filter,
                    }
                )
            for ticket in await self._session.scalars(
                select(Ticket)
                .where(Ticket.chat_user_id == chat_user_id, Ticket.created_at >= answers_since)
                .order_by(Ticket.id.desc())
                .limit(5)
            ):
                answers.append(
                    {
                        "kind": "ticket",
                        "at": _iso(ticket.created_at),
                        "tracking_code": ticket.tracking_code,
                        "status": ticket.status,
                        "detail": ticket.category,
                    }
                )
            for request in await self._session.scalars(
                select(DependantRequest)
                .where(
                    DependantRequest.chat_user_id == chat_user_id,
                    DependantRequest.created_at >= answers_since,
                )
                .order_by(DependantRequest.id.desc())
                .limit(5)
            ):
                answers.append(
                    {
                        "kind": "dependant_request",
                        "at": _iso(request.created_at),
                        "tracking_code": request.tracking_code,
                        "status": request.status,
                        "detail": request.relation,
                    }
                )
            answers.sort(key=lambda a: str(a["at"]))
        return {"transcript": transcript, "answers": answers}

    async def _identity_snapshot(
        self, chat_user_id: int | None
    ) -> tuple[str | None, str | None, str | None]:
        """National ID, mobile and name of a verified chat user (first name otherwise)."""
        if chat_user_id is None:
            return None, None, None
        user = await self._session.get(ChatUser, chat_user_id)
        if user is None:
            return None, None, None
        if user.national_id is None or user.verified_at is None:
            return None, None, user.first_name
        person = await SqlRegistryGateway(self._session).person(user.national_id)
        name = person.full_name if person is not None else user.first_name
        return user.national_id, user.mobile, name

    async def record_user_message(
        self,
        conversation_id: int,
        *,
        kind: MessageKind | str = MessageKind.TEXT,
        text: str | None = None,
        file_id: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        content: bytes | None = None,
    ) -> int:
        """Store a message the user sent while in the handoff; return its id."""
        conversation = await self._session.get(Conversation, conversation_id)
        if conversation is None:
            raise ConversationNotFound(str(conversation_id))
        if conversation.status not in ACTIVE:
            raise InvalidConversationState(conversation.status)
        now = self._clock.now()
        message = ConversationMessage(
            conversation_id=conversation.id,
            sender=Sender.USER.value,
            kind=MessageKind(kind).value,
            text=(text or "")[: self.config.max_user_message_chars] or None,
            file_id=file_id,
            file_name=(file_name or None) and file_name[:255],
            mime_type=(mime_type or None) and mime_type[:127],
            created_at=now,
        )
        self._session.add(message)
        await self._session.flush()
        if content is not None and len(content) <= self.config.max_attachment_bytes:
            self._session.add(
                ConversationAttachment(message_id=message.id, content=content, size=len(content))
            )
        conversation.last_message_at = now
        await self._session.commit()
        return message.id

    async def leave(self, platform: str, chat_id: int) -> LeftConversation | None:
        """The user left the queue or the chat (/cancel, "back to the bot")."""
        conversation = await self._active_row(str(platform), chat_id)
        if conversation is None:
            return None
        was = ConversationStatus(conversation.status)
        now = self._clock.now()
        conversation.status = ConversationStatus.RESOLVED.value
        conversation.resolution = Resolution.USER_LEFT.value
        conversation.resolved_at = now
        self._event(conversation, Event.USER_LEFT, now)
        audit(
            self._session,
            self._clock,
            actor=f"chat:{conversation.platform}",
            action="handoff.user_left",
            subject=f"conversation:{conversation.id}",
            details={"was": was.value},
        )
        await self._session.commit()
        return LeftConversation(conversation.id, was)

    async def rate(
        self, *, platform: str, chat_id: int, conversation_id: int, rating: int
    ) -> RateOutcome:
        """Record the user's 1–5 satisfaction with a resolved conversation (once)."""
        if not 1 <= rating <= 5:
            raise ValueError("rating must be 1..5")
        conversation = await self._session.get(Conversation, conversation_id)
        if (
            conversation is None
            or conversation.platform != str(platform)
            or conversation.chat_id != chat_id
            or conversation.status != ConversationStatus.RESOLVED.value
            # Only chats an agent closed are rated (the question is sent only then).
            or conversation.resolution != Resolution.RESOLVED.value
        ):
            return RateOutcome.NOT_FOUND
        if conversation.satisfaction is not None:
            return RateOutcome.ALREADY_RATED
        now = self._clock.now()
        conversation.satisfaction = rating
        conversation.satisfaction_at = now
        self._event(conversation, Event.RATED, now, text=str(rating))
        audit(
            self._session,
            self._clock,
            actor=f"chat:{conversation.platform}",
            action="handoff.rated",
            subject=f"conversation:{conversation.id}",
            details={"rating": rating},
        )
        await self._session.commit()
        return RateOutcome.THANKS

    # === the console's side =================================================================

    async def queue(self) -> list[ConversationSummary]:
        """Pending conversations, oldest first."""
        rows = await self._session.scalars(
            select(Conversation)
            .where(Conversation.status == ConversationStatus.PENDING.value)
            .order_by(Conversation.created_at, Conversation.id)
        )
        return await self._summaries(rows.all())

    async def mine(self, agent: AgentPublic) -> list[ConversationSummary]:
        """The agent's open conversations, most recently active first."""
        rows = await self._session.scalars(
            select(Conversation)
            .where(
                Conversation.status == ConversationStatus.OPEN.value,
                Conversation.agent_id == agent.id,
            )
            .order_by(Conversation.last_message_at.desc())
        )
        return await self._summaries(rows.all())

    async def all_conversations(
        self,
        agent: AgentPublic,
        *,
        status: ConversationStatus | None = None,
        label_id: int | None = None,
        limit: int = 200,
    ) -> list[ConversationSummary]:
        """Every conversation (supervisors only), newest first."""
        self._require_supervisor(agent)
        query = select(Conversation).order_by(Conversation.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Conversation.status == status.value)
        if label_id is not None:
            query = query.where(
                Conversation.id.in_(
                    select(ConversationLabel.conversation_id).where(
                        ConversationLabel.label_id == label_id
                    )
                )
            )
        return await self._summaries((await self._session.scalars(query)).all())

    async def history(self, agent: AgentPublic, limit: int = 50) -> list[ConversationSummary]:
        """The agent's own closed conversations, newest first."""
        rows = await self._session.scalars(
            select(Conversation)
            .where(
                Conversation.agent_id == agent.id,
                Conversation.status == ConversationStatus.RESOLVED.value,
            )
            .order_by(Conversation.resolved_at.desc())
            .limit(limit)
        )
        return await self._summaries(rows.all())

    async def _agent_names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self._session.execute(
            select(Agent.id, Agent.display_name).where(Agent.id.in_(ids))
        )
        return {r.id: r.display_name for r in rows}

    async def _summaries(self, rows: Sequence[Conversation]) -> list[ConversationSummary]:
        names = await self._agent_names({c.agent_id for c in rows if c.agent_id is not None})
        return [self._summary(c, names) for c in rows]

    def _summary(self, c: Conversation, names: dict[int, str]) -> ConversationSummary:
        now = self._clock.now()
        end = c.taken_at or (c.resolved_at if c.status != ConversationStatus.PENDING else None)
        return ConversationSummary(
            id=c.id,
            platform=c.platform,
            status=ConversationStatus(c.status),
            reason=HandoffReason(c.reason),
            user_name=c.user_name,
            national_id_masked=mask_national_id(c.national_id) if c.national_id else None,
            agent_id=c.agent_id,
            agent_name=names.get(c.agent_id) if c.agent_id is not None else None,
            created_at=_tehran(c.created_at),
            taken_at=_tehran(c.taken_at) if c.taken_at else None,
            resolved_at=_tehran(c.resolved_at) if c.resolved_at else None,
            last_message_at=_tehran(c.last_message_at),
            waiting=max((end or now) - c.created_at, dt.timedelta(0)),
            labels=tuple(LabelView(label.id, label.name) for label in c.labels),
            satisfaction=c.satisfaction,
            ticket_code=c.ticket_code,
        )

    def _require_supervisor(self, agent: AgentPublic) -> None:
        if not agent.is_supervisor:
            raise NotAllowed("supervisors only")

    def _can_read(self, agent: AgentPublic, c: Conversation) -> bool:
        # Pending chats are open to every agent (to choose one), and so is the escalation
        # record of one that became a ticket (whoever answers the ticket needs it).
        if agent.is_supervisor or c.status in (
            ConversationStatus.PENDING.value,
            ConversationStatus.TICKETED.value,
        ):
            return True
        return c.agent_id == agent.id

    def _can_act(self, agent: AgentPublic, c: Conversation) -> bool:
        if c.status != ConversationStatus.OPEN.value:
            return False
        return agent.is_supervisor or c.agent_id == agent.id

    async def _load(self, agent: AgentPublic, conversation_id: int) -> Conversation:
        conversation = await self._session.get(Conversation, conversation_id)
        if conversation is None:
            raise ConversationNotFound(str(conversation_id))
        if not self._can_read(agent, conversation):
            raise NotAllowed(f"conversation {conversation_id}")
        return conversation

    async def _load_for_action(self, agent: AgentPublic, conversation_id: int) -> Conversation:
        conversation = await self._load(agent, conversation_id)
        if conversation.status != ConversationStatus.OPEN.value:
            raise InvalidConversationState(conversation.status)
        if not self._can_act(agent, conversation):
            raise NotAllowed(f"conversation {conversation_id}")
        return conversation

    async def detail(
        self, agent: AgentPublic, conversation_id: int, *, reveal: bool = False
    ) -> ConversationDetail:
        """The conversation page; ``reveal`` shows the identity unmasked and is audited."""
        conversation = await self._load(agent, conversation_id)
        if reveal:
            audit(
                self._session,
                self._clock,
                actor=agent.actor,
                action="conversation.reveal_identity",
                subject=f"conversation:{conversation.id}",
            )
            await self._session.commit()
        names = await self._agent_names(
            {conversation.agent_id} if conversation.agent_id is not None else set()
        )
        summary = self._summary(conversation, names)
        record = conversation.escalation or {}
        transcript = tuple(
            TranscriptLine(
                at=_from_iso(str(line["at"])),
                text=str(line.get("text") or "")
                if reveal
                else mask_identifiers(str(line.get("text") or "")),
                intent=line.get("intent"),
                fallback=bool(line.get("fallback")),
            )
            for line in record.get("transcript", [])
        )
        answers = tuple(
            ServiceAnswer(
                kind=str(a["kind"]),
                at=_from_iso(str(a["at"])),
                tracking_code=str(a["tracking_code"]),
                status=str(a["status"]),
                detail=a.get("detail"),
            )
            for a in record.get("answers", [])
        )
        messages = await self.messages_after(agent, conversation_id, 0, reveal=reveal)
        notes = await self._notes(conversation.id)
        return ConversationDetail(
            summary=summary,
            identity=self._identity_view(conversation, reveal),
            transcript=transcript,
            answers=answers,
            messages=tuple(messages),
            notes=notes,
            can_act=self._can_act(agent, conversation),
        )

    def _identity_view(self, c: Conversation, reveal: bool) -> IdentityView:
        verified = c.national_id is not None
        if reveal:
            return IdentityView(verified, c.user_name, c.national_id, c.mobile, True)
        return IdentityView(
            verified,
            c.user_name,
            mask_national_id(c.national_id) if c.national_id else None,
            mask_mobile(c.mobile) if c.mobile else None,
            False,
        )

    async def messages_after(
        self, agent: AgentPublic, conversation_id: int, after_id: int, *, reveal: bool = False
    ) -> list[MessageView]:
        """Messages newer than ``after_id`` (for the page's polling)."""
        await self._load(agent, conversation_id)
        rows = (
            await self._session.execute(
                select(
                    ConversationMessage,
                    Agent.display_name,
                    Outbox.status,
                    ConversationAttachment.id.label("attachment_id"),
                )
                .outerjoin(Agent, Agent.id == ConversationMessage.agent_id)
                .outerjoin(Outbox, Outbox.id == ConversationMessage.outbox_id)
                .outerjoin(
                    ConversationAttachment,
                    ConversationAttachment.message_id == ConversationMessage.id,
                )
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.id > after_id,
                )
                .order_by(ConversationMessage.id)
            )
        ).all()
        views = []
        for message, agent_name, outbox_status, attachment_id in rows:
            text = message.text
            if text is not None and message.sender == Sender.USER.value and not reveal:
                text = mask_identifiers(text)
            views.append(
                MessageView(
                    id=message.id,
                    sender=Sender(message.sender),
                    kind=MessageKind(message.kind),
                    text=text,
                    event=message.event,
                    agent_name=agent_name,
                    created_at=_tehran(message.created_at),
                    file_name=message.file_name,
                    mime_type=message.mime_type,
                    has_file=attachment_id is not None,
                    delivery=outbox_status,
                )
            )
        return views

    async def deliveries(self, agent: AgentPublic, conversation_id: int) -> dict[int, str]:
        """Agent message id → its outbox status (pending / sent / failed), for live ticks."""
        await self._load(agent, conversation_id)
        rows = await self._session.execute(
            select(ConversationMessage.id, Outbox.status)
            .join(Outbox, Outbox.id == ConversationMessage.outbox_id)
            .where(ConversationMessage.conversation_id == conversation_id)
        )
        return {message_id: status for message_id, status in rows}

    async def conversation_state(
        self, agent: AgentPublic, conversation_id: int
    ) -> ConversationSummary:
        conversation = await self._load(agent, conversation_id)
        names = await self._agent_names(
            {conversation.agent_id} if conversation.agent_id is not None else set()
        )
        return self._summary(conversation, names)

    async def attachment(
        self, agent: AgentPublic, conversation_id: int, message_id: int
    ) -> Attachment:
        await self._load(agent, conversation_id)
        row = (
            await self._session.execute(
                select(ConversationAttachment.content, ConversationMessage)
                .join(
                    ConversationMessage,
                    ConversationMessage.id == ConversationAttachment.message_id,
                )
                .where(
                    ConversationMessage.id == message_id,
                    ConversationMessage.conversation_id == conversation_id,
                )
            )
        ).first()
        if row is None:
            raise ConversationNotFound(f"attachment {message_id}")
        content, message = row
        return Attachment(content, message.file_name, message.mime_type)

    async def _notes(self, conversation_id: int) -> tuple[NoteView, ...]:
        rows = await self._session.execute(
            select(ConversationNote, Agent.display_name)
            .outerjoin(Agent, Agent.id == ConversationNote.agent_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        )
        return tuple(
            NoteView(note.id, name, note.text, _tehran(note.created_at)) for note, name in rows
        )

    async def take(self, agent: AgentPublic, conversation_id: int) -> ConversationSummary:
        """Assign a pending conversation to the agent (first come, first served)."""
        now = self._clock.now()
        result = await self._session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status == ConversationStatus.PENDING.value,
            )
            .values(
                status=ConversationStatus.OPEN.value,
                agent_id=agent.id,
                taken_at=now,
                last_message_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            conversation = await self._session.get(Conversation, conversation_id)
            if conversation is None:
                raise ConversationNotFound(str(conversation_id))
            raise InvalidConversationState(conversation.status)
        conversation = await self._session.get(Conversation, conversation_id)
        assert conversation is not None
        await self._session.refresh(conversation)
        self._event(conversation, Event.TAKEN, now, agent_id=agent.id)
        self._notify(conversation, {"kind": OutboxKind.HANDOFF_TAKEN, "agent": agent.display_name})
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.take",
            subject=f"conversation:{conversation.id}",
        )
        await self._session.commit()
        return self._summary(conversation, {agent.id: agent.display_name})

    async def start_with_chat_user(
        self, agent: AgentPublic, chat_user_id: int, *, ticket_code: str | None = None
    ) -> int:
        """The agent opens a chat with a user themselves (from a ticket): open at once."""
        user = await self._session.get(ChatUser, chat_user_id)
        if user is None:
            raise NoChatForTicket(str(chat_user_id))
        current = await self._active_row(user.platform, user.platform_user_id)
        if current is not None:
            if current.status == ConversationStatus.OPEN.value and current.agent_id != agent.id:
                raise InvalidConversationState(current.status)
            if current.status == ConversationStatus.PENDING.value:
                await self.take(agent, current.id)
            return current.id
        record = await self._escalation_record(user.platform, user.platform_user_id, user.id)
        national_id, mobile, name = await self._identity_snapshot(user.id)
        now = self._clock.now()
        conversation = Conversation(
            platform=user.platform,
            chat_id=user.platform_user_id,
            chat_user_id=user.id,
            status=ConversationStatus.OPEN.value,
            reason=HandoffReason.AGENT_PICK.value,
            agent_id=agent.id,
            national_id=national_id,
            mobile=mobile,
            user_name=name,
            escalation=record,
            ticket_code=ticket_code,
            created_at=now,
            taken_at=now,
            last_message_at=now,
        )
        self._session.add(conversation)
        await self._session.flush()
        self._event(conversation, Event.PICKED, now, agent_id=agent.id)
        self._notify(conversation, {"kind": OutboxKind.HANDOFF_TAKEN, "agent": agent.display_name})
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.start",
            subject=f"conversation:{conversation.id}",
            details={"ticket": ticket_code} if ticket_code else {},
        )
        await self._session.commit()
        return conversation.id

    async def reply(self, agent: AgentPublic, conversation_id: int, text: str) -> int:
        """Send the agent's reply to the user (through the outbox); return the message id."""
        body = text.strip()
        if not body:
            raise InvalidText("empty", self.config.max_reply_chars)
        if len(body) > self.config.max_reply_chars:
            raise InvalidText("too_long", self.config.max_reply_chars)
        conversation = await self._load_for_action(agent, conversation_id)
        now = self._clock.now()
        outbox = self._notify(
            conversation,
            {
                "kind": OutboxKind.AGENT_REPLY,
                "text": body,
                "agent": agent.display_name,
                "conversation_id": conversation.id,
            },
        )
        await self._session.flush()
        message = ConversationMessage(
            conversation_id=conversation.id,
            sender=Sender.AGENT.value,
            agent_id=agent.id,
            kind=MessageKind.TEXT.value,
            text=body,
            outbox_id=outbox.id,
            created_at=now,
        )
        self._session.add(message)
        conversation.last_message_at = now
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.reply",
            subject=f"conversation:{conversation.id}",
        )
        await self._session.commit()
        return message.id

    async def add_note(self, agent: AgentPublic, conversation_id: int, text: str) -> int:
        """Add a private note (never sent to the user)."""
        body = text.strip()
        if not body:
            raise InvalidText("empty", self.config.max_note_chars)
        if len(body) > self.config.max_note_chars:
            raise InvalidText("too_long", self.config.max_note_chars)
        conversation = await self._load(agent, conversation_id)
        if not (agent.is_supervisor or conversation.agent_id == agent.id):
            raise NotAllowed(f"conversation {conversation_id}")
        note = ConversationNote(
            conversation_id=conversation.id,
            agent_id=agent.id,
            text=body,
            created_at=self._clock.now(),
        )
        self._session.add(note)
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.note",
            subject=f"conversation:{conversation.id}",
        )
        await self._session.commit()
        return note.id

    async def set_label(
        self, agent: AgentPublic, conversation_id: int, label_id: int, on: bool
    ) -> None:
        """Put a label on a conversation or take it off."""
        conversation = await self._load(agent, conversation_id)
        if not (agent.is_supervisor or conversation.agent_id == agent.id):
            raise NotAllowed(f"conversation {conversation_id}")
        label = await self._session.get(Label, label_id)
        if label is None:
            raise InvalidLabel(str(label_id))
        exists = await self._session.get(ConversationLabel, (conversation.id, label.id))
        if on and exists is None:
            self._session.add(
                ConversationLabel(conversation_id=conversation.id, label_id=label.id)
            )
        elif not on and exists is not None:
            await self._session.delete(exists)
        else:
            return
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.label_add" if on else "conversation.label_remove",
            subject=f"conversation:{conversation.id}",
            details={"label": label.name},
        )
        await self._session.commit()
        await self._session.refresh(conversation, ["labels"])

    async def transfer(
        self, agent: AgentPublic, conversation_id: int, to_agent_id: int | None
    ) -> None:
        """Give an open conversation to another agent, or back to the queue (``None``)."""
        conversation = await self._load_for_action(agent, conversation_id)
        now = self._clock.now()
        if to_agent_id is None:
            conversation.status = ConversationStatus.PENDING.value
            conversation.agent_id = None
            conversation.taken_at = None
            self._event(conversation, Event.REQUEUED, now, agent_id=agent.id)
            await self._session.flush()
            online = await AgentService(self._session, self._settings, self._clock).count_online()
            position, wait = await self._position_and_wait(conversation, online)
            self._notify(
                conversation,
                {"kind": OutboxKind.HANDOFF_REQUEUED, "position": position, "wait_minutes": wait},
            )
            target = "queue"
        else:
            target_agent = await self._session.get(Agent, to_agent_id)
            if target_agent is None or not target_agent.is_active:
                raise NotAllowed(f"agent {to_agent_id}")
            if target_agent.id == conversation.agent_id:
                return
            conversation.agent_id = target_agent.id
            self._event(
                conversation,
                Event.TRANSFERRED,
                now,
                agent_id=agent.id,
                text=target_agent.display_name,
            )
            self._notify(
                conversation,
                {"kind": OutboxKind.HANDOFF_TRANSFERRED, "agent": target_agent.display_name},
            )
            target = f"agent:{target_agent.username}"
        conversation.last_message_at = now
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.transfer",
            subject=f"conversation:{conversation.id}",
            details={"to": target},
        )
        await self._session.commit()

    async def resolve(self, agent: AgentPublic, conversation_id: int) -> None:
        """Close the conversation: the bot takes over and asks the user for a rating."""
        conversation = await self._load_for_action(agent, conversation_id)
        now = self._clock.now()
        conversation.status = ConversationStatus.RESOLVED.value
        conversation.resolution = Resolution.RESOLVED.value
        conversation.resolved_at = now
        conversation.last_message_at = now
        self._event(conversation, Event.RESOLVED, now, agent_id=agent.id)
        # Two messages: the first gives the main menu back (a reply keyboard), the second
        # carries the rating buttons (an inline keyboard); one message cannot carry both.
        self._notify(
            conversation,
            {"kind": OutboxKind.HANDOFF_RESOLVED, "conversation_id": conversation.id},
        )
        self._notify(
            conversation,
            {"kind": OutboxKind.SATISFACTION_QUESTION, "conversation_id": conversation.id},
        )
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.resolve",
            subject=f"conversation:{conversation.id}",
        )
        await self._session.commit()

    # --- canned replies and labels ---------------------------------------------------------

    async def canned_replies(self) -> list[CannedReplyView]:
        rows = await self._session.scalars(select(CannedReply).order_by(CannedReply.short_code))
        return [CannedReplyView(r.id, r.short_code, r.title, r.text) for r in rows]

    async def save_canned_reply(
        self,
        agent: AgentPublic,
        *,
        short_code: str,
        title: str,
        text: str,
        reply_id: int | None = None,
    ) -> int:
        """Create or update a canned reply (supervisors only)."""
        self._require_supervisor(agent)
        code = short_code.strip().lower()
        if not code or len(code) > 32 or not all(c.isalnum() or c in "_-" for c in code):
            raise InvalidCannedReply("short_code")
        if not title.strip() or len(title.strip()) > 128:
            raise InvalidCannedReply("title")
        body = text.strip()
        if not body or len(body) > self.config.max_reply_chars:
            raise InvalidCannedReply("text")
        clash = await self._session.scalar(
            select(CannedReply.id).where(CannedReply.short_code == code)
        )
        if clash is not None and clash != reply_id:
            raise InvalidCannedReply("duplicate")
        if reply_id is None:
            row = CannedReply(short_code=code, title=title.strip(), text=body)
            self._session.add(row)
        else:
            found = await self._session.get(CannedReply, reply_id)
            if found is None:
                raise InvalidCannedReply("short_code")
            row = found
            row.short_code, row.title, row.text = code, title.strip(), body
        row.updated_by = agent.id
        row.updated_at = self._clock.now()
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="canned.save",
            subject=f"canned:{row.id}",
            details={"short_code": code},
        )
        await self._session.commit()
        return row.id

    async def delete_canned_reply(self, agent: AgentPublic, reply_id: int) -> None:
        self._require_supervisor(agent)
        await self._session.execute(delete(CannedReply).where(CannedReply.id == reply_id))
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="canned.delete",
            subject=f"canned:{reply_id}",
        )
        await self._session.commit()

    async def labels(self) -> list[LabelView]:
        rows = await self._session.scalars(select(Label).order_by(Label.name))
        return [LabelView(r.id, r.name) for r in rows]

    async def create_label(self, agent: AgentPublic, name: str) -> int:
        self._require_supervisor(agent)
        clean = " ".join(name.split())
        if not clean or len(clean) > 48:
            raise InvalidLabel(name)
        exists = await self._session.scalar(select(Label.id).where(Label.name == clean))
        if exists is not None:
            return exists
        label = Label(name=clean)
        self._session.add(label)
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="label.create",
            subject=f"label:{label.id}",
            details={"name": clean},
        )
        await self._session.commit()
        return label.id

    async def delete_label(self, agent: AgentPublic, label_id: int) -> None:
        self._require_supervisor(agent)
        await self._session.execute(delete(Label).where(Label.id == label_id))
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="label.delete",
            subject=f"label:{label_id}",
        )
        await self._session.commit()

    # --- internals -------------------------------------------------------------------------

    async def _active_row(self, platform: str, chat_id: int) -> Conversation | None:
        return await self._session.scalar(
            select(Conversation).where(
                Conversation.platform == platform,
                Conversation.chat_id == chat_id,
                Conversation.status.in_(ACTIVE),
            )
        )

    def _event(
        self,
        conversation: Conversation,
        event: Event,
        at: dt.datetime,
        *,
        agent_id: int | None = None,
        text: str | None = None,
    ) -> None:
        self._session.add(
            ConversationMessage(
                conversation_id=conversation.id,
                sender=Sender.SYSTEM.value,
                agent_id=agent_id,
                kind=MessageKind.EVENT.value,
                event=event.value,
                text=text,
                created_at=at,
            )
        )

    def _notify(self, conversation: Conversation, payload: dict[str, Any]) -> Outbox:
        """Queue a message to the user in the same transaction as the change it reports."""
        return enqueue(
            self._session,
            self._clock,
            platform=conversation.platform,
            chat_id=conversation.chat_id,
            payload={k: (v.value if isinstance(v, StrEnum) else v) for k, v in payload.items()},
        )


class TicketDesk:
    """The console's view of 1420 tickets: list, open, answer (to the user's chat), close."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._tickets = TicketService(session, settings, clock)

    async def search(self, filters: TicketFilters) -> list[TicketRow]:
        today = self._clock.today()
        query = (
            select(Ticket, ChatUser.platform)
            .outerjoin(ChatUser, ChatUser.id == Ticket.chat_user_id)
            .order_by(Ticket.due_date, Ticket.id)
            .limit(filters.limit)
        )
        if filters.status is not None:
            query = query.where(Ticket.status == filters.status.value)
        if filters.category is not None:
            query = query.where(Ticket.category == filters.category.value)
        unanswered = Ticket.status.in_((TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value))
        if filters.due == "overdue":
            query = query.where(unanswered, Ticket.due_date < today)
        elif filters.due == "today":
            query = query.where(unanswered, Ticket.due_date == today)
        elif filters.due == "week":
            query = query.where(unanswered, Ticket.due_date <= today + dt.timedelta(days=7))
        rows = (await self._session.execute(query)).all()
        return [
            TicketRow(
                id=t.id,
                tracking_code=t.tracking_code,
                category=TicketCategory(t.category),
                status=TicketStatus(t.status),
                text=mask_identifiers(t.text),
                due_date=t.due_date,
                created_at=_tehran(t.created_at),
                due_class=due_class(TicketStatus(t.status), t.due_date, today),
                national_id_masked=mask_national_id(t.national_id) if t.national_id else None,
                platform=platform,
            )
            for t, platform in rows
        ]

    async def page(
        self, agent: AgentPublic, tracking_code: str, *, reveal: bool = False
    ) -> TicketPage:
        info = await self._tickets.get(tracking_code)
        ticket = await self._session.scalar(
            select(Ticket).where(Ticket.tracking_code == info.tracking_code)
        )
        assert ticket is not None
        user = await self._session.get(ChatUser, ticket.chat_user_id)
        if reveal:
            audit(
                self._session,
                self._clock,
                actor=agent.actor,
                action="ticket.reveal_identity",
                subject=info.tracking_code,
            )
            await self._session.commit()
        name = None
        if ticket.national_id:
            person = await SqlRegistryGateway(self._session).person(ticket.national_id)
            name = person.full_name if person else None
        if name is None and user is not None:
            name = user.first_name
        mobile = user.mobile if user is not None and ticket.national_id else None
        identity = IdentityView(
            verified=ticket.national_id is not None,
            name=name,
            national_id=(
                ticket.national_id
                if reveal
                else (mask_national_id(ticket.national_id) if ticket.national_id else None)
            ),
            mobile=mobile if reveal else (mask_mobile(mobile) if mobile else None),
            revealed=reveal,
        )
        conversation = await self._session.scalar(
            select(Conversation)
            .where(Conversation.ticket_id == ticket.id)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        transcript: tuple[TranscriptLine, ...] = ()
        if conversation is not None:
            transcript = tuple(
                TranscriptLine(
                    at=_from_iso(str(line["at"])),
                    text=str(line.get("text") or "")
                    if reveal
                    else mask_identifiers(str(line.get("text") or "")),
                    intent=line.get("intent"),
                    fallback=bool(line.get("fallback")),
                )
                for line in (conversation.escalation or {}).get("transcript", [])
            )
        shown = info
        if not reveal:
            shown = _masked_ticket(info)
        deliveries = await self._deliveries(ticket)
        return TicketPage(
            ticket=shown,
            due_class=due_class(info.status, info.due_date, self._clock.today()),
            identity=identity,
            platform=user.platform if user is not None else None,
            conversation_id=conversation.id if conversation is not None else None,
            transcript=transcript,
            deliveries=deliveries,
        )

    async def _deliveries(self, ticket: Ticket) -> tuple[tuple[dt.datetime, str], ...]:
        rows = await self._session.execute(
            select(Outbox.created_at, Outbox.status, Outbox.payload)
            .where(
                Outbox.chat_id
                == (
                    select(ChatUser.platform_user_id)
                    .where(ChatUser.id == ticket.chat_user_id)
                    .scalar_subquery()
                )
            )
            .order_by(Outbox.id)
        )
        return tuple(
            (_tehran(created), status)
            for created, status, payload in rows
            if isinstance(payload, dict)
            and payload.get("kind") == OutboxKind.TICKET_ANSWER.value
            and payload.get("tracking_code") == ticket.tracking_code
        )

    async def answer(self, agent: AgentPublic, tracking_code: str, text: str) -> TicketInfo:
        """Record the answer and send it to the user's chat with the tracking code."""
        body = text.strip()
        limit = HandoffConfig.from_settings(self._settings).max_reply_chars
        if len(body) > limit:
            raise InvalidText("too_long", limit)
        info = await self._tickets.get(tracking_code)
        ticket = await self._session.scalar(
            select(Ticket).where(Ticket.tracking_code == info.tracking_code)
        )
        assert ticket is not None
        user = await self._session.get(ChatUser, ticket.chat_user_id)
        if user is None:
            raise NoChatForTicket(info.tracking_code)
        try:
            # The outbox row and the answer commit together (TicketService.answer commits).
            enqueue(
                self._session,
                self._clock,
                platform=user.platform,
                chat_id=user.platform_user_id,
                payload={
                    "kind": OutboxKind.TICKET_ANSWER.value,
                    "tracking_code": info.tracking_code,
                    "text": body,
                },
            )
            return await self._tickets.answer(info.tracking_code, body, agent.actor)
        except BaseException:
            await self._session.rollback()
            raise

    async def close(self, agent: AgentPublic, tracking_code: str) -> TicketInfo:
        return await self._tickets.change_status(tracking_code, TicketStatus.CLOSED, agent.actor)

    async def start_chat(self, agent: AgentPublic, tracking_code: str) -> int:
        """Open a conversation with the ticket's owner (an agent picks the chat)."""
        info = await self._tickets.get(tracking_code)
        chat_user_id = await self._session.scalar(
            select(Ticket.chat_user_id).where(Ticket.tracking_code == info.tracking_code)
        )
        assert chat_user_id is not None
        handoff = HandoffService(self._session, self._settings, self._clock)
        return await handoff.start_with_chat_user(
            agent, chat_user_id, ticket_code=info.tracking_code
        )


def _masked_ticket(info: TicketInfo) -> TicketInfo:
    return replace(info, text=mask_identifiers(info.text))


__all__ = [
    "ACTIVE",
    "ActiveConversation",
    "CannedReplyView",
    "ClosedBecause",
    "ConversationDetail",
    "ConversationNotFound",
    "ConversationStatus",
    "ConversationSummary",
    "DueClass",
    "EscalationOutcome",
    "Event",
    "HandoffConfig",
    "HandoffReason",
    "HandoffService",
    "IdentityView",
    "InvalidConversationState",
    "InvalidText",
    "LabelView",
    "LeftConversation",
    "MessageKind",
    "MessageView",
    "NotAllowed",
    "OutboxKind",
    "Queued",
    "RateOutcome",
    "Sender",
    "TicketDesk",
    "TicketFilters",
    "TicketRow",
    "Ticketed",
    "WithAgent",
    "mask_identifiers",
]
