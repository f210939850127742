"""Rule questions answered from the knowledge base, before any verification.

Order of answering (issue 16): the intent classifier keeps personal and transactional requests;
the knowledge base takes what the classifier would send to out_of_scope or help, what it is
unsure about, and the rule questions it files under an intent that carries rules (voluntary
insurance, dependants, booklet, portal registration) when an entry matches confidently; the
out-of-scope answer (smalltalk, with the human option) takes what neither is confident about.

For those rule intents the entry's fact leads and the intent's full block stays one button
away (its own handler, through the "did you mean …?" button's callback data); a message that
names something the intent acts on (an entity: a wage, a relative) goes to the intent as before.

The answer is the entry's short answer, then one line with its source and date, then buttons:
«بیشتر» (when the entry has more), 👍 and 👎. Two close entries are offered as buttons.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import formatting as fmt
from bot import keyboards, texts
from bot.deps import Services
from bot.dialogue import TOPIC_PATH, Dialogue
from bot.handlers.common import Intent, note_understood
from bot.handlers.voluntary import VOLUNTARY_STATUS, names_a_wage
from bot.keyboards import KbMore, KbPick, KbVote
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.reply import Reply
from persian import mask_identifiers
from services.identity import ChatUserInfo
from services.knowledge import Entry, Retrieval

# Intents whose answers carry rules: a confident entry answers the fact asked for.
RULE_INTENTS: Final = frozenset(
    {"voluntary_insurance", "booklet_renewal", "eservices_registration", "add_dependent"}
)
# A help request is a word or two («راهنما», «کمک»), and such a word alone matches entries
# that merely contain it («کمک هزینهٔ ازدواج»); a sentence about the bot itself («چه کارهایی
# می‌تونی انجام بدی») is one of the classifier's stock help phrases, recognised almost surely.
# So help goes to the knowledge base only as a sentence the classifier filed there with less
# confidence than that: a rule question it could not place better.
MIN_HELP_WORDS: Final = 3
SURE_HELP: Final = 0.9
# A rule intent named by its topic alone («بیمه اختیاری», «تمدید دفترچه») asks for nothing in
# particular: the intent's full answer, with its buttons (the estimate), is what was asked for.
# Only a question of this many words or more goes to the entry that answers one fact.
MIN_RULE_QUESTION_WORDS: Final = 4
# The FSM data key of the last question answered from the knowledge base (masked), which a 👎
# on that answer records.
QUESTION_KEY: Final = "kb_question"
_GREGORIAN_DAY: Final = re.compile(r"^(19|20)\d\d-\d\d-\d\d$")
# Entries about the asker's own record, whose answer says "verify and I will show it here":
# for a verified user the personal answer itself is what was asked («خودم بیمه دارم؟»,
# «بیمه اختیاریم تا کی پرداخت شده؟»). The entry id → the intent that shows it.
PERSONAL_ENTRIES: Final = {
    "eligibility-my-status": "check_eligibility",
    "dependants-my-family-status": "family_list",
    "contributions-last-record": "last_contribution",
    "voluntary-my-status": VOLUNTARY_STATUS,
    # «شماره قراردادم چنده؟»: the contract's number, which the user's own contract shows.
    "voluntary-contract-sms": VOLUNTARY_STATUS,
}
# The family entry asked about named relatives («بچه‌هام هم بیمه دارن؟»: the children only)
# is their eligibility, not the whole family list.
_FAMILY_WITH_RELATION: Final = "check_eligibility"


class KnowledgeQuestion(BaseFilter):
    """Match a message the knowledge base should answer; puts ``retrieval`` into the data."""

    async def __call__(
        self, message: Message, services: Services, understanding: Understanding | None = None
    ) -> bool | dict[str, Any]:
        if understanding is None or understanding.from_menu or not message.text:
            return False
        rule_intent = understanding.intent in RULE_INTENTS and not understanding.unsure
        if rule_intent:
            if (
                understanding.entities
                # A wage base, which the voluntary estimate acts on at once.
                or names_a_wage(message.text)
                or len(message.text.split()) < MIN_RULE_QUESTION_WORDS
            ):
                return False
        elif understanding.intent == "help" and not understanding.unsure:
            if len(message.text.split()) < MIN_HELP_WORDS or understanding.confidence >= SURE_HELP:
                return False
        elif not (understanding.unsure or understanding.intent == OUT_OF_SCOPE):
            return False
        retrieval = await services.knowledge.search(message.text)
        if not retrieval.confident:
            return False
        if retrieval.ambiguous and (rule_intent or understanding.unsure):
            # The intent's own answer, or the classifier's own "did you mean" among intents,
            # beats a choice between two entries for a message as vague as «بیمه».
            return False
        return {"retrieval": retrieval}


def source_date(text: str) -> str:
    """A source's date as the user reads it: a Gregorian day in Jalali, else as written."""
    if _GREGORIAN_DAY.match(text):
        return fmt.date(dt.date.fromisoformat(text))
    return fmt.digits(text.replace("-", "/"))


