"""Small talk (greet, thanks, goodbye, help, yes/no), and what to do when the NLU is unsure.

Unsure: the two best intents are offered as buttons; a second miss in a row offers a human.
Out of scope: say politely what the bot can do (a repeated miss offers a human too).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import keyboards, texts
from bot.handlers.common import IntentRegistry, Turn, Unsure, note_missed
from bot.keyboards import NoneOfThese
from bot.nlu import OUT_OF_SCOPE, Understanding
from bot.reply import Reply
from services.identity import ChatUserInfo

# Intents never offered as a "did you mean …?" guess: they are not tasks.
_NOT_OFFERED = frozenset({OUT_OF_SCOPE, "greet", "goodbye", "thanks", "affirm", "deny"})


def _name(user: ChatUserInfo) -> str:
    return f" {user.first_name}" if user.first_name else ""


async def greet(turn: Turn) -> None:
    """Greet back."""
    await turn.reply(texts.GREET, name=_name(turn.user))


async def thanks(turn: Turn) -> None:
    """Answer thanks."""
    await turn.reply(texts.THANKS)


async def goodbye(turn: Turn) -> None:
    """Say goodbye."""
    await turn.reply(texts.GOODBYE)


async def help_(turn: Turn) -> None:
    """Say what the bot can do."""
    await turn.reply(texts.HELP, keyboard=keyboards.main_menu())


async def affirm(turn: Turn) -> None:
    """Answer a bare "yes"."""
    await turn.reply(texts.AFFIRM)


async def deny(turn: Turn) -> None:
    """Answer a bare "no"."""
    await turn.reply(texts.DENY, keyboard=keyboards.main_menu())


async def out_of_scope(turn: Turn) -> None:
    """Say politely what the bot can do; offer a human after a second miss."""
    misses = await note_missed(turn.state)
    await turn.reply(texts.OUT_OF_SCOPE, keyboard=keyboards.offer_human() if misses >= 2 else None)


def top_two(understanding: Understanding) -> list[str]:
    """The two best task intents of the ranking."""
    return [name for name, _ in understanding.ranking if name not in _NOT_OFFERED][:2]


async def on_unsure(
    message: Message, understanding: Understanding, state: FSMContext, reply: Reply
) -> None:
    """Offer the two best guesses; after a second miss in a row, offer a human."""
    misses = await note_missed(state)
    guesses = top_two(understanding)
    if misses >= 2 or not guesses:
        await reply(texts.UNSURE_AGAIN, keyboard=keyboards.offer_human())
        return
    relation = understanding.entity("relation")
    await reply(texts.UNSURE, keyboard=keyboards.intent_choices(guesses, relation))


async def on_none_of_these(query: CallbackQuery, reply: Reply) -> None:
    """The guesses were wrong: ask to rephrase, with a human on offer."""
    await reply(texts.NONE_OF_THESE, keyboard=keyboards.offer_human())


def register(registry: IntentRegistry) -> Router:
    router = Router(name=__name__)
    # An unsure result (no intent handler matches it) is answered with "did you mean …?".
    router.message.register(on_unsure, Unsure())
    router.callback_query.register(on_none_of_these, NoneOfThese.filter())
    registry.add("greet", greet)
    registry.add("thanks", thanks)
    registry.add("goodbye", goodbye)
    registry.add("help", help_)
    registry.add("affirm", affirm)
    registry.add("deny", deny)
    registry.add(OUT_OF_SCOPE, out_of_scope)
    return router
