"""The handlers, one Router per feature, assembled here in the order of priority.

``build_handlers`` is the one place that decides who sees an update first:

1. errors — the error router (its own observer; listed first for reading);
2. groups — the bot works in private chats only, whatever was sent there;
3. commands — /start, /menu, /help, /cancel, /logout, /settings always work, even mid-flow;
4. flow steps — the active conversation step (verification, complaint, dependant request,
   voluntary estimate) takes the answer to its own question;
5. agent relay — a chat an agent has taken over goes to the agent, silently; a queued chat's
   messages are kept for the agent and then answered by the bot (``relay.build_leave_router``
   sits just before the commands so that /cancel leaves the queue);
6. intents — the NLU classifies the text once (``UnderstandMiddleware``) and the handler whose
   ``Intent`` filter matches answers: one router per feature, each intent an ordinary handler;
   the verification gate (``PersonalGate``) stands in front of those flagged ``personal``;
7. fallback — last, because it answers whatever nothing above took (stickers, voice, files
   outside a flow, very long text, old buttons, edited messages): it must never shadow a
   more specific handler.

Routers 2–5 sit behind one root filter, ``may_be_before_intents``: a message none of them could
take (free text in a private chat with no step and no agent) goes straight to the intents.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot import texts
from bot.handlers import (
    commands,
    complaints,
    dependants,
    eligibility,
    errors,
    fallback,
    family,
    groups,
    human,
    info,
    knowledge,
    pension,
    records,
    relay,
    settings,
    smalltalk,
    thread,
    topics,
    verification,
    voluntary,
)
from bot.handlers.common import UnderstandMiddleware
from services.handoff import ActiveConversation


def build_intents() -> Router:
    """The intent router: what a message means, once, then the feature routers' handlers.

    The feature routers' intent filters do not overlap (``Intent`` refuses an unsure result,
    which "did you mean …?" in smalltalk takes), so their order only decides how soon a
    message finds its handler. aiogram tries routers and their handlers one by one (some 25 µs
    a router and 7 µs a handler here), so the most asked come first, and smalltalk, with
    eight message handlers, after the short ones.
    """
    router = Router(name="intents")
    understand = UnderstandMiddleware()
    router.message.outer_middleware(understand)
    router.callback_query.outer_middleware(understand)
    router.include_routers(
        # Before the intents it guards: «عیدی» must not get a payslip (see topics.py).
        topics.build_router(),
        eligibility.build_router(),
        records.build_router(),
        # Before the routers whose intents it may take (info, smalltalk, dependants,
        # voluntary): see bot/handlers/knowledge.py for the order of answering.
        knowledge.build_router(),
        info.build_router(),
        smalltalk.build_router(),
        family.build_router(),
        dependants.build_router(),
        complaints.build_router(),
        pension.build_router(),
        voluntary.build_router(),
        human.build_router(),
        thread.build_router(),
        # The menu's notices button (menu-only: the model never returns its intent).
        settings.build_intent_router(),
    )
    return router


def build_handlers() -> list[Router]:
    """Return the routers in priority order."""
    intents = build_intents()
    gate = verification.PersonalGate(intents)
    intents.message.middleware(gate)
    intents.callback_query.middleware(gate)
    steps = Router(name="flow-steps")
    steps.include_routers(
        # First: an exit word or another request inside any flow (issue 14).
        thread.build_guard(gate),
        verification.build_steps(gate),
        complaints.build_steps(),
        dependants.build_steps(),
        voluntary.build_steps(),
    )
    before_intents = Router(name="before-intents")
    # Rule: a message handler added to routers 2–5 must be let through by this filter
    # (tests/bot/test_routing_gate.py fails otherwise). It pays: skipping their nine routers
    # was about a quarter of the bot's CPU per update (README, "The figures behind the code's
    # rules"). Every filter in these routers is awaitable, magic ones wrapped in
    # bot.filters.inline (a thread hand-off each otherwise, ~60 µs; test_middlewares checks).
    before_intents.message.filter(may_be_before_intents)
    before_intents.include_routers(
        groups.build_router(),
        # /cancel and the cancel button leave the agent's queue or chat (before the commands).
        relay.build_leave_router(),
        commands.build_router(),
        # /settings and its switches (proactive notices), a command like those above.
        settings.build_router(),
        steps,
        relay.build_router(),
    )
    return [errors.build_router(), before_intents, intents, fallback.build_router()]


async def may_be_before_intents(
    message: Message,
    raw_state: str | None = None,
    chat_handoff: ActiveConversation | None = None,
) -> bool:
    """Whether a message may be for one of the routers before the intents (2–5 above).

    Most messages are free text in a private chat with no step under way and no agent: none of
    those routers takes them, and aiogram's walk through their nine routers (every router's
    middleware wrapping and filter checks) was a large share of the bot's CPU per update (the
    README's benchmark section has the figure).
    This one check lets such a message go straight to the intents. It is the union of what the
    routers' handlers need (``tests/bot/test_routing_gate.py`` checks each handler against it):

    - a group or channel (groups);
    - a conversation step under way (flow steps), or a chat queued for or with an agent (relay);
    - a shared contact, which the verification step takes in any state;
    - a command, the cancel button or the back-to-the-bot button (commands, relay).
    """
    if message.chat.type != ChatType.PRIVATE:
        return True
    if raw_state is not None or chat_handoff is not None or message.contact is not None:
        return True
    text = message.text
    return text is not None and (text.startswith("/") or text in _GATE_BUTTONS)


_GATE_BUTTONS = frozenset({texts.BTN_CANCEL, texts.BTN_BACK_TO_BOT})
