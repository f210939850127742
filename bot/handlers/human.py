"""human_agent: hand the chat to a 1420 agent (``bot.handlers.relay.hand_over``).

Inside the contact centre's hours with an agent online the chat is queued and the user learns
their place and a rough wait; otherwise a 1420 ticket is filed and the user gets its tracking
code and due date. The escalation carries the recent transcript, the verified identity and what
the services already answered, so the user does not repeat themselves.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.deps import Services
from bot.dialogue import Dialogue
from bot.handlers.common import Intent
from bot.handlers.relay import hand_over
from bot.nlu import Understanding
from bot.reply import Reply
from services.enums import HandoffReason
from services.handoff import Ticketed
from services.identity import ChatUserInfo


async def human_agent(
    event: Message | CallbackQuery,
    understanding: Understanding,
    services: Services,
    chat_user: ChatUserInfo,
    state: FSMContext,
    reply: Reply,
    dialogue: Dialogue,
) -> None:
    """Escalate to a person: queued with a place and a wait, or a ticket when nobody can.

    A ticket is remembered as the conversation's topic: «حالا تا کی باید منتظر بمونم؟» next is
    about it (``bot.dialogue``: its status and due date).
    """
    outcome = await hand_over(
        services=services,
        reply=reply,
        state=state,
        platform=chat_user.platform,
        chat_id=reply.chat_id,
        chat_user=chat_user,
        reason=HandoffReason.HUMAN_AGENT,
        # What the user wrote goes into the ticket; a menu button's label says nothing more.
        user_text=None if understanding.from_menu else understanding.text or None,
    )
    if isinstance(outcome, Ticketed):
        await dialogue.remember("track_ticket", {"ticket_id": outcome.tracking_code})


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(human_agent, Intent("human_agent"))
    router.callback_query.register(human_agent, Intent("human_agent"))
    return router
