"""The console's ticket desk: list 1420 tickets, open one, answer it in the user's chat, close.

Tickets are filed by the bot (``services.tickets``); the desk shows them against their answer
target, masks identities unless revealed (audited), and sends an answer to the user's chat
through the outbox with the tracking code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_identifiers, mask_mobile, mask_national_id
from services import notices
from services.agents import AgentPublic
from services.clock import Clock
from services.common import audit
from services.db.handoff_models import Conversation
from services.db.models import ChatUser, Outbox, Ticket, TicketEvent
from services.enums import (
    ConversationStatus,
    NoticeKind,
    OutboxKind,
    TicketCategory,
    TicketStatus,
)
from services.errors import InvalidText, NoChatForTicket, NotAllowed
from services.handoff.desk import AgentDesk
from services.handoff.results import (
    DocRef,
    IdentityView,
    TicketFilters,
    TicketPage,
    TicketRow,
    TranscriptLine,
    due_class,
    from_iso,
    tehran,
)
from services.registry import SqlRegistryGateway
from services.settings import Settings
from services.tickets import TicketInfo, TicketService


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
        return [ticket_row(t, platform, today) for t, platform in rows]

    async def page(
        self, agent: AgentPublic, tracking_code: str, *, reveal: bool = False
    ) -> TicketPage:
        info = await self._tickets.get(tracking_code)
        ticket = await self._session.scalar(
            select(Ticket).where(Ticket.tracking_code == info.tracking_code)
        )
        assert ticket is not None
        user = await self._session.get(ChatUser, ticket.chat_user_id)
        can_reveal = agent.is_supervisor or await self._holds_chat_with(agent, ticket.chat_user_id)
        if reveal and not can_reveal:
            raise NotAllowed(f"reveal ticket {info.tracking_code}")
        if reveal:
            audit(
                self._session,
                self._clock,
                actor=agent.actor,
                action="ticket.reveal_identity",
                subject=info.tracking_code,
            )
            await self._session.flush()
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
            can_reveal=can_reveal,
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
                    at=from_iso(str(line["at"])),
                    text=str(line.get("text") or "")
                    if reveal
                    else mask_identifiers(str(line.get("text") or "")),
                    intent=line.get("intent"),
                    fallback=bool(line.get("fallback")),
                    from_bot=bool(line.get("from_bot")),
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

    async def _holds_chat_with(self, agent: AgentPublic, chat_user_id: int) -> bool:
        """Whether ``agent`` holds an open chat with the ticket's owner (then they may reveal)."""
        held = await self._session.scalar(
            select(Conversation.id)
            .where(
                Conversation.chat_user_id == chat_user_id,
                Conversation.agent_id == agent.id,
                Conversation.status == ConversationStatus.OPEN.value,
            )
            .limit(1)
        )
        return held is not None

    async def _deliveries(self, ticket: Ticket) -> tuple[tuple[dt.datetime, str], ...]:
        """Each answer's way to the user: the outbox's status once handed over, ``waiting``
        while the quiet hours hold its notice, ``off`` when the user switched answers off."""
        answers = (
            await self._session.execute(
                select(TicketEvent.note, TicketEvent.created_at)
                .where(
                    TicketEvent.ticket_id == ticket.id,
                    TicketEvent.to_status == TicketStatus.ANSWERED.value,
                )
                .order_by(TicketEvent.id)
            )
        ).all()
        subjects = [
            notices.answer_subject(ticket.tracking_code, note or "") for note, _ in answers
        ]
        log = await notices.delivery_log(
            self._session, ticket.chat_user_id, NoticeKind.TICKET_ANSWERED, subjects
        )
        states = {subject: (moment, state) for subject, moment, state in log}
        # Answers sent before notices existed (migration 0008) went to the outbox directly.
        legacy = await self._direct_answers(ticket) if len(states) < len(subjects) else {}
        deliveries: list[tuple[dt.datetime, str]] = []
        for subject, (note, answered_at) in zip(subjects, answers, strict=True):
            moment, state = states.get(subject) or legacy.get(note or "") or (answered_at, "off")
            deliveries.append((tehran(moment), state))
        return tuple(deliveries)

    async def _direct_answers(self, ticket: Ticket) -> dict[str, tuple[dt.datetime, str]]:
        """Answers put straight into the outbox (no notice row), by their text."""
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
        return {
            str(payload.get("text") or ""): (created, status)
            for created, status, payload in rows
            if isinstance(payload, dict)
            and payload.get("kind") == OutboxKind.TICKET_ANSWER.value
            and payload.get("tracking_code") == ticket.tracking_code
        }

    async def answer(self, agent: AgentPublic, tracking_code: str, text: str) -> TicketInfo:
        """Record the answer and send it to the user's chat with the tracking code."""
        body = text.strip()
        limit = self._settings.config.handoff.max_reply_chars
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
        # The answer first: a ticket that cannot take one (closed) refuses before anything is
        # queued for the user. The outbox row then commits with the answer.
        answered = await self._tickets.answer(info.tracking_code, body, agent.actor)
        # A notice (issue 18): on unless the user switched answers off in /settings; in the
        # quiet hours it waits for their end (services.notices).
        await notices.ticket_answered(
            self._session,
            self._clock,
            self._settings,
            chat_user=user,
            tracking_code=info.tracking_code,
            text=body,
        )
        await self._session.flush()
        return answered

    async def attachment(self, agent: AgentPublic, tracking_code: str, index: int) -> DocRef:
        """A ticket's file by its place in the list (to fetch from the messenger); audited."""
        info = await self._tickets.get(tracking_code)
        if not 0 <= index < len(info.attachments):
            raise NotAllowed(f"attachment {index} of {info.tracking_code}")
        platform = await self._session.scalar(
            select(ChatUser.platform)
            .join(Ticket, Ticket.chat_user_id == ChatUser.id)
            .where(Ticket.tracking_code == info.tracking_code)
        )
        ref = info.attachments[index]
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="ticket.open_attachment",
            subject=info.tracking_code,
            details={"index": index},
        )
        await self._session.flush()
        return DocRef(platform or "telegram", ref.file_id, ref.file_name, ref.mime_type, ref.kind)

    async def close(self, agent: AgentPublic, tracking_code: str) -> TicketInfo:
        return await self._tickets.change_status(tracking_code, TicketStatus.CLOSED, agent.actor)

    async def start_chat(self, agent: AgentPublic, tracking_code: str) -> int:
        """Open a conversation with the ticket's owner (an agent picks the chat)."""
        info = await self._tickets.get(tracking_code)
        chat_user_id = await self._session.scalar(
            select(Ticket.chat_user_id).where(Ticket.tracking_code == info.tracking_code)
        )
        assert chat_user_id is not None
        desk = AgentDesk(self._session, self._settings, self._clock)
        return await desk.start_with_chat_user(agent, chat_user_id, ticket_code=info.tracking_code)


def _masked_ticket(info: TicketInfo) -> TicketInfo:
    return replace(info, text=mask_identifiers(info.text))


def ticket_row(t: Ticket, platform: str | None, today: dt.date) -> TicketRow:
    """A ticket as the desk's lists show it (the text and national ID masked)."""
    return TicketRow(
        id=t.id,
        tracking_code=t.tracking_code,
        category=TicketCategory(t.category),
        status=TicketStatus(t.status),
        text=mask_identifiers(t.text),
        due_date=t.due_date,
        created_at=tehran(t.created_at),
        due_class=due_class(TicketStatus(t.status), t.due_date, today),
        national_id_masked=mask_national_id(t.national_id) if t.national_id else None,
        platform=platform,
    )
