"""What waits for an agent, for the console's menu badges and the tab title (polled).

- ``queue``: chats waiting in the queue for anyone;
- ``mine``: the agent's open chats whose last word is the user's (unanswered, "unread");
- ``requests``: dependant requests under review that nobody took, plus those on the agent's desk;
- ``tickets``: 1420 tickets not answered yet whose answer date has come or passed.

Four aggregate queries, each on an indexed column; the page polls every few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from services.agents import AgentPublic
from services.db.handoff_models import Conversation, ConversationMessage
from services.db.models import DependantRequest, Ticket
from services.enums import ConversationStatus, DependantRequestStatus, Sender, TicketStatus
from services.handoff.base import HandoffBase


@dataclass(frozen=True, slots=True)
class DeskCounts:
    queue: int
    mine: int
    requests: int
    tickets: int
    # The newest queued chat's id: the page rings when it grows (a new chat, not a count change).
    newest_queued: int


class Counts(HandoffBase):
    async def for_agent(self, agent: AgentPublic) -> DeskCounts:
        s = self._session
        queued = (
            await s.execute(
                select(func.count(), func.max(Conversation.id)).where(
                    Conversation.status == ConversationStatus.QUEUED.value
                )
            )
        ).one()
        last_word = (
            select(
                ConversationMessage.conversation_id,
                func.max(ConversationMessage.id).label("last_id"),
            )
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(
                Conversation.status == ConversationStatus.OPEN.value,
                Conversation.agent_id == agent.id,
                ConversationMessage.sender.in_((Sender.USER.value, Sender.AGENT.value)),
            )
            .group_by(ConversationMessage.conversation_id)
            .subquery()
        )
        mine = await s.scalar(
            select(func.count())
            .select_from(last_word)
            .join(ConversationMessage, ConversationMessage.id == last_word.c.last_id)
            .where(ConversationMessage.sender == Sender.USER.value)
        )
        requests = await s.scalar(
            select(func.count()).where(
                DependantRequest.status == DependantRequestStatus.UNDER_BRANCH_REVIEW.value,
                or_(
                    DependantRequest.assigned_agent_id.is_(None),
                    DependantRequest.assigned_agent_id == agent.id,
                ),
            )
        )
        tickets = await s.scalar(
            select(func.count()).where(
                Ticket.status.in_((TicketStatus.OPEN.value, TicketStatus.IN_PROGRESS.value)),
                Ticket.due_date <= self._clock.today(),
            )
        )
        return DeskCounts(
            queue=int(queued[0] or 0),
            mine=int(mine or 0),
            requests=int(requests or 0),
            tickets=int(tickets or 0),
            newest_queued=int(queued[1] or 0),
        )
