"""The agent desk: take a chat, reply, note, label, transfer and resolve it.

An agent takes a queued chat (first come, first served): from then on the bot relays the
user's messages to the console and stays silent, and agent replies reach the user through the
outbox. Resolving hands the chat back to the bot and asks the user for a 1–5 rating. Every
action is audited.
"""

from __future__ import annotations

from sqlalchemy import update

from services.agents import AgentPublic, AgentService
from services.common import audit
from services.db.handoff_models import (
    Agent,
    Conversation,
    ConversationLabel,
    ConversationMessage,
    ConversationNote,
    Label,
)
from services.db.models import ChatUser
from services.enums import (
    ConversationStatus,
    Event,
    HandoffReason,
    MessageKind,
    OutboxKind,
    Resolution,
    Sender,
)
from services.errors import (
    ConversationNotFound,
    InvalidConversationState,
    InvalidLabel,
    InvalidText,
    NoChatForTicket,
    NotAllowed,
)
from services.handoff.base import HandoffBase
from services.handoff.results import ConversationSummary
from services.metrics import metrics


class AgentDesk(HandoffBase):
    """What an agent does to a conversation; an open chat is acted on by its agent or a
    supervisor."""

    async def take(self, agent: AgentPublic, conversation_id: int) -> ConversationSummary:
        """Assign a queued conversation to the agent (first come, first served)."""
        now = self._clock.now()
        result = await self._session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation_id,
                Conversation.status == ConversationStatus.QUEUED.value,
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
        metrics().handoff_wait.observe(max((now - conversation.created_at).total_seconds(), 0.0))
        self._event(conversation, Event.TAKEN, now, agent_id=agent.id)
        self._notify(conversation, {"kind": OutboxKind.HANDOFF_TAKEN, "agent": agent.display_name})
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.take",
            subject=f"conversation:{conversation.id}",
        )
        await self._session.flush()
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
            if current.status == ConversationStatus.QUEUED.value:
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
        # The agent opened this chat: the user asked for nobody, so "accepted the conversation"
        # would be wrong; the notice names the ticket instead.
        self._notify(
            conversation,
            {
                "kind": OutboxKind.HANDOFF_STARTED,
                "agent": agent.display_name,
                "tracking_code": ticket_code or "",
            },
        )
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.start",
            subject=f"conversation:{conversation.id}",
            details={"ticket": ticket_code} if ticket_code else {},
        )
        await self._session.flush()
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
        await self._session.flush()
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
        await self._session.flush()
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
        await self._session.flush()
        await self._session.refresh(conversation, ["labels"])

    async def transfer(
        self, agent: AgentPublic, conversation_id: int, to_agent_id: int | None
    ) -> None:
        """Give an open conversation to another agent, or back to the queue (``None``)."""
        conversation = await self._load_for_action(agent, conversation_id)
        now = self._clock.now()
        if to_agent_id is None:
            conversation.status = ConversationStatus.QUEUED.value
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
        await self._session.flush()

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
        await self._session.flush()
