"""The one way a handler is written: typed parameters that name known context, nothing else.

aiogram gives a handler the workflow and middleware values whose keys match its parameter
names and silently leaves the others out, so a misspelt name fails only when the handler runs,
and ``**data`` hides what a handler uses. Every handler of every router is checked here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from aiogram.dispatcher.event.handler import HandlerObject

from bot.context import UpdateContext
from bot.handlers import build_handlers

# What aiogram itself puts into the data (the dispatcher, the FSM and the filters we use).
AIOGRAM_KEYS = frozenset(
    {
        "bot",
        "event_update",
        "event_router",
        "event_from_user",
        "event_chat",
        "state",
        "raw_state",
        "handler",
        "callback_data",
        "callback_answer",
        "command",
    }
)
# "commands": aiogram marks handlers with a Command filter so (for setMyCommands helpers).
KNOWN_FLAGS = frozenset({"personal", "commands"})


def _handlers() -> Iterator[tuple[str, HandlerObject]]:
    for root in build_handlers():
        for router in root.chain_tail:
            for kind, observer in router.observers.items():
                for handler in observer.handlers:
                    yield f"{router.name}.{kind}:{handler.callback.__name__}", handler


def test_every_handler_asks_for_known_context_by_name() -> None:
    known = AIOGRAM_KEYS | UpdateContext.__required_keys__ | UpdateContext.__optional_keys__
    seen = 0
    for where, handler in _handlers():
        seen += 1
        # The first parameter is the event itself, whatever its name.
        _, *params = inspect.signature(handler.callback).parameters.values()
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params), where
        unknown = {p.name for p in params} - known
        assert not unknown, (where, unknown)
    assert seen > 50


def test_every_flag_is_one_the_gate_reads() -> None:
    flagged = []
    for where, handler in _handlers():
        assert handler.flags.keys() <= KNOWN_FLAGS, (where, handler.flags)
        if handler.flags.get("personal"):
            flagged.append(where.split(":")[1])
    # The registry's answers: contribution records, payslips, the family's cover, a request.
    assert {
        "check_eligibility",
        "last_contribution",
        "insurance_record",
        "pension_slip",
        "start_request",
    } <= set(flagged)
