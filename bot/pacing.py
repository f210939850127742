"""The pace of the bot's own answers: a token bucket per chat, and 429 ``retry_after`` honoured.

Telegram asks bots to stay within about one message a second in a chat, allowing short bursts,
and answers a faster bot with 429 and ``retry_after``; Bale copies the Bot API (its own limits
are not published, so the same). The outbox (``bot.outbound``) already keeps this pace for the
messages it sends; this module keeps it for the direct answers of the handlers, at the one place
every Bot API call passes: a request middleware of the bot's session
(``bot.session.middleware(PacingMiddleware(...))``).

- **Token bucket per chat**: ``burst`` messages at once, then ``rate`` a second. A send takes
  a token or reserves the next one and sleeps until it is due. Shared by every worker through
  Redis when the bot runs as several webhook workers (one Lua script: read, refill, reserve,
  in one round trip), in memory otherwise (polling: one process receives a bot's updates).
- **429**: the chat's bucket is held for ``retry_after`` seconds (so the chat's other answers
  wait too, on every worker).
- **No waiting inside an update for a text answer**: while a handler waits, its update holds
  its database transaction (on SQLite the one write lock, which would stop every other user;
  on PostgreSQL a pooled connection). So when the chat's bucket is empty or flood control
  answers 429, a text answer is written to the outbox in the update's own transaction
  (``overflow``), to be sent in the slot reserved for it, and the handler goes on at once.
  The outbox sender keeps the chat's order, waits out further 429s and retries, bounded
  (``outbox.max_flood_waits``). Calls the outbox cannot carry (a photo, an edit) wait in the
  update, up to ``max_wait`` seconds and ``max_flood_retries`` 429s, then fail as before.

The outbox sender's own sends pass straight through (see :data:`outbox_send`): it keeps the
pace itself, in the database, and must never write a message back into the outbox.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import (
    CopyMessage,
    ForwardMessage,
    Response,
    SendAnimation,
    SendAudio,
    SendChatAction,
    SendContact,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message
from redis.asyncio import Redis

from bot.platform import platform_of
from bot.redis_batch import RedisBatcher

logger = logging.getLogger(__name__)

# Calls that put a message in the chat: these take a token. Edits, chat actions and callback
# answers add no message and take none (their 429s are still honoured).
PACED_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendAudio,
    SendVideo,
    SendVoice,
    SendAnimation,
    SendSticker,
    SendVideoNote,
    SendLocation,
    SendContact,
    SendMediaGroup,
    CopyMessage,
    ForwardMessage,
)

# True while the outbox sender sends: it paces itself (per chat, in the database).
outbox_send: contextvars.ContextVar[bool] = contextvars.ContextVar("outbox_send", default=False)


class ChatPacer(Protocol):
    """A token bucket per chat key."""

    async def reserve(self, key: str) -> float:
        """Take the chat's next slot; return the seconds until it is due (0: now)."""
        ...

    async def hold(self, key: str, seconds: float) -> None:
        """Let the chat's next slot come no sooner than ``seconds`` from now (after a 429)."""
        ...


class MemoryPacer:
    """Token buckets in this process (polling, or a single worker)."""

    # Buckets idle long enough to be full again are forgotten past this many chats.
    PRUNE_ABOVE = 10_000

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        # key -> (tokens, at): tokens below zero are slots already handed out.
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    async def reserve(self, key: str) -> float:
        now = self._clock()
        tokens = self._tokens(key, now) - 1
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.PRUNE_ABOVE:
            self._prune(now)
        return 0.0 if tokens >= 0 else -tokens / self.rate

    async def hold(self, key: str, seconds: float) -> None:
        now = self._clock()
        self._buckets[key] = (min(self._tokens(key, now), -seconds * self.rate), now)

    def _prune(self, now: float) -> None:
        # A bucket that has filled up again is the same as no bucket.
        self._buckets = {
            k: (tokens, at)
            for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate < self.burst
        }


# KEYS[1] the chat's bucket; ARGV: rate, burst, hold (seconds; 0 to take a slot instead).
# Time is the Redis server's, the one clock every worker shares. The key expires once the
# bucket would be full again. Returns the wait until the slot, in microseconds.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if hold > 0 then
  tokens = math.min(tokens, -hold * rate)
else
  tokens = tokens - 1
  if tokens < 0 then wait = -tokens / rate end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(((burst - tokens) / rate + 1) * 1000))
