"""What the handoff's services share: one session, the ``handoff`` settings, and internals.

The internals are the active conversation of a chat, transcript events and messages to the
user (through the outbox, in the same transaction as the change they report), the queue's
position and wait, the escalation record, summaries, and who may read or act on a conversation.
Services here flush; the caller's unit of work commits.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_national_id
from services.agents import AgentPublic
from services.clock import Clock
from services.db.handoff_models import Agent, Conversation, ConversationMessage, IntentLogEntry
from services.db.models import (
    ChatUser,
    DependantRequest,
    EligibilityInquiry,
    Outbox,
    Ticket,
)
from services.enums import (
    ACTIVE_CONVERSATION_STATUSES,
    ConversationStatus,
    Event,
    HandoffReason,
    MessageKind,
    Resolution,
    Sender,
)
from services.errors import ConversationNotFound, InvalidConversationState, NotAllowed
from services.handoff.results import ConversationSummary, LabelView, iso, tehran
from services.outbox import enqueue
from services.registry import SqlRegistryGateway
from services.settings import Settings


class HandoffBase:
    """One session, the settings and the clock, with the ``handoff`` section at hand."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self.config = settings.config.handoff

    async def _active_row(self, platform: str, chat_id: int) -> Conversation | None:
        return await self._session.scalar(
            select(Conversation).where(
                Conversation.platform == platform,
                Conversation.chat_id == chat_id,
                Conversation.status.in_(ACTIVE_CONVERSATION_STATUSES),
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

    async def _position_and_wait(self, conversation: Conversation, online: int) -> tuple[int, int]:
        ahead = await self._session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.status == ConversationStatus.QUEUED.value,
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
                "at": iso(r.created_at),
                "text": r.text,
                "intent": r.intent,
                "fallback": r.is_fallback,
                "from_bot": r.from_bot,
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
                        "at": iso(inquiry.created_at),
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
                        "at": iso(ticket.created_at),
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
                        "at": iso(request.created_at),
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
        end = c.taken_at or (c.resolved_at if c.status != ConversationStatus.QUEUED else None)
        return ConversationSummary(
            id=c.id,
            platform=c.platform,
            status=ConversationStatus(c.status),
            reason=HandoffReason(c.reason),
            user_name=c.user_name,
            national_id_masked=mask_national_id(c.national_id) if c.national_id else None,
            agent_id=c.agent_id,
            agent_name=names.get(c.agent_id) if c.agent_id is not None else None,
            created_at=tehran(c.created_at),
            taken_at=tehran(c.taken_at) if c.taken_at else None,
            resolved_at=tehran(c.resolved_at) if c.resolved_at else None,
            last_message_at=tehran(c.last_message_at),
            waiting=max((end or now) - c.created_at, dt.timedelta(0)),
            labels=tuple(LabelView(label.id, label.name) for label in c.labels),
            satisfaction=c.satisfaction,
            ticket_code=c.ticket_code,
        )

    def _require_supervisor(self, agent: AgentPublic) -> None:
        if not agent.is_supervisor:
            raise NotAllowed("supervisors only")

    def _can_read(self, agent: AgentPublic, c: Conversation) -> bool:
        # Queued chats are open to every agent (to choose one), and so is the escalation
        # record of one that became a ticket (whoever answers the ticket needs it).
        if agent.is_supervisor or c.status in (
            ConversationStatus.QUEUED.value,
            ConversationStatus.TICKETED.value,
        ):
            return True
        return c.agent_id == agent.id

    def _can_reveal(self, agent: AgentPublic, c: Conversation) -> bool:
        # Reading a queued chat (to choose one) is not holding it: an identity in clear is for
        # the agent who took the chat, or a supervisor.
        return agent.is_supervisor or (
            c.status == ConversationStatus.OPEN.value and c.agent_id == agent.id
        )

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
