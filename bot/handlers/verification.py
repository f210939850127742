"""Verification: the user's own contact, then their national ID, checked against the registry;
and the gate in front of personal intents.

``PersonalGate`` is the one place that reads the ``personal`` handler flag. When an unverified
user asks for something personal it keeps the request (intent and entities, in the FSM data)
and starts this flow instead of the handler; once the national ID is verified it runs the
kept request's handler at once, so the user does not ask again. Refusals (someone else's
contact, a bad checksum, a mismatch, the lockout) are domain errors that the error router
words. Verification lives in the database, so it survives restarts.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from aiogram import BaseMiddleware, F, Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.dispatcher.flags import get_flag
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, TelegramObject

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.dialogue import KEEPS_TOPIC, Dialogue, entities_of
from bot.filters import inline
from bot.handlers.common import FREE_TEXT, Intent, is_task, note_understood
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.reply import Reply
from persian import mask_mobile, try_normalize_mobile
from services.clock import Clock
from services.identity import ChatUserInfo

if TYPE_CHECKING:
    from bot.context import UpdateContext

# A run of digits (any script) with the separators people type inside numbers.
_DIGITS_RUN: Final = re.compile(r"\d[\d\s\-_.]*\d|\d")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# The FSM data key set when the registry refused the mobile for the national ID typed (the
# step's help then repeats the branch instruction).
MISMATCH_KEY: Final = "verify_mismatch"


class Verification(StatesGroup):
    contact = State()
    national_id = State()


@dataclass(frozen=True)
class JustVerified:
    """What the national-ID step returns when it verified the user (the gate then answers the
    request that was kept)."""

    user: ChatUserInfo


def kept_request(understanding: Understanding) -> dict[str, Any]:
    """A request as the FSM data keeps it until the verification."""
    return {
        "intent": understanding.intent,
        "entities": [dict(e) for e in understanding.entities],
        "text": understanding.text,
    }


async def ask_to_verify(
    understandings: Sequence[Understanding],
    state: FSMContext,
    user: ChatUserInfo,
    clock: Clock,
    reply: Reply,
) -> None:
    """Keep the personal requests (in order) and ask for what verification still needs."""
    await state.update_data(pending=[kept_request(u) for u in understandings])
    locked = user.locked_until
    if locked is not None and locked > clock.now():
        await state.set_state(None)
        await reply(
            texts.VERIFICATION_LOCKED,
            until=fmt.jalali_moment(locked),
            keyboard=keyboards.main_menu(personal=False),
        )
        return
    if user.has_contact:
        await state.set_state(Verification.national_id)
        await reply(texts.ASK_NATIONAL_ID_FOR_REQUEST, keyboard=keyboards.remove())
        return
    await state.set_state(Verification.contact)
    await reply(
        texts.ASK_CONTACT, button=texts.BTN_SHARE_CONTACT, keyboard=keyboards.share_contact()
    )


class PersonalGate(BaseMiddleware):
    """Inner middleware of the intent router and of the verification steps.

    Before an intent handler flagged ``personal`` runs for an unverified user, it keeps the
    request and asks for verification instead. After the national-ID step returns
    ``JustVerified``, it runs the kept request's handler (found by its ``Intent`` filter under
    ``intents``). An understood intent also resets the count of misunderstood messages.
    """

    def __init__(self, intents: Router) -> None:
        self._intents = intents
        self._by_intent: dict[str, HandlerObject] | None = None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context = cast("UpdateContext", data)
        understanding = context.get("understanding")
        requests = context.get("requests") or ()
        user = context.get("chat_user")
        if understanding is not None and user is not None and not user.is_verified:
            # Several requests in one message: if any is personal, all wait for the
            # verification and are answered after it, in the order written.
            personal = get_flag(data, "personal") or (
                bool(requests)
                and understanding is requests[0]
                and any(self.is_personal(r.intent) for r in requests)
            )
            if personal:
                kept = requests or (understanding,)
                context["requests_kept"] = True
                await ask_to_verify(
                    kept, context["state"], user, context["clock"], context["reply"]
                )
                return None
        if (
            understanding is not None
            and not understanding.unsure
            and understanding.intent != OUT_OF_SCOPE
            and "dialogue" in context
        ):
            await note_understood(context["dialogue"])
        # A handler may answer as another intent's handler (the knowledge base's personal
        # entries for a verified user: bot.handlers.knowledge.PERSONAL_ENTRIES).
        # The partial holds ``data`` and ``data`` holds it: popped when the handler is done,
        # or the cycle keeps the whole update (its session, its objects: about fifty) alive
        # until a garbage collection, which then walks them all (README, benchmark section,
        # 2026-12-07, second entry; tests/bot/test_no_cycles.py).
        context["answer_as"] = functools.partial(self.answer, event, data)
        try:
            result = await handler(event, data)
        finally:
            data.pop("answer_as", None)
        dialogue = context.get("dialogue")
        if (
            dialogue is not None
            and understanding is not None
            and not dialogue.remembered
            and is_task(understanding)
            and understanding.intent not in KEEPS_TOPIC
        ):
            # The topic of the thread; handlers with an answer to remember did so themselves.
            await dialogue.remember(understanding.intent, entities_of(understanding))
        if isinstance(result, JustVerified):
            await self._answer_kept_request(event, data, result.user)
        return result

    async def _answer_kept_request(
        self, event: TelegramObject, data: dict[str, Any], user: ChatUserInfo
    ) -> None:
        context = cast("UpdateContext", data)
        state = context["state"]
        pending = (await state.get_data()).get("pending")
        await state.clear()
        dialogue = context.get("dialogue")
        if dialogue is not None:
            dialogue.forget_cache()
        # A dict: kept by the version before several requests could wait.
        kept = [pending] if isinstance(pending, dict) else list(pending or ())
        for request in kept:
            understanding = Understanding(
                intent=str(request["intent"]),
                confidence=1.0,
                entities=tuple(request.get("entities") or ()),
                text=str(request.get("text") or ""),
            )
            await self.answer(event, data, understanding, user)

    async def answer(
        self,
        event: TelegramObject,
        data: dict[str, Any],
        understanding: Understanding,
        user: ChatUserInfo | None = None,
    ) -> bool:
        """Run the handler of ``understanding``'s intent directly; False if there is none."""
        target = self._handler_of(understanding.intent)
        if target is None:  # kept by an older version under a name now gone
            return False
        values: dict[str, Any] = {**data, "understanding": understanding}
        if user is not None:
            values["chat_user"] = user
        if "dialogue" not in values:
            values["dialogue"] = Dialogue(
                values["state"],
                values["clock"].now,
                dt.timedelta(minutes=values["settings"].config.dialogue.memory_minutes),
            )
        dialogue: Dialogue = values["dialogue"]
        dialogue.remembered = False
        await target.call(event, **values)
        if (
            not dialogue.remembered
            and is_task(understanding)
            and understanding.intent not in KEEPS_TOPIC
        ):
            # The topic of the thread, as ``__call__`` keeps it: «کلش چند سال میشه؟» after a
            # last record answered right after the verification leans on it.
            await dialogue.remember(understanding.intent, entities_of(understanding))
        return True

    def is_personal(self, intent: str) -> bool:
        """Whether the handler of ``intent`` needs a verified user."""
        target = self._handler_of(intent)
        return target is not None and bool((target.flags or {}).get("personal"))

    def _handler_of(self, intent: str) -> HandlerObject | None:
        if self._by_intent is None:
            # Built on first use: every feature router is included by then.
            self._by_intent = {}
            for router in self._intents.chain_tail:
                for observer in (router.message, router.callback_query):
                    for candidate in observer.handlers:
                        for flt in candidate.filters or ():
                            if isinstance(flt.callback, Intent):
                                for name in flt.callback.names:
                                    self._by_intent.setdefault(name, candidate)
        return self._by_intent.get(intent)


