"""Per-user throttling: a burst is fine, a flood gets one polite answer instead of work.

A sliding window per ``(platform, user id)`` allows ``limit`` updates every ``window`` seconds.
Past that, the user is told once per window to slow down and resend (the update is not handled,
so nothing is half done); the same user's further updates inside the window are dropped without
another reply, which would only add to the flood. Callback queries get the notice as a toast.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot import texts
from bot.platform import platform_of
from bot.render import Renderer

logger = logging.getLogger(__name__)


class _Window:
    __slots__ = ("hits", "warned_at")

    def __init__(self) -> None:
        self.hits: deque[float] = deque()
        self.warned_at: float = -1e9


class ThrottlingMiddleware(BaseMiddleware):
    """Outer update middleware limiting how fast one user's updates are handled."""

    def __init__(self, limit: int = 8, window: float = 4.0, max_users: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._users: dict[str, _Window] = {}

    def _allow(self, key: str, now: float) -> tuple[bool, bool]:
        """Return (allowed, should_warn) for one more update of ``key`` at ``now``."""
        if len(self._users) > self.max_users:
            # Forget idle users rather than grow without bound.
            self._users = {
                k: w for k, w in self._users.items() if w.hits and now - w.hits[-1] < self.window
            }
        win = self._users.setdefault(key, _Window())
        while win.hits and now - win.hits[0] >= self.window:
            win.hits.popleft()
        if len(win.hits) < self.limit:
            win.hits.append(now)
            return True, False
        warn = now - win.warned_at >= self.window
        if warn:
            win.warned_at = now
        return False, warn

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if user is None or not isinstance(event, Update):
            return await handler(event, data)
        bot = data["bot"]
        platform = platform_of(bot)
        allowed, warn = self._allow(f"{platform}:{user.id}", time.monotonic())
        if allowed:
            return await handler(event, data)
        logger.info("Throttled an update of a %s user", platform)
        if warn:
            notice = Renderer(platform)
            inner = event.event
            if isinstance(inner, CallbackQuery):
                await inner.answer(notice.plain(texts.THROTTLED), show_alert=False)
            elif isinstance(inner, Message):
                await bot.send_message(inner.chat.id, **notice(texts.THROTTLED))
        elif isinstance(event.event, CallbackQuery):
            # Every callback is answered, or the user's button keeps spinning.
            await event.event.answer()
        return None
