"""Verification: the user's own contact, then their national ID, checked against the registry.

The gate (``require_verification``) starts this flow when an unverified user asks for something
personal, and keeps the request; once verified, the request is answered at once. Refusals
(someone else's contact, a bad checksum, a mismatch, the lockout) are domain errors that the
error router words. Verification lives in the database, so it survives restarts.
"""

from __future__ import annotations

import re
from typing import Any, Final

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.filters import inline
from bot.handlers.common import FREE_TEXT, IntentRegistry, Turn, build_turn
from bot.nlu import Understanding
from bot.reply import Reply
from persian import mask_mobile, try_normalize_mobile
from services.identity import ChatUserInfo

# A run of digits (any script) with the separators people type inside numbers.
_DIGITS_RUN: Final = re.compile(r"\d[\d\s\-_.]*\d|\d")


class Verification(StatesGroup):
    contact = State()
    national_id = State()


async def require_verification(turn: Turn) -> None:
    """Keep the personal request and ask for what verification still needs."""
    understanding = turn.understanding
    await turn.state.update_data(
        pending={
            "intent": understanding.intent,
            "entities": [dict(e) for e in understanding.entities],
        }
    )
    locked = turn.user.locked_until
    if locked is not None and locked > turn.clock.now():
        await turn.state.set_state(None)
        await turn.reply(texts.VERIFICATION_LOCKED, until=fmt.jalali_moment(locked))
        return
    if turn.user.has_contact:
        await turn.state.set_state(Verification.national_id)
        await turn.reply(texts.ASK_NATIONAL_ID_FOR_REQUEST, keyboard=keyboards.remove())
        return
    await turn.state.set_state(Verification.contact)
    await turn.reply(
        texts.ASK_CONTACT, button=texts.BTN_SHARE_CONTACT, keyboard=keyboards.share_contact()
    )


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


async def on_national_id(message: Message, **data: Any) -> None:
    """Verify the typed national ID; on success answer the request that was waiting."""
    state: FSMContext = data["state"]
    services: Services = data["services"]
    chat_user: ChatUserInfo = data["chat_user"]
    reply: Reply = data["reply"]
    typed = _national_id_text(message.text or "")
    async with reply.typing():
        verified = await services.identity.verify(chat_user.id, typed)
    pending = (await state.get_data()).get("pending")
    await state.clear()
    await reply(texts.VERIFIED, name=verified.person.first_name, keyboard=keyboards.main_menu())
    if pending:
        registry: IntentRegistry = data["registry"]
        understanding = Understanding(
            intent=str(pending["intent"]),
            confidence=1.0,
            entities=tuple(pending.get("entities") or ()),
        )
        if understanding.intent in registry:
            turn = build_turn(data, understanding).with_user(verified.user)
            await registry.run(turn)


def _national_id_text(text: str) -> str:
    """Return the longest digit run of ``text`` (people add words around the number)."""
    runs = _DIGITS_RUN.findall(text)
    return max(runs, key=lambda r: sum(c.isdigit() for c in r)) if runs else text


def _has_digit(text: str | None) -> bool:
    return bool(text) and any(c.isdigit() for c in text or "")


def _is_mobile(text: str | None) -> bool:
    return bool(text) and try_normalize_mobile(text or "") is not None


def build_steps() -> Router:
    """The verification steps (and a contact shared at any time)."""
    router = Router(name=__name__)
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
