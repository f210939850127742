"""The last router: whatever nothing else took gets a sensible answer, never silence.

It is last on purpose: everything here is "not understood as anything more specific" —
stickers, voice, video, locations, files outside a complaint, text too long to classify, a
button from an old message, and message kinds we do not read at all. Edited messages are their
own update type and are answered here too.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot import formatting as fmt
from bot import keyboards, texts
from bot.filters import inline
from bot.handlers.common import MAX_UNDERSTOOD_LENGTH
from bot.reply import Reply


async def on_sticker(message: Message, reply: Reply) -> None:
    """Thank for the sticker and point to the menu."""
    await reply(texts.STICKER, keyboard=keyboards.main_menu())


async def on_voice(message: Message, reply: Reply) -> None:
    """Say that voice cannot be listened to yet."""
    await reply(texts.VOICE)


async def on_video(message: Message, reply: Reply) -> None:
    """Say that videos cannot be watched."""
    await reply(texts.VIDEO)


async def on_location(message: Message, reply: Reply) -> None:
    """Say what to do instead of sending a location."""
    await reply(texts.LOCATION)


async def on_file(message: Message, reply: Reply) -> None:
    """Explain that files are taken as complaint attachments only."""
    await reply(texts.MEDIA_OUTSIDE_FLOW)


async def on_too_long(message: Message, reply: Reply) -> None:
    """Ask for a shorter message."""
    await reply(texts.TOO_LONG, limit=fmt.digits(MAX_UNDERSTOOD_LENGTH))


async def on_expecting_text(message: Message, reply: Reply) -> None:
    """In a flow, anything but text: ask for text (or /cancel)."""
    await reply(texts.EXPECTING_TEXT)


async def on_anything_else(message: Message, reply: Reply) -> None:
    """Answer a message of a kind the bot does not read."""
    await reply(texts.UNSUPPORTED)


async def on_edited(message: Message, reply: Reply) -> None:
    """Ask for a new message instead of an edit."""
    await reply(texts.EDITED)


async def on_stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """Answer a button that no longer means anything (an old message's)."""
    callback_answer.text = texts.STALE_BUTTON


def build_router() -> Router:
    router = Router(name=__name__)
    router.edited_message.register(on_edited)
    router.message.register(on_sticker, inline(F.sticker))
    router.message.register(on_voice, inline(F.voice | F.audio | F.video_note))
    router.message.register(on_video, inline(F.video | F.animation))
    router.message.register(on_location, inline(F.location | F.venue))
    # Inside a flow a stray file or photo gets the flow's reminder, outside it this one.
    router.message.register(on_expecting_text, ~StateFilter(None), inline(~F.text))
    router.message.register(on_file, inline(F.photo | F.document))
    router.message.register(on_too_long, inline(F.text.len() > MAX_UNDERSTOOD_LENGTH))
    router.message.register(on_anything_else)
    router.callback_query.register(on_stale_button)
    return router
