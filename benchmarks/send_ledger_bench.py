"""What the send ledger (``bot/send_ledger.py``) costs per reply, in CPU time and in waiting.

Each reply of an update passes the ledger's request middleware: the update's records read at
its first send (one look-up), a digest of the call, and the record written once it has left
(here after the stand-in request's answer: no socket to watch). Measured
here without the network (the request itself answers at once, so only the ledger's share is
counted), one reply per update:

- **sequential**: one update at a time (the latency a lone reply gains);
- **concurrent**: ``CONCURRENT`` updates at once (a burst, where Redis commands of the same
  loop turn share one pipeline), CPU time per reply.

Stores: none (the middleware skipped: the baseline), the SQLite file of the no-Redis default,
and Redis. ``SEND_LEDGER_REPLIES`` changes the count (default 3000).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message
from redis.asyncio import Redis

from bot.send_ledger import (
    RedisSendStore,
    SendLedgerMiddleware,
    SendStore,
    SqliteSendStore,
    UpdateScope,
    current_update,
)

REPLIES = int(os.environ.get("SEND_LEDGER_REPLIES", "3000"))
CONCURRENT = 100
REDIS_URL = "redis://127.0.0.1:6379/12"
TOKEN = "7000001:bench-send-ledger-token-00000000000"
TEXT = "پاسخ شما: استحقاق درمان شما تا پایان ماه آینده برقرار است. " * 3


async def _answer(bot: Bot, method: TelegramMethod[Any]) -> Any:
    assert isinstance(method, SendMessage)
    return Message(
        message_id=17,
        date=dt.datetime.now(dt.UTC),
        chat=Chat(id=int(method.chat_id), type="private"),
        text=method.text,
    )


def _method(n: int) -> SendMessage:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="منوی اصلی", callback_data="menu:main")]]
    )
    return SendMessage(chat_id=800_000_000 + n, text=TEXT, reply_markup=markup)


Send = Callable[[int], Awaitable[Any]]


def _sender(bot: Bot, store: SendStore | None, run: str) -> Send:
    middleware = None if store is None else SendLedgerMiddleware(store)
    base = int(uuid.uuid4().int % 1_000_000) * 10_000

    async def send(n: int) -> Any:
        token = current_update.set(UpdateScope(f"bench-{run}", base + n))
        try:
            if middleware is None:
                return await _answer(bot, _method(n))
            # Outer part, then the recorder, then the "request" (no pace between here).
            inner = functools.partial(middleware.recorder, _answer)
            return await middleware(inner, bot, _method(n))
        finally:
            current_update.reset(token)

    return send


async def _measure(send: Send, *, concurrent: bool) -> tuple[float, float]:
    """(CPU µs per reply, median wall µs per reply or per burst's reply)."""
    walls: list[float] = []
    cpu0 = time.process_time()
    if concurrent:
        for start in range(0, REPLIES, CONCURRENT):
            t0 = time.perf_counter()
            await asyncio.gather(*(send(n) for n in range(start, start + CONCURRENT)))
            walls.append((time.perf_counter() - t0) / CONCURRENT)
    else:
        for n in range(REPLIES):
            t0 = time.perf_counter()
            await send(n)
            walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / REPLIES
    return cpu * 1e6, statistics.median(walls) * 1e6


async def bench() -> None:
    bot = Bot(TOKEN)
    client = Redis.from_url(REDIS_URL)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory(prefix="tamin-sent-") as tmp:
            sqlite = SqliteSendStore(Path(tmp) / "tamin.sent.db", ttl=3600)
            stores: dict[str, SendStore | None] = {"none (baseline)": None, "SQLite file": sqlite}
            try:
                await client.ping()
                stores["Redis"] = RedisSendStore(client, ttl=3600, prefix=f"{prefix}:sent")
            except OSError:
                print("Redis is not reachable: its figures are skipped")
            print(f"{REPLIES} replies, one per update; load average {_load()}")
            print(f"{'store':<18} {'CPU µs/reply':>13} {'wall µs/reply':>14}  mode")
            for name, store in stores.items():
                for concurrent in (False, True):
                    await _measure(_sender(bot, store, "warm"), concurrent=concurrent)
                    cpu, wall = await _measure(
                        _sender(bot, store, uuid.uuid4().hex[:6]), concurrent=concurrent
                    )
                    mode = f"{CONCURRENT} at once" if concurrent else "one at a time"
                    print(f"{name:<18} {cpu:>13.1f} {wall:>14.1f}  {mode}")
            sqlite.close()
        keys = [k async for k in client.scan_iter(match=f"{prefix}:sent:*", count=1000)]
        if keys:
            usage = await client.memory_usage(keys[0])
            print(f"Redis memory per mark: {usage} bytes (TTL = bot.processed_updates_hours)")
    finally:
        async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            await client.delete(key)
        await client.aclose()
        await bot.session.close()


def _load() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def main() -> int:
    asyncio.run(bench())
    return 0
