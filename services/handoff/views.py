"""What the console reads: the queue, an agent's chats, a conversation's page and its files.

Identities and what users typed are masked unless an agent reveals them (which is audited).
An agent sees queued chats (to choose one) and their own; supervisors see all.
"""

from __future__ import annotations

from sqlalchemy import select

from persian import mask_identifiers, mask_mobile, mask_national_id
from services.agents import AgentPublic
from services.common import audit
from services.db.handoff_models import (
    Agent,
    Conversation,
    ConversationAttachment,
    ConversationLabel,
    ConversationMessage,
    ConversationNote,
)
from services.db.models import Outbox
from services.enums import ConversationStatus, MessageKind, Sender
from services.errors import ConversationNotFound, NotAllowed
from services.handoff.base import HandoffBase
from services.handoff.results import (
    Attachment,
    ConversationDetail,
    ConversationSummary,
    IdentityView,
    MessageView,
    NoteView,
    ServiceAnswer,
    TranscriptLine,
    from_iso,
    tehran,
)


class ConversationViews(HandoffBase):
    """The console's reading of conversations, within the viewer's permissions."""

    async def queue(self) -> list[ConversationSummary]:
        """Queued conversations, oldest first."""
        rows = await self._session.scalars(
            select(Conversation)
            .where(Conversation.status == ConversationStatus.QUEUED.value)
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

    async def detail(
        self, agent: AgentPublic, conversation_id: int, *, reveal: bool = False
    ) -> ConversationDetail:
        """The conversation page; ``reveal`` shows the identity unmasked and is audited."""
        conversation = await self._load(agent, conversation_id)
        can_reveal = self._can_reveal(agent, conversation)
        if reveal and not can_reveal:
            raise NotAllowed(f"reveal conversation {conversation_id}")
        if reveal:
            audit(
                self._session,
                self._clock,
                actor=agent.actor,
                action="conversation.reveal_identity",
                subject=f"conversation:{conversation.id}",
            )
            await self._session.flush()
        names = await self._agent_names(
            {conversation.agent_id} if conversation.agent_id is not None else set()
        )
        summary = self._summary(conversation, names)
        record = conversation.escalation or {}
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
            for line in record.get("transcript", [])
        )
        answers = tuple(
            ServiceAnswer(
                kind=str(a["kind"]),
                at=from_iso(str(a["at"])),
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
            identity=self._identity_view(conversation, reveal, can_reveal),
            transcript=transcript,
            answers=answers,
            messages=tuple(messages),
            notes=notes,
            can_act=self._can_act(agent, conversation),
        )

    def _identity_view(self, c: Conversation, reveal: bool, can_reveal: bool) -> IdentityView:
        verified = c.national_id is not None
        if reveal:
            return IdentityView(verified, c.user_name, c.national_id, c.mobile, True, can_reveal)
        return IdentityView(
            verified,
            c.user_name,
            mask_national_id(c.national_id) if c.national_id else None,
            mask_mobile(c.mobile) if c.mobile else None,
            False,
            can_reveal,
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
                    created_at=tehran(message.created_at),
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
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="conversation.open_attachment",
            subject=f"conversation:{conversation_id}",
            details={"message": message_id},
        )
        await self._session.flush()
        return Attachment(content, message.file_name, message.mime_type)

    async def _notes(self, conversation_id: int) -> tuple[NoteView, ...]:
        rows = await self._session.execute(
            select(ConversationNote, Agent.display_name)
            .outerjoin(Agent, Agent.id == ConversationNote.agent_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        )
        return tuple(
            NoteView(note.id, name, note.text, tehran(note.created_at)) for note, name in rows
        )
