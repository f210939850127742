"""Keyboards: the main menu, the request-contact button, the relay's buttons and inline choices.

Inline buttons carry aiogram ``CallbackData`` (short prefixes and values, so a packed button
stays far below the 64-byte limit that ``pack()`` enforces). Anyone can send any callback data,
so every factory checks its values when it unpacks: a forged or outdated value fails the
filter, and the fallback's polite "this button is no longer active" answers it (never a
``KeyError`` in a handler).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder
from pydantic import Field, field_validator

from bot import texts
from services.enums import NoticeKind, Relation, TicketCategory

# An intent's name as the NLU writes it; which intents exist is the Intent filters' business.
_INTENT_NAME: Final = re.compile(r"^[a-z][a-z_]{0,39}$")
_TICKET_CODE: Final = re.compile(r"^1420-[0-9]{6}$")
# A dependant relation as a button names it, or as the NLU names it («همسرم» is "spouse").
RELATIONS: Final = frozenset(r.value for r in Relation) | frozenset(texts.RELATION_ENTITY_LABELS)


def _check_relation(value: str) -> str:
    if value and value not in RELATIONS:
        raise ValueError("unknown relation")
    return value


# --- callback data ---------------------------------------------------------------------
class IntentPick(CallbackData, prefix="in"):
    """ "Did you mean …?": run this intent (about the relative the message named, if any)."""

    intent: str
    relation: str = ""

    @field_validator("intent")
    @classmethod
    def _known_shape(cls, value: str) -> str:
        if not _INTENT_NAME.match(value):
            raise ValueError("not an intent name")
        return value

    check_relation = field_validator("relation")(_check_relation)


class NoneOfThese(CallbackData, prefix="nx"):
    """None of the offered intents."""


class CategoryPick(CallbackData, prefix="tc"):
    category: TicketCategory


class RelationPick(CallbackData, prefix="rl"):
    relation: Relation


class DependantRequest(CallbackData, prefix="dq"):
    """Start the guided dependant request for ``relation`` (the personal action
    ``dependant_request``, see ``bot.handlers.common``)."""

    relation: str

    check_relation = field_validator("relation")(_check_relation)


class Confirm(CallbackData, prefix="ok"):
    """Yes/no at the end of a flow (``flow``: "dep" or "tkt")."""

    flow: Literal["dep", "tkt"]
    yes: bool


class SkipAttachment(CallbackData, prefix="sk"):
    pass


class DependantDocs(CallbackData, prefix="dd"):
    """The documents step of a dependant request: all sent (``done``) or sent later."""

    action: Literal["done", "later"]


class SendDocuments(CallbackData, prefix="ds"):
    """Send the documents of the request ``code`` now (after «بعداً می‌فرستم»)."""

    code: str = Field(pattern=r"^[0-9]{10}$")


class TicketPick(CallbackData, prefix="tk"):
    code: str = Field(pattern=_TICKET_CODE.pattern)


class VoluntaryEstimate(CallbackData, prefix="ve"):
    pass


class SatisfactionVote(CallbackData, prefix="cs"):
    """The 1–5 rating of a conversation an agent resolved."""

    conversation_id: int = Field(ge=1)
    rating: int = Field(ge=1, le=5)


class KbMore(CallbackData, prefix="km"):
    """The longer explanation of a knowledge entry (``id``: the entry's id)."""

    id: str


class KbPick(CallbackData, prefix="kp"):
    """ "Did you mean …?" among knowledge entries: answer with this one."""

    id: str


class KbVote(CallbackData, prefix="kv"):
    """👍 (``up``) or 👎 on a knowledge answer."""

    id: str
    up: bool


class NoticeToggle(CallbackData, prefix="nt"):
    """/settings: switch the notice ``kind`` on (``on``) or off; a forged kind fails to unpack."""

    kind: NoticeKind
    on: bool


# --- reply keyboards -------------------------------------------------------------------
# Menu tasks that need a verified user (their handlers are flagged ``personal``; the test
# tests/bot/test_locked_menu.py checks this set against the flags). A user whose verification
# is locked gets the menu without them: each would only answer "locked until …".
PERSONAL_MENU_INTENTS: Final = frozenset(
    {
        "check_eligibility",
        "last_contribution",
        "insurance_record",
        "family_list",
        "pension_slip",
    }
)


def main_menu(*, personal: bool = True) -> ReplyKeyboardMarkup:
    """The top tasks, two per row (without the personal ones when ``personal`` is false).

    Built once per variant and shared by every reply that shows it: aiogram's builder, which
    deep-copies and validates each button it adds, took 1.6 ms to build it, the largest share
    of a verification's answer in the bot benchmark's profile (the README's benchmark
    section). Rule: nothing may change the markup it returns (aiogram only serialises it); a
    reply that needs another menu builds its own.
    """
    return _MAIN_MENU[personal]


def _build_main_menu(personal: bool) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    for label, intent in texts.MENU.items():
        if personal or intent not in PERSONAL_MENU_INTENTS:
            builder.button(text=label)
    builder.adjust(2)
    return builder.as_markup(resize_keyboard=True, is_persistent=True)


_MAIN_MENU: Final = {personal: _build_main_menu(personal) for personal in (True, False)}


def share_contact() -> ReplyKeyboardMarkup:
    """One button that shares the user's own contact, and a way out."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=texts.BTN_SHARE_CONTACT, request_contact=True)],
            [KeyboardButton(text=texts.BTN_CANCEL)],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def remove() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()


def back_to_bot() -> ReplyKeyboardMarkup:
    """The one button shown while a person handles the chat."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=texts.BTN_BACK_TO_BOT)]],
        resize_keyboard=True,
        is_persistent=True,
    )