async def on_contact(
    message: Message,
    state: FSMContext,
    services: Services,
    chat_user: ChatUserInfo,
    reply: Reply,
) -> None:
    """Take the user's own shared contact and ask for the national ID."""
    contact = message.contact
    assert contact is not None
    # A forwarded contact card proves nothing about who is typing, whatever its user_id says.
    owner = None if message.forward_origin is not None else contact.user_id
    was_verified = chat_user.is_verified
    user = await services.identity.register_contact(
        chat_user.id, contact_user_id=owner, phone_number=contact.phone_number
    )
    if was_verified and user.is_verified:
        await state.set_state(None)
        await reply(texts.CONTACT_UNEXPECTED_SELF, keyboard=keyboards.main_menu())
        return
    await state.set_state(Verification.national_id)
    assert user.mobile is not None
    await reply(
        texts.ASK_NATIONAL_ID,
        mobile=fmt.digits(mask_mobile(user.mobile)),
        keyboard=keyboards.remove(),
    )


async def on_typed_mobile(message: Message, reply: Reply) -> None:
    """Refuse a typed mobile: only the shared contact proves the number is the user's."""
    await reply(
        texts.TYPED_MOBILE_REFUSED,
        button=texts.BTN_SHARE_CONTACT,
        keyboard=keyboards.share_contact(),
    )


async def on_national_id(
    message: Message, services: Services, chat_user: ChatUserInfo, reply: Reply
) -> JustVerified:
    """Verify the typed national ID (the gate then answers the request that was waiting)."""
    typed = _national_id_text(message.text or "")
    async with reply.typing():
        verified = await services.identity.verify(chat_user.id, typed)
    await reply(texts.VERIFIED, name=verified.person.first_name, keyboard=keyboards.main_menu())
    return JustVerified(verified.user)


def _national_id_text(text: str) -> str:
    """Return the longest digit run of ``text`` (people add words around the number)."""
    runs = _DIGITS_RUN.findall(text)
    return max(runs, key=lambda r: sum(c.isdigit() for c in r)) if runs else text


def _has_digit(text: str | None) -> bool:
    return bool(text) and any(c.isdigit() for c in text or "")


def _is_mobile(text: str | None) -> bool:
    return bool(text) and try_normalize_mobile(text or "") is not None


def build_steps(gate: PersonalGate) -> Router:
    """The verification steps (and a contact shared at any time)."""
    router = Router(name=__name__)
    router.message.middleware(gate)
    router.message.register(on_contact, inline(F.contact))
    router.message.register(
        on_typed_mobile,
        StateFilter(Verification.contact),
        FREE_TEXT,
        inline(F.text.func(_is_mobile)),
    )
    router.message.register(
        on_national_id,
        StateFilter(Verification.national_id),
        FREE_TEXT,
        inline(F.text.func(_has_digit)),
    )
    return router
