"""What the feature routers share: the ``Turn`` an intent handler gets, the intent registry,
the NLU filter and middleware, and the small input problems a flow reports.

An intent handler is ``async def handler(turn: Turn) -> None``: it reads the turn, calls one
service and renders. The registry registers it for the intent's messages (NLU or menu) and for
the intent's "did you mean …?" button, marks personal intents so that an unverified user is
verified first, and can run an intent again later — which is how a personal request made before
verification is answered right after it, without asking again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Container, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import texts
from bot.deps import Services
from bot.filters import inline
from bot.keyboards import IntentPick
from bot.nlu import OUT_OF_SCOPE, Understander, Understanding
from bot.reply import Reply
from services.clock import Clock
from services.identity import ChatUserInfo
from services.settings import Settings

logger = logging.getLogger(__name__)

# Longer messages are not classified (the fallback asks for a shorter one): nobody asks a
# question in a page of text, and the classifier's cost grows with the length.
MAX_UNDERSTOOD_LENGTH: Final = 1000
# Text that is a command or a main-menu button is never the answer to a flow's question.
_COMMAND: Final = re.compile(r"^/\w")


def is_free_text(text: str | None) -> bool:
    """Whether ``text`` may answer a flow's question (not a command, menu or cancel button)."""
    if not text:
        return False
    stripped = text.strip()
    return not (_COMMAND.match(stripped) or stripped in texts.MENU or stripped == texts.BTN_CANCEL)


FREE_TEXT = inline(F.text.func(is_free_text))


class InputProblem(Exception):
    """What the user typed cannot be used; the error router answers with ``template``."""

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template[:40])
        self.template = template
        self.values = values


@dataclass(frozen=True)
class Turn:
    """Everything an intent handler needs for one message or button press."""

    reply: Reply
    services: Services
    user: ChatUserInfo
    state: FSMContext
    understanding: Understanding
    settings: Settings
    clock: Clock
    registry: IntentRegistry
    text: str = ""

    def with_understanding(self, understanding: Understanding) -> Turn:
        return replace(self, understanding=understanding)

    def with_user(self, user: ChatUserInfo) -> Turn:
        return replace(self, user=user)


IntentHandler = Callable[[Turn], Awaitable[None]]
Gate = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True)
class _Entry:
    handler: IntentHandler
    personal: bool


class IntentRegistry:
    """Intent name → handler, with the verification gate for personal intents.

    The intent router has one message handler and one button handler for all intents
    (``attach``), which look the handler up by name: one filter per update instead of one per
    intent, since aiogram tries a router's handlers one by one.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._routed: set[str] = set()
        self._gate: Gate | None = None

    def set_gate(self, gate: Gate) -> None:
        """Use ``gate`` for personal intents of unverified users (it starts verification)."""
        self._gate = gate

    def add(self, intent: str, handler: IntentHandler, *, personal: bool = False) -> None:
        """Answer ``intent``'s messages (NLU or menu) and its buttons with ``handler``."""
        self.add_action(intent, handler, personal=personal)
        self._routed.add(intent)

    def add_action(self, name: str, handler: IntentHandler, *, personal: bool = False) -> None:
        """Register a runnable action that no message triggers directly (e.g. a button's)."""
        if name in self._entries:
            raise ValueError(f"intent {name!r} registered twice")
        self._entries[name] = _Entry(handler, personal)

    def attach(self, router: Router) -> None:
        """Route the messages and the buttons of every intent added with ``add`` on ``router``."""

        async def on_intent(message: Message, turn: Turn) -> None:
            await self.run(turn)

        async def on_intent_button(query: CallbackQuery, turn: Turn) -> None:
            await self.run(turn)

        router.message.register(on_intent, Understood(self._routed))
        router.callback_query.register(
            on_intent_button, IntentPick.filter(F.intent.func(self._routed.__contains__))
        )

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def is_personal(self, name: str) -> bool:
        entry = self._entries.get(name)
        return entry is not None and entry.personal

    async def run(self, turn: Turn) -> None:
        """Run the turn's intent, verifying the user first when it is personal."""
        entry = self._entries[turn.understanding.intent]
        if entry.personal and not turn.user.is_verified:
            if self._gate is None:
                raise RuntimeError("no verification gate configured")
            await self._gate(turn)
            return
        if turn.understanding.intent != OUT_OF_SCOPE:
            await note_understood(turn.state)
        await entry.handler(turn)


