"""Group chats: the bot works in private chats only (personal data must not show in a group)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import texts
from bot.filters import inline
from bot.reply import Reply

_NOT_PRIVATE = inline(F.chat.type != ChatType.PRIVATE)


async def on_group_message(message: Message, reply: Reply) -> None:
    """Say that the bot works in private chats only."""
    await reply(texts.PRIVATE_ONLY)


async def on_group_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """Answer a button pressed in a group with the same notice."""
    callback_answer.text = texts.PRIVATE_ONLY
    callback_answer.show_alert = True


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(on_group_message, _NOT_PRIVATE)
    router.callback_query.register(
        on_group_button, inline(F.message.chat.type != ChatType.PRIVATE)
    )
    return router