# --- inline keyboards ------------------------------------------------------------------
def intent_choices(intents: Iterable[str], relation: str | None = None) -> InlineKeyboardMarkup:
    """The "did you mean …?" buttons; ``relation`` keeps «پسرم» when the user picks one."""
    builder = InlineKeyboardBuilder()
    for intent in intents:
        builder.button(
            text=texts.INTENT_LABELS.get(intent, intent),
            callback_data=IntentPick(intent=intent, relation=relation or ""),
        )
    builder.button(text=texts.BTN_NONE_OF_THESE, callback_data=NoneOfThese())
    builder.adjust(1)
    return builder.as_markup()


def offer_human() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_HUMAN, callback_data=IntentPick(intent="human_agent"))
    return builder.as_markup()


def ticket_categories() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category, label in texts.CATEGORY_LABELS.items():
        builder.button(text=label, callback_data=CategoryPick(category=TicketCategory(category)))
    builder.adjust(1)
    return builder.as_markup()


def relations(choices: Iterable[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for relation in choices:
        builder.button(
            text=texts.RELATION_LABELS[relation],
            callback_data=RelationPick(relation=Relation(relation)),
        )
    builder.adjust(2)
    return builder.as_markup()


def dependant_request_offer(relation: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=texts.BTN_START_DEPENDANT_REQUEST, callback_data=DependantRequest(relation=relation)
    )
    builder.button(text=texts.BTN_NO_THANKS, callback_data=IntentPick(intent="deny"))
    builder.adjust(1)
    return builder.as_markup()


def confirm(flow: Literal["dep", "tkt"]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_YES, callback_data=Confirm(flow=flow, yes=True))
    builder.button(text=texts.BTN_NO, callback_data=Confirm(flow=flow, yes=False))
    builder.adjust(2)
    return builder.as_markup()


def skip_attachment() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_SKIP_ATTACHMENT, callback_data=SkipAttachment())
    return builder.as_markup()


def dependant_documents() -> InlineKeyboardMarkup:
    """«تمام شد» and «بعداً می‌فرستم» under the documents step."""
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_DOCUMENTS_DONE, callback_data=DependantDocs(action="done"))
    builder.button(text=texts.BTN_DOCUMENTS_LATER, callback_data=DependantDocs(action="later"))
    builder.adjust(2)
    return builder.as_markup()


