"""The one outbound sender: drains the outbox into the messengers within their limits.

Agent replies, ticket answers and handoff notices are written to the outbox by the services (in
the transaction of the change they report); this worker claims them through
:class:`services.outbox.OutboxStore` and sends each through the right platform's aiogram
``Bot``, rendered with the bot's catalogue and renderer like any other answer:

- in order per chat and never twice (the store hands out one leased head per chat);
- about one message a second per chat (the store's pace) and about 30 a second overall (a
  token spacing here, shared through Redis by several senders: :class:`SharedSpacing`);
- ``TelegramRetryAfter.retry_after`` honoured: the chat rests that long, then the same message
  is tried again (bounded: ``max_flood_waits``);
- other failures: permanent ones (blocked by the user, bad request) end the message at once,
  transient ones (network, server errors) back off exponentially up to ``max_attempts``;
- every delivery is recorded (status, time, the platform's message id), so the console shows
  "delivered" and a restart picks up exactly what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import formatting as fmt
from bot import keyboards, texts
from bot.pacing import outbox_send
from bot.platform import Platform
from bot.render import Renderer
from services.clock import Clock
from services.enums import NoticeKind, OutboxKind
from services.metrics import metrics
from services.outbox import OutboxMessage, OutboxStore
from services.settings import OutboxConfig, Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Refusals that no retry will change: the user blocked the bot, the chat is gone, the message
# itself is wrong. Anything else (network, 5xx, timeouts) is worth another try.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    TelegramForbiddenError,
    TelegramBadRequest,
    TelegramNotFound,
    TelegramEntityTooLarge,
    TelegramMigrateToChat,
)


class UnknownKind(Exception):
    """An outbox payload this version of the bot cannot word."""


# Waits while the database is unreachable: short enough that queued replies leave within
# seconds of its return, long enough not to hammer it meanwhile.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 4.0

NOT_RETRIED: tuple[type[Exception], ...] = (*PERMANENT_ERRORS, UnknownKind)

# Keyboards a prepared answer may carry, by the name ``bot.pacing.prepared_payload`` stores.
MARKUPS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply)
}


class Spacing:
    """At most ``rate`` starts a second across all chats (Telegram's ~30 messages/s)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


class SharedSpacing:
    """:class:`Spacing` for several senders at once (``tamin-bot sender`` ×N): the next free
    start is kept in Redis, so together they stay within ``rate`` a second, as one would.

    One Lua call a message reserves a start ``max(now, next)`` and moves ``next`` on by
    ``1 / rate``, atomically (Redis runs a script alone), with Redis's own clock (``TIME``) so
    senders on machines whose clocks differ share one timeline. The key lives a minute past its
    last reservation. If Redis fails, this sender falls back to its own :class:`Spacing` at
    the full rate for that message: messages go a little too fast rather than not at all, and
    the platform's 429s (honoured) are the backstop.
    """

    _RESERVE = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
    redis.call('SET', KEYS[1], start + tonumber(ARGV[1]), 'PX', 60000)
    return {start, start - now}
    """

    def __init__(self, redis: Redis, rate: float, key: str = "tamin:outbox:pace") -> None:
        self._script = redis.register_script(self._RESERVE)
        self._interval_us = max(1, round(1_000_000 / rate))
        self._key = key
        self._local = Spacing(rate)

    async def reserve(self) -> tuple[int, float]:
        """Reserve the next start: (its moment on Redis's clock in µs, seconds to wait for it)."""
        start, wait_us = await self._script(keys=[self._key], args=[self._interval_us])
        return int(start), int(wait_us) / 1_000_000

    async def acquire(self) -> None:
        try:
            _, wait = await self.reserve()
        except Exception as exc:
            metrics().redis_errors.labels("outbox_pace").inc()
            logger.warning("shared outbox pace unavailable (%s)", type(exc).__name__)
            await self._local.acquire()
            return
        if wait > 0:
            await asyncio.sleep(wait)


def default_owner() -> str:
    """A name for this sender's leases: host, process and a random part."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


class OutboundSender:
    """Drains the outbox; ``run()`` until cancelled (it then lets sends in flight finish)."""

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        bots: Mapping[str, Bot],
        clock: Clock,
        settings: Settings,
        config: OutboxConfig | None = None,
        owner: str | None = None,
        redis: Redis | None = None,
    ) -> None:
        """``redis``: share the global pace with the other senders (:class:`SharedSpacing`)."""
        self.config = config or settings.config.outbox
        self._session_factory = session_factory
        self._settings = settings
        self._clock = clock
        self.store = OutboxStore(session_factory, clock, self.config, owner or default_owner())
        self._bots = {str(platform): bot for platform, bot in bots.items()}
        self._renderers = {p: Renderer(Platform(p)) for p in self._bots}
        self._spacing: Spacing | SharedSpacing = (
            Spacing(self.config.global_per_second)
            if redis is None
            else SharedSpacing(redis, self.config.global_per_second)
        )
        self._wake = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], tuple[str, int]] = {}
        self.sent = 0
        self.failed = 0

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (same process only)."""
        self._wake.set()

    async def run(self) -> None:
        logger.info("outbound sender started for %s", ", ".join(sorted(self._bots)) or "nothing")
        delay = FIRST_BACKOFF
        try:
            while True:
                try:
                    await self._fill()
                except Exception as exc:
                    # The database away for a moment must not end the sender (it once did,
                    # for good): wait, growing the wait up to MAX_BACKOFF, and claim again.
                    logger.warning(
                        "outbound sender: claiming failed (%s), again in %.1fs",
                        type(exc).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF)
                    continue
                delay = FIRST_BACKOFF
                await self._idle()
        finally:
            await self._finish_in_flight()

    async def drain(self, *, within: float = 60.0) -> None:
        """Send until nothing is pending or in flight (tests, and a clean shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            await self._fill()
            if not self._in_flight and (await self.store.counts()).pending == 0:
                return
            if loop.time() > deadline:
                raise TimeoutError("the outbox did not drain in time")
            await self._idle()

    async def _fill(self) -> None:
        room = self.config.batch_size - len(self._in_flight)
        if room <= 0:
            return
        busy = frozenset(self._in_flight.values())
        messages = await self.store.claim(
            room, exclude_chats=busy, platforms=frozenset(self._bots)
        )
        for message in messages:
            task = asyncio.create_task(self._deliver(message), name=f"outbox-{message.id}")
            self._in_flight[task] = (message.platform, message.chat_id)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("outbox delivery crashed", exc_info=task.exception())

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_seconds)

    async def _finish_in_flight(self) -> None:
        if not self._in_flight:
            return
        # A send cut off halfway may or may not have reached the user; letting it finish is
        # what keeps "never twice" true across a shutdown.
        await asyncio.wait(list(self._in_flight), timeout=15)

    async def _deliver(self, message: OutboxMessage) -> None:
        bot = self._bots[message.platform]
        await self._spacing.acquire()
        # The bots' pacing middleware lets these through: the outbox keeps its own pace.
        token = outbox_send.set(True)
        try:
            sent = await self._send(bot, message)
        except TelegramRetryAfter as error:
            self._meter("rate_limited", message)
            metrics().outbox_rate_limited.labels(message.platform).inc()
            logger.info("outbox %s: flood control, retry after %ss", message.id, error.retry_after)
            wait = float(error.retry_after)
            await self._book(lambda: self.store.flood_wait(message, wait))
        except NOT_RETRIED as error:
            self._meter("failed", message)
            self.failed += 1
            reason = f"{type(error).__name__}: {error}"
            await self._book(lambda: self.store.failed(message, reason, permanent=True))
        except Exception as error:
            self._meter("retry", message)
            logger.warning("outbox %s: %s, will retry", message.id, type(error).__name__)
            reason = f"{type(error).__name__}: {error}"
            if not await self._book(lambda: self.store.failed(message, reason, permanent=False)):
                self.failed += 1
        else:
            self.sent += 1
            self._meter("sent", message)
            if message.created_at is not None:
                lag = (self._clock.now() - message.created_at).total_seconds()
                metrics().outbox_lag.labels(message.platform).observe(max(lag, 0.0))
            await self._book(lambda: self.store.mark_sent(message, sent.message_id))
        finally:
            outbox_send.reset(token)

    @staticmethod
    def _meter(outcome: str, message: OutboxMessage) -> None:
        metrics().outbox_sends.labels(message.platform, outcome).inc()

    async def _book(self, record: Callable[[], Awaitable[T]]) -> T:
        """Record a delivery's outcome, trying again while the database is away.

        Giving up would leave the lease to run out and a message already delivered to go out a
        second time, so the bookkeeping is retried for up to half the lease.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.lease_seconds / 2
        delay = FIRST_BACKOFF
        while True:
            try:
                return await record()
            except Exception as exc:
                if loop.time() + delay > deadline:
                    raise
                logger.warning(
                    "outbox: recording a delivery failed (%s), again in %.1fs",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    async def _send(self, bot: Bot, message: OutboxMessage) -> Message:
        payload = message.payload
        render = self._renderers[message.platform]
        kind = payload.get("kind")
        markup: Any = None
        if kind == OutboxKind.AGENT_REPLY:
            rendered = render(
                texts.HANDOFF_AGENT_REPLY, agent=str(payload["agent"]), text=str(payload["text"])
            )
        elif kind == OutboxKind.HANDOFF_TAKEN:
            rendered = render(
                texts.HANDOFF_TAKEN, agent=str(payload["agent"]), button=texts.BTN_BACK_TO_BOT
            )
            markup = keyboards.back_to_bot()
        elif kind == OutboxKind.HANDOFF_TRANSFERRED:
            rendered = render(texts.HANDOFF_TRANSFERRED, agent=str(payload["agent"]))
        elif kind == OutboxKind.HANDOFF_REQUEUED:
            rendered = render(
                texts.HANDOFF_REQUEUED,
                position=fmt.digits(payload["position"]),
                wait=fmt.digits(payload["wait_minutes"]),
            )
        elif kind == OutboxKind.HANDOFF_RESOLVED:
            rendered = render(texts.HANDOFF_RESOLVED)
            markup = keyboards.main_menu()
        elif kind == OutboxKind.SATISFACTION_QUESTION:
            rendered = render(texts.HANDOFF_SATISFACTION)
            markup = keyboards.satisfaction(int(payload["conversation_id"]))
        elif kind == OutboxKind.PREPARED:
            return await self._send_prepared(bot, message)
        elif kind == OutboxKind.TICKET_ANSWER:
            rendered = render(
                texts.TICKET_ANSWERED + "\n\n" + texts.NOTICE_FOOTER,
                code=fmt.code(payload["tracking_code"]),
                text=str(payload["text"]),
            )
        elif kind == OutboxKind.HANDOFF_STARTED:
            code = payload.get("tracking_code")
            if code:
                rendered = render(
                    texts.HANDOFF_STARTED,
                    agent=str(payload["agent"]),
                    code=fmt.digits(code),
                    button=texts.BTN_BACK_TO_BOT,
                )
            else:
                rendered = render(
                    texts.HANDOFF_STARTED_NO_CODE,
                    agent=str(payload["agent"]),
                    button=texts.BTN_BACK_TO_BOT,
                )
            markup = keyboards.back_to_bot()
        elif kind == OutboxKind.NOTICE:
            template, values = notice_text(payload, self._settings)
            rendered = render(template + "\n\n" + texts.NOTICE_FOOTER, **values)
        else:
            raise UnknownKind(str(kind))
        return await bot.send_message(chat_id=message.chat_id, **rendered, reply_markup=markup)

    async def _send_prepared(self, bot: Bot, message: OutboxMessage) -> Message:
        """Send a direct answer that flood control held up, as its handler made it."""
        payload = message.payload
        markup: Any = None
        if payload.get("markup_type"):
            markup_type = MARKUPS.get(str(payload["markup_type"]))
            if markup_type is None:
                raise UnknownKind(f"prepared markup {payload['markup_type']}")
            markup = markup_type.model_validate(payload["markup"])
        return await bot.send_message(
            chat_id=message.chat_id,
            text=str(payload["text"]),
            parse_mode=payload.get("parse_mode"),
            reply_markup=markup,
        )


def request_decided_text(payload: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The desk's decision on a dependant request (``services.notices.request_decided``):
    approved with the cover's start date, or rejected with the reason's label
    (``DEPENDANT_REJECT_REASONS``), the agent's note and where to turn next."""
    values = {
        "code": fmt.code(payload["code"]),
        "relation": fmt.relation_label(payload.get("relation")),
    }
    if payload.get("approved"):
        if payload.get("covered_from"):
            date = fmt.date_long(dt.date.fromisoformat(str(payload["covered_from"])))
            return texts.NOTICE_REQUEST_APPROVED, {**values, "date": date}
        return texts.NOTICE_REQUEST_APPROVED_NO_DATE, values
    reason = payload.get("reason")
    if reason:
        template = texts.NOTICE_REQUEST_REJECTED
        # A reason is a DependantRejectReason key; an unknown one reads as "see the note".
        values["reason"] = texts.DEPENDANT_REJECT_REASONS.get(
            str(reason), texts.DEPENDANT_REJECT_REASONS["other"]
        )
    else:
        template = texts.NOTICE_REQUEST_REJECTED_NO_REASON
    note = str(payload.get("note") or "")
    if note:
        template += texts.NOTICE_REQUEST_REJECTED_NOTE
        values["note"] = note
    return template + texts.NOTICE_REQUEST_REJECTED_HELP, values


def notice_text(payload: Mapping[str, Any], settings: Settings) -> tuple[str, dict[str, str]]:
    """The catalogue text of a proactive notice (``services.notices``) and its values."""
    notice = payload.get("notice")

    def day(key: str) -> str:
        return fmt.date_long(dt.date.fromisoformat(str(payload[key])))

    if notice == NoticeKind.TICKET_OVERDUE:
        return texts.NOTICE_TICKET_OVERDUE, {
            "code": fmt.code(payload["code"]),
            "due": day("due"),
            "new_date": day("new_date"),
        }
    if notice == NoticeKind.REQUEST_DECIDED:
        return request_decided_text(payload)
    if notice == NoticeKind.COVER_ENDING:
        if int(payload.get("days", 0)) <= 0:
            return texts.NOTICE_COVER_ENDS_TODAY, {"until": day("until")}
        return texts.NOTICE_COVER_ENDING, {
            "until": day("until"),
            "days": fmt.digits(payload["days"]),
        }
    if notice == NoticeKind.VOLUNTARY_PAYMENT:
        return texts.NOTICE_VOLUNTARY_PAYMENT, {
            "number": fmt.code(payload["number"]),
            "deadline": day("deadline"),
            "url": settings.config.contact_centre.eservices_url,
        }
    if notice == NoticeKind.MEDICAL_EXAM:
        return texts.NOTICE_MEDICAL_EXAM, {
            "number": fmt.code(payload["number"]),
            "deadline": day("deadline"),
        }
    raise UnknownKind(f"notice {notice}")
