"""The gate before the routers that precede the intents (``bot.handlers.may_be_before_intents``).

The gate lets a message skip the groups, commands, flow-step and relay routers at once. It is
only correct if none of their handlers would have taken a message it turns away. This checks
that exhaustively over every combination of the things those handlers look at: the chat type,
the text (commands, every button, a mobile, a national ID, free text), a contact or a photo,
every conversation state, and no handoff, a queued one or an open one.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiogram import Router
from aiogram.fsm.state import StatesGroup

from bot import texts
from bot.handlers import build_handlers, may_be_before_intents
from bot.handlers.complaints import ComplaintForm
from bot.handlers.dependants import DependantForm
from bot.handlers.verification import Verification
from bot.handlers.voluntary import VoluntaryForm
from bot.platform import PlatformBot
from services.common import ChatUserInfo
from services.enums import ConversationStatus
from services.handoff import ActiveConversation
from tests.bot import fakes
from tests.bot.conftest import make_bots

USER = fakes.user(700_000_001, "مریم")
CHAT_USER = ChatUserInfo(
    id=1,
    platform="telegram",
    platform_user_id=USER.id,
    first_name="مریم",
    mobile="09121234567",
    national_id="6508124226",
    verified_at=None,
    locked_until=None,
)
TEXTS: tuple[str | None, ...] = (
    None,
    "سلام، بیمه دارم؟",
    "/start",
    "/cancel",
    "/menu@tamin_test_bot",
    "09121234567",
    "۶۵۰۸۱۲۴۲۲۶",
    *(value for name, value in vars(texts).items() if name.startswith("BTN_")),
)
CONTENT: tuple[dict[str, Any], ...] = (
    {},
    {"contact": fakes.contact("09121234567", user_id=USER.id)},
    {"photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]},
)
GROUPS: tuple[type[StatesGroup], ...] = (Verification, ComplaintForm, DependantForm, VoluntaryForm)
STATES: tuple[str | None, ...] = (
    None,
    *(state.state for group in GROUPS for state in group.__all_states__),
)
HANDOFFS: tuple[ActiveConversation | None, ...] = (
    None,
    ActiveConversation(7, ConversationStatus.QUEUED, None),
    ActiveConversation(7, ConversationStatus.OPEN, 3),
)


def _gated() -> Router:
    routers = build_handlers()
    (gate,) = [r for r in routers if r.name == "before-intents"]
    return gate


async def _taken_by(gate: Router, message: Any, data: dict[str, Any]) -> list[str]:
    """The handlers under the gate that would take ``message`` (their router's root filters
    and their own filters all pass)."""
    taken = []
    for router in gate.chain_tail:
        if router is gate:
            continue
        passed, extra = await router.message.check_root_filters(message, **data)  # + data
        if not passed:
            continue
        for handler in router.message.handlers:
            accepted, _ = await handler.check(message, **extra)
            if accepted:
                taken.append(f"{router.name}:{handler.callback.__name__}")
    return taken


async def test_no_handler_behind_the_gate_wants_what_it_turns_away() -> None:
    gate = _gated()
    bot: PlatformBot = make_bots()[0]
    turned_away = 0
    for chat, text, content, state, handoff in itertools.product(
        (fakes.private_chat(USER.id), fakes.group_chat()), TEXTS, CONTENT, STATES, HANDOFFS
    ):
        if text is None and not content:
            continue  # a message has something in it
        message = fakes.message(USER, chat=chat, text=text, **content)
        data = {
            "bot": bot,
            "raw_state": state,
            "chat_user": CHAT_USER if chat.type == "private" else None,
            "chat_handoff": handoff if chat.type == "private" else None,
            "event_from_user": USER,
            "event_chat": chat,
        }
        if await may_be_before_intents(message, state, data["chat_handoff"]):
            continue
        turned_away += 1
        taken = await _taken_by(gate, message, data)
        assert not taken, (text, content.keys(), state, handoff, taken)
    # Ordinary messages are turned away (the point of the gate): free text, photos and the
    # menu's own buttons, in a private chat with no step and no agent.
    assert turned_away >= 20


async def test_the_gate_lets_through_what_each_router_is_for() -> None:
    private = fakes.private_chat(USER.id)
    plain = fakes.message(USER, text="سلام")
    assert not await may_be_before_intents(plain)
    assert await may_be_before_intents(fakes.message(USER, chat=fakes.group_chat(), text="سلام"))
    assert await may_be_before_intents(fakes.message(USER, chat=private, text="/help"))
    assert await may_be_before_intents(fakes.message(USER, text=texts.BTN_CANCEL))
    assert await may_be_before_intents(fakes.message(USER, text=texts.BTN_BACK_TO_BOT))
    assert await may_be_before_intents(plain, raw_state=Verification.national_id.state)
    assert await may_be_before_intents(plain, chat_handoff=HANDOFFS[1])
    contact = fakes.message(USER, contact=fakes.contact("09121234567", user_id=USER.id))
    assert await may_be_before_intents(contact)
