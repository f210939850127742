"""Per-user throttling: a burst is fine, a flood gets one polite answer instead of work.

A window per ``(platform, user id)`` allows ``limit`` updates every ``window`` seconds. Past
that, the user is told once per window to slow down and resend (the update is not handled, so
nothing is half done); the same user's further updates inside the window are dropped without
another reply, which would only add to the flood. Callback queries get the notice as a toast.

Where the count lives (issue 19, "nothing about a conversation lives only in one process"):

- **Redis** (``REDIS_URL`` set: several workers): :class:`RedisWindows`, one counter per user
  shared by every worker, so a user whose updates the proxy spreads over N workers still gets
  ``limit``, not N × ``limit``. A *fixed* window from the user's first update (``INCR`` plus
  ``PEXPIRE … NX``, batched with the update's other Redis commands: one pipeline entry, no
  extra round trip of its own); a burst across a window's end may pass up to 2 × ``limit``,
  which a sliding log (a sorted set per user, three commands) would not, at three times the
  cost. The warning goes with the first refused update of a window (count ``limit + 1``), on
  whichever worker has it. If Redis fails, the update is let through (a flood limit is not
  worth refusing a user over) and the error counted.
- **One process** (no Redis: the embedded default; or by polling, where this process alone
  receives the bots' updates, ``bot.factory.build_dispatcher``): :class:`LocalWindows`, a
  sliding window in memory.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from bot import texts
from bot.platform import platform_of
from bot.redis_batch import RedisBatcher
from bot.render import Renderer

logger = logging.getLogger(__name__)


class _Window:
    __slots__ = ("hits", "warned_at")

    def __init__(self) -> None:
        self.hits: deque[float] = deque()
        self.warned_at: float = -1e9


class LocalWindows:
    """Sliding windows in this process's memory (at most ``max_users`` kept)."""

    def __init__(self, limit: int, window: float, max_users: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._users: dict[str, _Window] = {}

    async def allow(self, key: str) -> tuple[bool, bool]:
        return self._allow(key, time.monotonic())

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


class RedisWindows:
    """Fixed windows in Redis, shared by every worker (see the module's docstring)."""

    def __init__(
        self, batcher: RedisBatcher, limit: int, window: float, prefix: str = "tamin:flood"
    ) -> None:
        self.batcher = batcher
        self.limit = limit
        self.window_ms = max(1, int(window * 1000))
        self.prefix = prefix

    async def allow(self, key: str) -> tuple[bool, bool]:
        try:
            hits = await self.batcher.count(f"{self.prefix}:{key}", self.window_ms)
        except Exception as exc:  # Redis down: let the user through (counted by the batcher)
            logger.warning(
                "flood counter unavailable (%s); update let through", type(exc).__name__
            )
            return True, False
        return hits <= self.limit, hits == self.limit + 1


class Windows(Protocol):
    async def allow(self, key: str) -> tuple[bool, bool]:
        """(allowed, should_warn) for one more update of ``key`` now."""


class ThrottlingMiddleware(BaseMiddleware):
    """Outer update middleware limiting how fast one user's updates are handled."""

    def __init__(
        self,
        limit: int = 8,
        window: float = 4.0,
        max_users: int = 50_000,
        *,
        batcher: RedisBatcher | None = None,
        prefix: str = "tamin:flood",
    ) -> None:
        self.windows: Windows = (
            LocalWindows(limit, window, max_users)
            if batcher is None
            else RedisWindows(batcher, limit, window, prefix)
        )

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
        allowed, warn = await self.windows.allow(f"{platform}:{user.id}")
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
