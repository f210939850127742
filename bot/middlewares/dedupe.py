"""Drop an update we have already seen (Telegram and Bale re-send when a webhook is slow).

The key is ``(platform, update_id)``: update ids are per bot, and the two platforms' ids may
collide. In one process a small in-memory TTL set is enough; with several workers behind a load
balancer the set lives in Redis (``SET key 1 NX EX ttl`` is atomic, so exactly one worker wins).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.platform import platform_of
from bot.redis_batch import RedisBatcher

logger = logging.getLogger(__name__)


class SeenUpdates(Protocol):
    async def first_time(self, key: str) -> bool:
        """Record ``key``; return whether it was new."""


class MemorySeenUpdates:
    """Keys remembered for ``ttl`` seconds, at most ``max_size`` of them."""

    def __init__(self, ttl: float = 600.0, max_size: int = 100_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest_key, stamp = next(iter(self._seen.items()))
            if now - stamp < self.ttl and len(self._seen) < self.max_size:
                break
            del self._seen[oldest_key]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class RedisSeenUpdates:
    """Keys shared by every worker through Redis (concurrent updates share a pipeline)."""

    def __init__(
        self, redis: Redis | RedisBatcher, ttl: int = 600, prefix: str = "tamin:update"
    ) -> None:
        self.batcher = redis if isinstance(redis, RedisBatcher) else RedisBatcher(redis)
        self.ttl = ttl
        self.prefix = prefix

    async def first_time(self, key: str) -> bool:
        created = await self.batcher.set(f"{self.prefix}:{key}", 1, nx=True, ex=self.ttl)
        return bool(created)


class DedupeMiddleware(BaseMiddleware):
    """Outer update middleware: handle each ``(platform, update_id)`` once."""

    def __init__(self, seen: SeenUpdates) -> None:
        self.seen = seen

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            platform = platform_of(data["bot"])
            if not await self.seen.first_time(f"{platform}:{event.update_id}"):
                logger.info("Dropped duplicate update %s from %s", event.update_id, platform)
                return None
        return await handler(event, data)