return math.floor(wait * 1000000)
"""


class RedisPacer:
    """Token buckets in Redis, shared by every worker of the bot (webhook mode).

    The bucket script goes through a :class:`~bot.redis_batch.RedisBatcher`: one round trip
    of its own per answer, it now joins the pipeline of the loop turn's other Redis commands
    (the dispatcher's batcher, ``BotDeps.batcher``; issue 19's profile of the webhook workers).
    """

    def __init__(
        self,
        redis: Redis,
        rate: float,
        burst: int,
        *,
        prefix: str = "tamin:pace",
        batcher: RedisBatcher | None = None,
    ):
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self.batcher = batcher or RedisBatcher(redis)

    async def reserve(self, key: str) -> float:
        args = [self.rate, self.burst, 0]
        waited = await self.batcher.eval(_BUCKET_LUA, [f"{self.prefix}:{key}"], args)
        return int(waited) / 1_000_000

    async def hold(self, key: str, seconds: float) -> None:
        args = [self.rate, self.burst, seconds]
        await self.batcher.eval(_BUCKET_LUA, [f"{self.prefix}:{key}"], args)


# Writes a text answer to the outbox, to go no sooner than the seconds given (a 429's
# ``retry_after`` when the flag is set, else the chat's pace); returns what the handler gets.
Overflow = Callable[[Bot, SendMessage, float, bool], Awaitable[Message]]


def placeholder_message(method: SendMessage) -> Message:
    """What a handler gets for an answer the outbox will send: no handler reads more than this."""
    return Message(
        message_id=0,
        date=dt.datetime.now(dt.UTC),
        chat=Chat(id=int(method.chat_id), type="private"),
        text=method.text,
    )


def prepared_payload(method: SendMessage) -> dict[str, Any]:
    """The outbox payload of a text answer (``OutboxKind.PREPARED``), as the handler made it."""
    parse_mode = None if isinstance(method.parse_mode, Default) else method.parse_mode
    markup = method.reply_markup
    return {
        "kind": "prepared",
        "text": method.text,
        "parse_mode": parse_mode,
        "markup_type": type(markup).__name__ if markup is not None else None,
        "markup": markup.model_dump(mode="json", exclude_none=True) if markup else None,
    }


class PacingMiddleware(BaseRequestMiddleware):
    """Session middleware: per-chat pace, 429 ``retry_after`` honoured, waits in the outbox."""

    def __init__(
        self,
        pacer: ChatPacer,
        *,
        max_wait: float,
        max_flood_retries: int,
        overflow: Overflow | None = None,
    ) -> None:
        self.pacer = pacer
        self.max_wait = max_wait
        self.max_flood_retries = max_flood_retries
        self.overflow = overflow
        self.deferred = 0  # answers handed to the outbox, for tests and metrics
        self.flood_waits = 0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is None or outbox_send.get() or isinstance(method, SendChatAction):
            # No chat, the outbox's own send, or "typing…" (a courtesy, never waited for).
            return await make_request(bot, method)
        key = f"{platform_of(bot)}:{bot.id}:{chat_id}"
        paced = isinstance(method, PACED_METHODS)
        # A text answer never waits inside its update: the update holds its database
        # transaction meanwhile (on SQLite the one write lock, so every other user would wait
        # too; on PostgreSQL a pooled connection). When the chat's bucket is empty, or flood
        # control answers 429, the answer goes to the outbox instead, in the update's own
        # transaction, to be sent when the chat may receive it again.
        deferrable = (
            self.overflow is not None
            and isinstance(method, SendMessage)
            and isinstance(method.chat_id, int)
        )
        retries = 0
        while True:
            if paced:
                # Reserved even when deferred: the outbox sends in that slot, and later
                # answers queue behind it (they wait or are deferred too, in order).
                wait = await self.pacer.reserve(key)
                if wait > 0 and deferrable:
                    return await self._defer(bot, method, wait, flood=False)
                if wait > self.max_wait:
                    raise TelegramRetryAfter(
                        method=method, message="chat paced", retry_after=math.ceil(wait)
                    )
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.flood_waits += 1
                logger.info(
                    "%s: flood control on %s, retry after %ss",
                    platform_of(bot),
                    method.__api_method__,
                    error.retry_after,
                )
                await self.pacer.hold(key, float(error.retry_after))
                if deferrable:
                    await self.pacer.reserve(key)  # the outbox's slot
                    return await self._defer(bot, method, float(error.retry_after), flood=True)
                retries += 1
                if error.retry_after > self.max_wait or retries > self.max_flood_retries:
                    raise
                if not paced:  # a paced call waits for its reserved slot above
                    await asyncio.sleep(error.retry_after)

    async def _defer(
        self, bot: Bot, method: TelegramMethod[TelegramType], rest: float, *, flood: bool
    ) -> Response[TelegramType]:
        assert self.overflow is not None and isinstance(method, SendMessage)
        self.deferred += 1
        message = await self.overflow(bot, method, rest, flood)
        # ``make_request`` returns the result itself (``BaseSession.__call__`` casts it).
        return message  # type: ignore[return-value]
