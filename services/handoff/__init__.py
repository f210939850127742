"""Human handoff: escalated chats, the agents' queue and desk, and the console's ticket desk.

A chat belongs to the bot until it is escalated (the user asks for a person, the NLU misses
twice in a row, or an agent picks the chat). Conversation states (Chatwoot's words, except
that Chatwoot's "pending" means held by the bot; ours waits for a person, so it is ``queued``)::

    bot ──escalate──▶ queued ──take──▶ open ──resolve──▶ resolved ──rate──▶ (rated)
     ▲                  │  ▲             │
     └──── leave ───────┘  └─ transfer ──┘ (to the queue; or to another agent: stays open)
    bot ──escalate (closed / nobody online)──▶ ticketed (a 1420 ticket)

Every escalation carries a record: the user's recent messages with what the bot understood,
the verified identity, and what the services already answered (eligibility inquiries,
tickets, dependant requests), so that the user never has to repeat themselves.

The modules: :mod:`~services.handoff.escalation` (the bot's side: escalate, leave, rate,
queue status), :mod:`~services.handoff.desk` (take, reply, note, label, transfer, resolve),
:mod:`~services.handoff.views` (what the console reads), :mod:`~services.handoff.catalogue`
(canned replies and labels), :mod:`~services.handoff.ticket_desk` (1420 tickets in the
console), :mod:`~services.handoff.results` (what they return) and
:mod:`~services.handoff.base` (what they share). Their vocabularies are in
:mod:`services.enums` and their refusals in :mod:`services.errors`. Services here return data
and codes; the console and the bot word them.
"""

from services.handoff.catalogue import Catalogue
from services.handoff.desk import AgentDesk
from services.handoff.escalation import EscalationService
from services.handoff.results import (
    ActiveConversation,
    Attachment,
    CannedReplyView,
    ConversationDetail,
    ConversationSummary,
    EscalationOutcome,
    IdentityView,
    LabelView,
    LeftConversation,
    MessageView,
    NoteView,
    Queued,
    ServiceAnswer,
    Ticketed,
    TicketFilters,
    TicketPage,
    TicketRow,
    TranscriptLine,
    WithAgent,
)
from services.handoff.ticket_desk import TicketDesk
from services.handoff.views import ConversationViews

__all__ = [
    "ActiveConversation",
    "AgentDesk",
    "Attachment",
    "CannedReplyView",
    "Catalogue",
    "ConversationDetail",
    "ConversationSummary",
    "ConversationViews",
    "EscalationOutcome",
    "EscalationService",
    "IdentityView",
    "LabelView",
    "LeftConversation",
    "MessageView",
    "NoteView",
    "Queued",
    "ServiceAnswer",
    "TicketDesk",
    "TicketFilters",
    "TicketPage",
    "TicketRow",
    "Ticketed",
    "TranscriptLine",
    "WithAgent",
]
