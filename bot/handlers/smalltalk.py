"""Small talk (greet, thanks, goodbye, help, yes/no), and what to do when the NLU is unsure.

Unsure: the two best intents are offered as buttons; a second miss in a row offers a human.
Out of scope: say politely what the bot can do (a repeated miss offers a human too).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot import keyboards, texts
from bot.acts import ANNOUNCE
from bot.deps import Services
from bot.dialogue import Dialogue
from bot.handlers.common import Intent, Unsure, note_missed
from bot.keyboards import NoneOfThese
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.reply import Reply
from services.identity import ChatUserInfo

# Intents never offered as a "did you mean …?" guess: they are not tasks.
_NOT_OFFERED = frozenset({OUT_OF_SCOPE, "greet", "goodbye", "thanks", "affirm", "deny"})


async def greet(message: Message, chat_user: ChatUserInfo, reply: Reply) -> None:
    """Greet back."""
    await reply(texts.GREET, name=f" {chat_user.first_name}" if chat_user.first_name else "")


async def thanks(message: Message, reply: Reply) -> None:
    """Answer thanks."""
    await reply(texts.THANKS)


async def goodbye(message: Message, reply: Reply) -> None:
    """Say goodbye."""
    await reply(texts.GOODBYE)


async def announced(message: Message, reply: Reply) -> None:
    """Invite the question announced («یه سوال داشتم»)."""
    await reply(texts.ASK_THE_QUESTION)


async def help_(event: Message | CallbackQuery, reply: Reply) -> None:
    """Say what the bot can do."""
    await reply(texts.HELP, keyboard=keyboards.main_menu())


async def affirm(message: Message, reply: Reply) -> None:
    """Answer a bare "yes"."""
    await reply(texts.AFFIRM)


async def deny(event: Message | CallbackQuery, reply: Reply) -> None:
    """Answer a bare "no" (or the «نه، ممنون» button)."""
    await reply(texts.DENY, keyboard=keyboards.main_menu())


async def out_of_scope(
    message: Message, services: Services, dialogue: Dialogue, reply: Reply
) -> None:
    """Say politely what the bot can do, with a human on offer.

    Neither the classifier nor the knowledge base (its router comes first) could answer: the
    question is collected, masked, for the console's list of questions to turn into entries.
    """
    await note_missed(dialogue)
    services.knowledge.record("unanswered", message.text or "")
    await reply(texts.OUT_OF_SCOPE, keyboard=keyboards.offer_human())


def top_two(understanding: Understanding) -> list[str]:
    """The two best task intents of the ranking."""
    return [name for name, _ in understanding.ranking if name not in _NOT_OFFERED][:2]


async def on_unsure(
    message: Message, understanding: Understanding, dialogue: Dialogue, reply: Reply
) -> None:
    """Offer the two best guesses; after a second miss in a row, offer a human."""
    misses = await note_missed(dialogue)
    guesses = top_two(understanding)
    if misses >= 2 or not guesses:
        await reply(texts.UNSURE_AGAIN, keyboard=keyboards.offer_human())
        return
    relation = understanding.entity("relation")
    await reply(texts.UNSURE, keyboard=keyboards.intent_choices(guesses, relation))


async def on_none_of_these(query: CallbackQuery, reply: Reply) -> None:
    """The guesses were wrong: ask to rephrase, with a human on offer."""
    await reply(texts.NONE_OF_THESE, keyboard=keyboards.offer_human())


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(greet, Intent("greet"))
    router.message.register(thanks, Intent("thanks"))
    router.message.register(goodbye, Intent("goodbye"))
    router.message.register(help_, Intent("help"))
    router.message.register(announced, Intent(ANNOUNCE))
    router.callback_query.register(help_, Intent("help"))
    router.message.register(affirm, Intent("affirm"))
    # «نه، ممنون» under a dependant's conditions is a "deny" button.
    router.message.register(deny, Intent("deny"))
    router.callback_query.register(deny, Intent("deny"))
    router.message.register(out_of_scope, Intent(OUT_OF_SCOPE))
    # An unsure result (no intent handler matches it) is answered with "did you mean …?".
    router.message.register(on_unsure, Unsure())
    router.callback_query.register(on_none_of_these, NoneOfThese.filter())
    return router
