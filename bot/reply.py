"""The one way handlers talk back: render a catalogue text for this platform and send it.

A handler gets ``reply`` for the chat the update came from, whether the update was a message or
a button press, so a feature answers the same way to both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.render import Renderer, visible_text
from services.intent_log import IntentLogWriter

logger = logging.getLogger(__name__)

# Seconds of work before "typing…" is shown (see Typing).
TYPING_AFTER_S = 1.0

# A text this short fits any platform whatever its escapes (a UTF-16 unit per character at
# most twice): the common case skips measuring.
SURELY_FITS = 2000

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply


class Reply:
    """Send rendered texts to one chat."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        render: Renderer,
        log: IntentLogWriter | None = None,
        platform: str = "",
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.render = render
        self._log = log
        self._platform = platform

    async def __call__(
        self, template: str, /, *, keyboard: Markup | None = None, **values: Any
    ) -> Message:
        """Send ``template`` filled with ``values``; ``keyboard`` goes with it."""
        return await self.raw(self.render.text(template, **values), keyboard=keyboard)

    async def raw(self, text: str, /, *, keyboard: Markup | None = None) -> Message:
        """Send an already rendered ``text`` (built from several catalogue parts).

        A text over the platform's limit once escaped (``Renderer.measure``) goes as several
        messages, the keyboard with the last, rather than being refused ("message is too
        long") and leaving the user at a step with no buttons (issue 17, finding 12).
        """
        pieces = [text] if len(text) <= SURELY_FITS else self.render.split(text) or [text]
        for piece in pieces[:-1]:
            await self.bot.send_message(
                chat_id=self.chat_id, text=piece, parse_mode=self.render.parse_mode
            )
        sent = await self.bot.send_message(
            chat_id=self.chat_id,
            text=pieces[-1],
            parse_mode=self.render.parse_mode,
            reply_markup=keyboard,
        )
        self._record(text)
        return sent

    def _record(self, text: str) -> None:
        """Keep what the bot said for the agents' transcript: an in-memory append, written by
        the intent log's batch writer with the user's lines (no database work here)."""
        if self._log is not None:
            self._log.record_answer(
                platform=self._platform,
                chat_id=self.chat_id,
                text=visible_text(text, self.render.parse_mode),
            )

    def typing(self) -> Typing:
        """Show "typing…" while the ``async with`` body runs, if it is slow."""
        return Typing(self.bot, self.chat_id)


class Typing:
    """Show "typing…" when the body outlasts ``after`` seconds, renewed every ``every`` seconds.

    aiogram's ``ChatActionSender`` does the same with a task, an event and ``wait_for`` on
    every use; most answers here are ready within milliseconds and need none of them. This one
    costs a timer that is cancelled, and starts its task only when the work is slow.

    ``after`` is one second: Telegram recommends the action only when the answer will take a
    noticeable time to arrive, and a wait starts to be noticed at about a second. With a
    shorter delay an overloaded bot sent a "typing…" for many answers (the benchmark at
    saturation), Bot API calls that only added to the load; at a steady load answers are fast
    and none is sent either way.
    """

    __slots__ = ("_after", "_bot", "_chat_id", "_every", "_task", "_timer")

    def __init__(
        self, bot: Bot, chat_id: int, *, after: float = TYPING_AFTER_S, every: float = 4.5
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._after = after
        self._every = every  # clients show an action for about five seconds
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Typing:
        self._timer = asyncio.get_running_loop().call_later(self._after, self._start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _start(self) -> None:
        self._task = asyncio.create_task(self._show(), name="typing")

    async def _show(self) -> None:
        while True:
            try:
                await self._bot.send_chat_action(self._chat_id, ChatAction.TYPING)
            except Exception as exc:  # "typing…" is a courtesy: it must never fail the answer
                logger.info("typing indicator failed: %s", type(exc).__name__)
            await asyncio.sleep(self._every)
