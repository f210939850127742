"""The handlers, one Router per feature, assembled here in the order of priority.

``build_handlers`` is the one place that decides who sees an update first:

1. errors — the error router (its own observer; listed first for reading);
2. groups — the bot works in private chats only, whatever was sent there;
3. commands — /start, /menu, /help, /cancel, /logout always work, even mid-flow;
4. flow steps — the active conversation step (verification, complaint, dependant request,
   voluntary estimate) takes the answer to its own question;
5. agent relay — a chat an agent has taken over goes to the agent, silently; a queued chat's
   messages are kept for the agent and then answered by the bot (``relay.build_leave_router``
   sits just before the commands so that /cancel leaves the queue);
6. intents — the NLU classifies the text once and the intent's handler answers (one aiogram
   handler for all intents looks it up by name);
7. fallback — last, because it answers whatever nothing above took (stickers, voice, files
   outside a flow, very long text, old buttons, edited messages): it must never shadow a
   more specific handler.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    commands,
    complaints,
    dependants,
    eligibility,
    errors,
    fallback,
    groups,
    human,
    info,
    pension,
    records,
    relay,
    smalltalk,
    verification,
    voluntary,
)
from bot.handlers.common import IntentRegistry, TurnMiddleware, UnderstandMiddleware


def build_intents(registry: IntentRegistry) -> Router:
    """The intent router: NLU once per message, then the intent's handler."""
    router = Router(name="intents")
    router.message.outer_middleware(UnderstandMiddleware())
    turn = TurnMiddleware(registry)
    router.message.middleware(turn)
    router.callback_query.middleware(turn)
    # The intents' own handlers, tried before the feature routers below (an unsure result,
    # which they do not match, goes on to "did you mean …?").
    registry.attach(router)
    router.include_routers(
        smalltalk.register(registry),
        eligibility.register(registry),
        records.register(registry),
        dependants.register(registry),
        complaints.register(registry),
        pension.register(registry),
        voluntary.register(registry),
        info.register(registry),
        human.register(registry),
    )
    return router


def build_handlers() -> tuple[list[Router], IntentRegistry]:
    """Return the routers in priority order and the intent registry they share."""
    registry = IntentRegistry()
    registry.set_gate(verification.require_verification)
    steps = Router(name="flow-steps")
    steps.include_routers(
        verification.build_steps(),
        complaints.build_steps(),
        dependants.build_steps(),
        voluntary.build_steps(),
    )
    routers = [
        errors.build_router(),
        groups.build_router(),
        # /cancel and the cancel button leave the agent's queue or chat (before the commands).
        relay.build_leave_router(),
        commands.build_router(),
        steps,
        relay.build_router(),
        build_intents(registry),
        fallback.build_router(),
    ]
    return routers, registry
