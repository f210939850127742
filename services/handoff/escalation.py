"""The bot's side of the handoff: escalate a chat, leave it, rate it, and where it stands.

A chat belongs to the bot until it is escalated (the user asks for a person, the NLU misses
twice in a row). Inside working hours with an agent online the chat is queued and the user
learns their place and a rough wait; otherwise it becomes a 1420 ticket with its due date.
While queued or with an agent, what the user sends is stored for the console.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from services.agents import AgentService
from services.common import audit, insert_unless_taken
from services.db.handoff_models import (
    Agent,
    Conversation,
    ConversationAttachment,
    ConversationMessage,
)
from services.db.models import Ticket
from services.enums import (
    ACTIVE_CONVERSATION_STATUSES,
    ClosedBecause,
    ConversationStatus,
    Event,
    HandoffReason,
    MessageKind,
    RateOutcome,
    Resolution,
    Sender,
    TicketCategory,
)
from services.errors import ConversationNotFound, InvalidConversationState, NoChatForTicket
from services.handoff.base import HandoffBase
from services.handoff.results import (
    ActiveConversation,
    EscalationOutcome,
    LeftConversation,
    Queued,
    Ticketed,
    WithAgent,
)
from services.info import InfoService
from services.tickets import TicketService

logger = logging.getLogger(__name__)

# Queue, find the chat queued by a racing update, find that one ended: at most this often.
_QUEUE_ATTEMPTS = 3


class EscalationService(HandoffBase):
    """Escalations and the user's side of a chat in the handoff."""

    async def active(self, platform: str, chat_id: int) -> ActiveConversation | None:
        """Return the chat's queued or open conversation, if any."""
        row = (
            await self._session.execute(
                select(Conversation.id, Conversation.status, Conversation.agent_id).where(
                    Conversation.platform == str(platform),
                    Conversation.chat_id == chat_id,
                    Conversation.status.in_(ACTIVE_CONVERSATION_STATUSES),
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
        values = {
            "platform": platform,
            "chat_id": chat_id,
            "chat_user_id": chat_user_id,
            "reason": reason.value,
            "national_id": identity[0],
            "mobile": identity[1],
            "user_name": identity[2],
            "escalation": record,
            "created_at": now,
            "last_message_at": now,
        }
        if not status.open or online == 0:
            because = (
                ClosedBecause.OUTSIDE_HOURS if not status.open else ClosedBecause.NOBODY_ONLINE
            )
            return await self._ticket_instead(
                Conversation(**values), chat_user_id, ticket_text, because, status.next_opening
            )

        queued = {**values, "status": ConversationStatus.QUEUED.value}
        for _attempt in range(_QUEUE_ATTEMPTS):
            new_id = await insert_unless_taken(self._session, Conversation, queued)
            if new_id is not None:
                break
            # Another update of the same chat queued it a moment ago (the partial unique
            # index); if that one has ended meanwhile, the chat may be queued afresh.
            current = await self._active_row(platform, chat_id)
            if current is not None:
                return await self._current_outcome(current)
        else:
            raise RuntimeError(f"could not queue conversation of chat {platform}:{chat_id}")
        conversation = await self._session.get(Conversation, new_id)
        assert conversation is not None
        self._event(conversation, Event.QUEUED, now)
        audit(
            self._session,
            self._clock,
            actor=f"chat:{platform}",
            action="handoff.queued",
            subject=f"conversation:{conversation.id}",
            details={"reason": reason.value},
        )
        await self._session.flush()
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
        info = await tickets.create(
            chat_user_id, TicketCategory(self.config.ticket_category), body
        )
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
        await self._session.flush()
        return Ticketed(conversation.id, info.tracking_code, info.due_date, because, next_opening)

    async def standing(self, conversation_id: int) -> EscalationOutcome | None:
        """Where a handed-over chat stands now (its place and wait in the queue, or its
        agent), for a user who asks while waiting; None when it is gone."""
        conversation = await self._session.get(Conversation, conversation_id)
        if conversation is None or conversation.status not in (
            ConversationStatus.QUEUED.value,
            ConversationStatus.OPEN.value,
        ):
            return None
        return await self._current_outcome(conversation)

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
        if conversation.status not in ACTIVE_CONVERSATION_STATUSES:
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
        await self._session.flush()
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
        await self._session.flush()
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
        await self._session.flush()
        return RateOutcome.THANKS
