"""What the feature routers share: the ``Intent`` filter and the middleware that understands a
message once, the ``personal`` flag, free-text checks and the input problems a flow reports.

An intent handler is an ordinary aiogram handler on its feature's router::

    @router.message(Intent("check_eligibility"), flags=PERSONAL)
    @router.callback_query(Intent("check_eligibility"), flags=PERSONAL)
    async def check_eligibility(
        event: Message | CallbackQuery, understanding: Understanding, reply: Reply
    ) -> None: ...

``UnderstandMiddleware`` (outer, on the intent router) puts ``understanding`` into the data: the
NLU's reading of a message, or the intent a "did you mean …?" button names; ``Intent`` matches
it. ``PERSONAL`` marks a handler that needs a verified user: the verification gate
(``bot.handlers.verification.PersonalGate``) is the one place that reads it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, cast

from aiogram import BaseMiddleware, F
from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot import texts
from bot.acts import announces_question, settled_closing, status_question
from bot.dialogue import (
    ELIGIBILITY,
    LEANING,
    MAX_QUESTION_ON_ANSWER_WORDS,
    SMALLTALK,
    Dialogue,
    follow_up,
)
from bot.filters import inline
from bot.keyboards import DependantRequest, IntentPick
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.requests import request_parts
from services.metrics import metrics

if TYPE_CHECKING:
    from bot.context import UpdateContext

logger = logging.getLogger(__name__)

# Longer messages are not classified (the fallback asks for a shorter one): nobody asks a
# question in a page of text, and the classifier's cost grows with the length.
MAX_UNDERSTOOD_LENGTH: Final = 1000
# Text that is a command or a main-menu button is never the answer to a flow's question.
_COMMAND: Final = re.compile(r"^/\w")

# The handler flag of intents that need a verified user (read by the verification gate only).
PERSONAL: Final = {"personal": True}
# The action behind the dependant-request button: personal, and no message names it.
DEPENDANT_REQUEST: Final = "dependant_request"


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


class Intent(BaseFilter):
    """Match a message understood as one of ``names``, or a button that names one of them."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    async def __call__(
        self, event: TelegramObject, understanding: Understanding | None = None
    ) -> bool:
        return (
            understanding is not None
            and not understanding.unsure
            and understanding.intent in self.names
        )

    def __str__(self) -> str:
        return f"Intent({', '.join(sorted(self.names))})"


class Unsure(BaseFilter):
    """Match a message the NLU could not decide about."""

    async def __call__(self, message: Message, understanding: Understanding | None = None) -> bool:
        return understanding is not None and understanding.unsure


def button_understanding(data: str | None) -> Understanding | None:
    """The request a button's callback data makes (None for a button that names no intent)."""
    if not data:
        return None
    intent = relation = ""
    try:
        if data.startswith(f"{IntentPick.__prefix__}{IntentPick.__separator__}"):
            pick = IntentPick.unpack(data)
            intent, relation = pick.intent, pick.relation
        elif data.startswith(f"{DependantRequest.__prefix__}{DependantRequest.__separator__}"):
            intent, relation = DEPENDANT_REQUEST, DependantRequest.unpack(data).relation
        else:
            return None
    except (TypeError, ValueError):  # an old or forged button: the fallback answers it
        return None
    entities = ({"entity": "relation", "value": relation},) if relation else ()
    return Understanding(intent=intent, confidence=1.0, entities=entities, from_menu=True)