async def send_entry(reply: Reply, entry: Entry, intent: str | None = None) -> None:
    """The entry's answer, its source line and the buttons."""
    await reply(
        texts.KB_ANSWER,
        answer=entry.answer,
        source=entry.source.title,
        clause=entry.source.clause,
        date=source_date(entry.source.date),
        keyboard=keyboards.knowledge_answer(entry.id, entry.more is not None, intent),
    )


def personal_reading(
    retrieval: Retrieval, understanding: Understanding, user: ChatUserInfo | None
) -> Understanding | None:
    """The personal request a verified user's question is, when its one entry is personal."""
    offered = retrieval.offered
    if user is None or not user.is_verified or len(offered) != 1:
        return None
    intent = PERSONAL_ENTRIES.get(offered[0].entry.id)
    if intent is None:
        return None
    relation = understanding.entity("relation")
    if intent == "family_list" and relation is not None:
        intent = _FAMILY_WITH_RELATION
    return Understanding(
        intent=intent,
        confidence=1.0,
        entities=({"entity": "relation", "value": relation},) if relation else (),
        text=understanding.text,
    )


async def answer_question(
    message: Message,
    retrieval: Retrieval,
    understanding: Understanding,
    dialogue: Dialogue,
    reply: Reply,
    answer_as: Callable[[Understanding], Awaitable[bool]],
    chat_user: ChatUserInfo | None = None,
) -> None:
    """Answer with the entry, or offer the two close ones; a verified user's question about
    their own record gets the record (``PERSONAL_ENTRIES``)."""
    await note_understood(dialogue)
    personal = personal_reading(retrieval, understanding, chat_user)
    if personal is not None and await answer_as(personal):
        return
    # Kept for the 👍/👎 that may follow, masked like everything the console lists.
    await dialogue.update(**{QUESTION_KEY: mask_identifiers(message.text or "")})
    offered = retrieval.offered
    if len(offered) > 1:
        choices = [(m.entry.id, m.entry.title) for m in offered]
        await reply(texts.KB_DID_YOU_MEAN, keyboard=keyboards.knowledge_choices(choices))
        return
    intent = understanding.intent if understanding.intent in RULE_INTENTS else None
    await send_entry(reply, offered[0].entry, intent)


async def pick_entry(
    query: CallbackQuery, callback_data: KbPick, services: Services, reply: Reply
) -> None:
    """One of the offered entries was chosen."""
    entry = await services.knowledge.served_entry(callback_data.id)
    if entry is None:
        await reply(texts.KB_GONE)
        return
    await send_entry(reply, entry)


async def more(
    query: CallbackQuery, callback_data: KbMore, services: Services, reply: Reply
) -> None:
    """The entry's longer explanation."""
    entry = await services.knowledge.served_entry(callback_data.id)
    if entry is None or entry.more is None:
        await reply(texts.KB_GONE)
        return
    await reply(texts.KB_MORE, more=entry.more)


async def vote(
    query: CallbackQuery,
    callback_data: KbVote,
    services: Services,
    state: FSMContext,
    reply: Reply,
) -> None:
    """Record 👍 or 👎 with the question it answered; 👎 also offers a human."""
    entry = await services.knowledge.served_entry(callback_data.id)
    if entry is None:
        await reply(texts.KB_GONE)
        return
    question = str((await state.get_data()).get(QUESTION_KEY) or entry.title)
    services.knowledge.record("up" if callback_data.up else "down", question, entry.id)
    if callback_data.up:
        await reply(texts.KB_THANKS_UP)
    else:
        await reply(texts.KB_THANKS_DOWN, keyboard=keyboards.offer_human())


async def topic_path(
    message: Message, understanding: Understanding, services: Services, reply: Reply
) -> None:
    """«از کجا باید اقدام کنم؟» after a topic: the entry saying how to apply for it
    (``bot.dialogue.TOPIC_PATHS``)."""
    entry = await services.knowledge.served_entry(understanding.entity("entry") or "")
    if entry is None:
        await reply(texts.KB_GONE)
        return
    await send_entry(reply, entry)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(topic_path, Intent(TOPIC_PATH))
    router.message.register(answer_question, KnowledgeQuestion())
    router.callback_query.register(pick_entry, KbPick.filter())
    router.callback_query.register(more, KbMore.filter())
    router.callback_query.register(vote, KbVote.filter())
    return router