def send_documents(code: str) -> InlineKeyboardMarkup:
    """The button back to the documents step of the request ``code``."""
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_SEND_DOCUMENTS, callback_data=SendDocuments(code=code))
    return builder.as_markup()


def tickets(codes: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Buttons for ``(code, label)`` pairs."""
    builder = InlineKeyboardBuilder()
    for code, label in codes:
        builder.button(text=label, callback_data=TicketPick(code=code))
    builder.adjust(1)
    return builder.as_markup()


def voluntary_estimate() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_VOLUNTARY_ESTIMATE, callback_data=VoluntaryEstimate())
    return builder.as_markup()


def satisfaction(conversation_id: int) -> InlineKeyboardMarkup:
    """The 1–5 rating buttons sent when an agent resolves the conversation."""
    builder = InlineKeyboardBuilder()
    for rating, label in texts.RATING_BUTTONS.items():
        builder.button(
            text=label,
            callback_data=SatisfactionVote(conversation_id=conversation_id, rating=rating),
        )
    builder.adjust(5)
    return builder.as_markup()


def add_dependant() -> InlineKeyboardMarkup:
    """The family list's one button: the conditions for adding someone, then the request."""
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_ADD_DEPENDANT, callback_data=IntentPick(intent="add_dependent"))
    return builder.as_markup()


# --- keep the thread (issue 14) ---------------------------------------------------------
class Resume(CallbackData, prefix="rs"):
    """Go back to the flow step left for another question (its state name, "." for ":")."""

    step: str

    @property
    def state(self) -> str:
        return self.step.replace(".", ":")


def resume(state: str) -> InlineKeyboardMarkup:
    """The button back to the flow step ``state`` (``:`` separates a callback's values)."""
    builder = InlineKeyboardBuilder()
    builder.button(text=texts.BTN_RESUME, callback_data=Resume(step=state.replace(":", ".")))
    return builder.as_markup()


def knowledge_answer(
    entry_id: str, has_more: bool, intent: str | None = None
) -> InlineKeyboardMarkup:
    """Under a knowledge answer: «بیشتر» (when there is more), the intent's full answer, 👍 👎."""
    builder = InlineKeyboardBuilder()
    sizes = []
    if has_more:
        builder.button(text=texts.BTN_KB_MORE, callback_data=KbMore(id=entry_id))
        sizes.append(1)
    if intent is not None:
        builder.button(
            text=texts.INTENT_LABELS.get(intent, intent), callback_data=IntentPick(intent=intent)
        )
        sizes.append(1)
    builder.button(text=texts.BTN_KB_UP, callback_data=KbVote(id=entry_id, up=True))
    builder.button(text=texts.BTN_KB_DOWN, callback_data=KbVote(id=entry_id, up=False))
    builder.adjust(*sizes, 2)
    return builder.as_markup()


def knowledge_choices(choices: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    """ "Did you mean …?" among entries: one button per ``(id, title)``."""
    builder = InlineKeyboardBuilder()
    for entry_id, title in choices:
        builder.button(text=title, callback_data=KbPick(id=entry_id))
    builder.adjust(1)
    return builder.as_markup()


def notice_settings(choices: dict[NoticeKind, bool]) -> InlineKeyboardMarkup:
    """One button per notice kind, marked on or off; pressing it switches it."""
    builder = InlineKeyboardBuilder()
    for kind, on in choices.items():
        mark = texts.SETTINGS_ON_MARK if on else texts.SETTINGS_OFF_MARK
        builder.button(
            text=f"{mark} {texts.NOTICE_KIND_LABELS[kind.value]}",
            callback_data=NoticeToggle(kind=kind, on=not on),
        )
    builder.adjust(1)
    return builder.as_markup()
