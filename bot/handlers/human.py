"""human_agent: hand the chat to a 1420 agent (``bot.handlers.relay.hand_over``).

Inside the contact centre's hours with an agent online the chat is queued and the user learns
their place and a rough wait; otherwise a 1420 ticket is filed and the user gets its tracking
code and due date. The escalation carries the recent transcript, the verified identity and what
the services already answered, so the user does not repeat themselves.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers.common import IntentRegistry, Turn
from bot.handlers.relay import hand_over
from services.enums import HandoffReason


async def human_agent(turn: Turn) -> None:
    """Escalate to a person: queued with a place and a wait, or a ticket when nobody can."""
    await hand_over(
        services=turn.services,
        reply=turn.reply,
        state=turn.state,
        platform=turn.user.platform,
        chat_id=turn.reply.chat_id,
        chat_user=turn.user,
        reason=HandoffReason.HUMAN_AGENT,
        user_text=turn.text if turn.text and not turn.understanding.from_menu else None,
    )


def register(registry: IntentRegistry) -> Router:
    router = Router(name=__name__)
    registry.add("human_agent", human_agent)
    return router