class Understood(BaseFilter):
    """Match a message the NLU (or the menu) understood as one of ``intents``."""

    def __init__(self, intents: Container[str]) -> None:
        self.intents = intents

    async def __call__(self, message: Message, understanding: Understanding | None = None) -> bool:
        return (
            understanding is not None
            and not understanding.unsure
            and understanding.intent in self.intents
        )


class Unsure(BaseFilter):
    """Match a message the NLU could not decide about."""

    async def __call__(self, message: Message, understanding: Understanding | None = None) -> bool:
        return understanding is not None and understanding.unsure


class UnderstandMiddleware(BaseMiddleware):
    """Outer middleware of the intent router: classify a text message once.

    What was understood is logged for the dashboard and the escalation transcript (through the
    batching intent log writer). A main-menu button also ends any flow in progress: the user
    chose to do something else.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Message) and event.text and len(event.text) <= MAX_UNDERSTOOD_LENGTH:
            understander: Understander = data["understander"]
            understanding = understander(event.text)
            data["understanding"] = understanding
            # Batched by the writer, not part of the unit of work (a write per message cost a
            # database round trip per update). An escalation flushes the writer before it reads
            # the transcript, so this message is in it.
            services: Services = data["services"]
            services.intent_log.record(
                platform=str(data["platform"]),
                chat_id=event.chat.id,
                text=event.text,
                intent=understanding.intent,
                confidence=understanding.confidence,
                fallback=understanding.unsure,
            )
            state: FSMContext | None = data.get("state")
            # raw_state: the state aiogram read for this update (no other router has run a
            # handler before this one), so a menu press costs no second read of the storage.
            if understanding.from_menu and state is not None and data.get("raw_state"):
                await state.set_state(None)
            logger.debug(
                "understood %s (%.2f)%s",
                understanding.intent,
                understanding.confidence,
                " unsure" if understanding.unsure else "",
            )
        return await handler(event, data)


class TurnMiddleware(BaseMiddleware):
    """Inner middleware of the intent router: build the ``Turn`` of a matched handler."""

    def __init__(self, registry: IntentRegistry) -> None:
        self.registry = registry

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        understanding: Understanding | None = data.get("understanding")
        pick = data.get("callback_data")
        if isinstance(pick, IntentPick):
            entities = ({"entity": "relation", "value": pick.relation},) if pick.relation else ()
            understanding = Understanding(
                intent=pick.intent, confidence=1.0, entities=entities, from_menu=True
            )
        text = event.text or "" if isinstance(event, Message) else ""
        data["turn"] = build_turn(data, understanding or Understanding("out_of_scope", 0.0), text)
        return await handler(event, data)


def build_turn(data: Mapping[str, Any], understanding: Understanding, text: str = "") -> Turn:
    """Return the ``Turn`` of an update from its middleware data."""
    return Turn(
        reply=data["reply"],
        services=data["services"],
        user=data["chat_user"],
        state=data["state"],
        understanding=understanding,
        settings=data["settings"],
        clock=data["clock"],
        registry=data["registry"],
        text=text,
    )


async def note_understood(state: FSMContext) -> None:
    """Reset the count of misunderstood messages after one was understood."""
    data = await state.get_data()
    if data.get("misses"):
        await state.update_data(misses=0)


async def note_missed(state: FSMContext) -> int:
    """Count one more misunderstood message in a row; return the count."""
    misses = int((await state.get_data()).get("misses") or 0) + 1
    await state.update_data(misses=misses)
    return misses
