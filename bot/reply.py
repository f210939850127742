"""The one way handlers talk back: render a catalogue text for this platform and send it.

A handler gets ``reply`` for the chat the update came from, whether the update was a message or
a button press, so a feature answers the same way to both.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.chat_action import ChatActionSender

from bot.render import Renderer

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


class Reply:
    """Send rendered texts to one chat."""

    def __init__(self, bot: Bot, chat_id: int, render: Renderer) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.render = render

    async def __call__(
        self, template: str, /, *, keyboard: Markup | None = None, **values: Any
    ) -> Message:
        """Send ``template`` filled with ``values``; ``keyboard`` goes with it."""
        return await self.bot.send_message(
            chat_id=self.chat_id,
            **self.render(template, **values),
            reply_markup=keyboard,
        )

    async def raw(self, text: str, /, *, keyboard: Markup | None = None) -> Message:
        """Send an already rendered ``text`` (built from several catalogue parts)."""
        return await self.bot.send_message(
            chat_id=self.chat_id,
            text=text,
            parse_mode=self.render.parse_mode,
            reply_markup=keyboard,
        )

    def typing(self) -> ChatActionSender:
        """Show "typing…" while the ``async with`` body runs (for slow work)."""
        return ChatActionSender.typing(bot=self.bot, chat_id=self.chat_id, initial_sleep=0.3)