class UnderstandMiddleware(BaseMiddleware):
    """Outer middleware of the intent router: put ``understanding`` into the data.

    A text message is classified once; what was understood is logged for the dashboard and
    the escalation transcript (through the batching intent log writer). A main-menu button
    also ends any flow in progress: the user chose to do something else. A button press gets
    the understanding its button names (``button_understanding``), if any.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = cast("UpdateContext", data)
        config = context["settings"].config.dialogue
        context["dialogue"] = Dialogue(
            context["state"], context["clock"].now, dt.timedelta(minutes=config.memory_minutes)
        )
        if isinstance(event, CallbackQuery):
            understanding = button_understanding(event.data)
            if understanding is not None:
                context["understanding"] = understanding
                return await _measured(handler, event, data, understanding)
        elif (
            isinstance(event, Message) and event.text and len(event.text) <= MAX_UNDERSTOOD_LENGTH
        ):
            parts = await self._understand(event, event.text, context)
            if parts:
                return await self._answer_each(handler, event, data, parts)
            return await _measured(handler, event, data, context["understanding"])
        return await handler(event, data)

    @staticmethod
    async def _answer_each(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
        parts: list[Understanding],
    ) -> Any:
        """Answer each request of a message in turn, each through the whole intent router.

        ``requests`` tells the verification gate that there are several: an unverified user's
        personal request keeps them all (``requests_kept``) for after the verification.
        """
        context = cast("UpdateContext", data)
        context["requests"] = tuple(parts)
        result: Any = None
        for part in parts:
            context["understanding"] = part
            result = await _measured(handler, event, data, part)
            if context.get("requests_kept"):
                break
        return result

    @staticmethod
    async def _understand(
        message: Message, text: str, context: UpdateContext
    ) -> list[Understanding]:
        """Understand the message: one request, a follow-up of the last answer, or several."""
        understander = context["understander"]
        understanding = understander(text)
        if not understanding.from_menu:
            metrics().nlu_confidence.observe(understanding.confidence)
        dialogue = context["dialogue"]
        parts: list[Understanding] = []
        if not understanding.from_menu and may_hold_several(text):
            parts = request_parts(
                text,
                understander,
                limit=context["settings"].config.dialogue.max_requests_per_message,
                is_task=is_task,
            )
        if not parts:
            # What the message does, when its words mislead the NLU (``bot.acts``).
            understanding = (
                status_question(understanding)
                or announces_question(understanding)
                or settled_closing(understanding)
                or understanding
            )
        if not parts and may_follow_up(understanding):
            understanding = follow_up(understanding, await dialogue.topic()) or understanding
        context["understanding"] = parts[0] if parts else understanding
        # Batched by the writer, not part of the unit of work (a write per message cost a
        # database round trip per update). An escalation flushes the writer before it reads
        # the transcript, so this message is in it.
        context["services"].intent_log.record(
            platform=str(context["platform"]),
            chat_id=message.chat.id,
            text=text,
            # «تا کی؟» and «چرا؟» are questions about the eligibility answer, for the dashboard.
            intent=ELIGIBILITY if understanding.intent in LEANING else understanding.intent,
            confidence=understanding.confidence,
            fallback=understanding.unsure,
        )
        state = context.get("state")
        # raw_state: the state aiogram read for this update (no other router has run a
        # handler before this one), so a menu press costs no second read of the storage.
        if understanding.from_menu and state is not None and context.get("raw_state"):
            await state.set_state(None)
        logger.debug(
            "understood %s (%.2f)%s%s",
            understanding.intent,
            understanding.confidence,
            " unsure" if understanding.unsure else "",
            f" ({len(parts)} requests)" if parts else "",
        )
        return parts


async def _measured(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
    understanding: Understanding,
) -> Any:
    """Answer one understood request, counting its intent (and fallback) and timing it.

    Labels are the intent and where it came from, never the text or the user.
    """
    m = metrics()
    # Bounded: a button's callback data (which names the intent) can be forged.
    intent = m.intent_label(understanding.intent)
    if understanding.from_menu:
        source = "menu" if understanding.text else "button"
    else:
        source = "follow_up" if understanding.follow_up else "model"
    m.intents.labels(intent, source).inc()
    if understanding.fallback:
        m.fallbacks.labels("low_confidence").inc()
    elif understanding.ambiguous:
        m.fallbacks.labels("ambiguous").inc()
    elif understanding.intent == OUT_OF_SCOPE:
        m.fallbacks.labels("out_of_scope").inc()
    started = time.perf_counter()
    try:
        return await handler(event, data)
    finally:
        m.intent_seconds.labels(intent).observe(time.perf_counter() - started)


def is_task(understanding: Understanding) -> bool:
    """Whether a message was understood confidently as a request (not small talk)."""
    return (
        not understanding.unsure
        and understanding.intent != OUT_OF_SCOPE
        and understanding.intent not in SMALLTALK
    )


def may_hold_several(text: str) -> bool:
    """Whether ``text`` is worth cutting into requests (a cheap look before classifying)."""
    stripped = text.strip().rstrip("?؟!. ")
    return (
        "?" in stripped
        or "؟" in stripped
        or "\n" in stripped
        or "،" in stripped
        or "," in stripped
        or "همچنین" in stripped
        or " و " in stripped
        # «هم X هم Y» (bot.acts.correlative_parts).
        or stripped.startswith("هم ")
    )


def may_follow_up(understanding: Understanding) -> bool:
    """Whether a message is short enough to be a follow-up (read the remembered topic)."""
    return (
        not understanding.from_menu
        and len(understanding.text.split()) <= MAX_QUESTION_ON_ANSWER_WORDS
    )


async def note_understood(dialogue: Dialogue) -> None:
    """Reset the count of misunderstood messages after one was understood."""
    if (await dialogue.data()).get("misses"):
        await dialogue.update(misses=0)


async def note_missed(dialogue: Dialogue) -> int:
    """Count one more misunderstood message in a row; return the count."""
    misses = int((await dialogue.data()).get("misses") or 0) + 1
    await dialogue.update(misses=misses)
    return misses
