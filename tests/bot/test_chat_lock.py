"""The cross-worker chat lock (``bot.redis_batch.RenewingRedisIsolation``), on real Redis.

aiogram's Redis lock lasts a fixed 60 s: a worker killed while it held a chat's lock froze
that chat on every worker for a minute (tests/cluster/test_cluster.py's kill test). The lock
is now a lease: renewed while its holder works, lapsed soon after the holder dies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from redis.asyncio import Redis

from bot.redis_batch import RenewingRedisIsolation
from tests.bot.conftest import REDIS_URL, delete_prefixed

pytestmark = pytest.mark.redis

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)
LOCK_S = 0.6


@pytest.fixture
async def isolation(redis_available: bool) -> AsyncIterator[tuple[RenewingRedisIsolation, Redis]]:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    lock = RenewingRedisIsolation(
        client, key_builder=DefaultKeyBuilder(prefix=prefix), lock_seconds=LOCK_S
    )
    try:
        yield lock, client
    finally:
        await delete_prefixed(client, prefix)
        await client.aclose()


async def test_a_slow_holder_keeps_the_lock_past_its_expiry(
    isolation: tuple[RenewingRedisIsolation, Redis],
) -> None:
    lock, client = isolation
    redis_key = lock.key_builder.build(KEY, "lock")
    order: list[str] = []

    async def first() -> None:
        async with lock.lock(KEY):
            order.append("first in")
            # Held as a lease: a holder killed now would free the chat within LOCK_S.
            assert 0 < await client.pttl(redis_key) <= LOCK_S * 1000
            await asyncio.sleep(4 * LOCK_S)  # far past one expiry: renewed meanwhile
            assert 0 < await client.pttl(redis_key) <= LOCK_S * 1000
            order.append("first out")

    async def second() -> None:
        await asyncio.sleep(0.05)
        async with lock.lock(KEY):
            order.append("second in")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second in"]


async def test_a_dead_holders_lock_lapses_within_its_expiry(
    isolation: tuple[RenewingRedisIsolation, Redis],
) -> None:
    lock, client = isolation
    # A worker killed with the lock: taken, never renewed, never released (aiogram's own lock
    # would hold the chat for 60 s).
    redis_key = lock.key_builder.build(KEY, "lock")
    assert await client.set(redis_key, "dead-worker", px=int(LOCK_S * 1000))
    started = time.monotonic()
    async with lock.lock(KEY):
        waited = time.monotonic() - started
    assert 0.3 * LOCK_S < waited < LOCK_S + 0.5, waited
    assert await client.exists(redis_key) == 0  # released after use


async def test_the_renewal_ends_with_the_update_even_when_the_cancel_is_lost(
    redis_available: bool,
) -> None:
    """Regression (the cluster kill test's stall): an update finishing while its lock's renewal
    was being sent waited for ever and kept its chat locked. On Python 3.11 redis-py sends each
    command inside ``asyncio.wait_for``, which drops a cancellation arriving as the send ends,
    so the renewal loop, only cancelled, went on renewing. Fifty chats at once, each lock
    renewed every 10 ms and its holder finishing at every phase of a renewal: no exit may hang
    and no renewal outlive its holder."""
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    lock = RenewingRedisIsolation(
        client, key_builder=DefaultKeyBuilder(prefix=prefix), lock_seconds=0.03
    )

    def renewals() -> list[asyncio.Task[object]]:
        return [
            t
            for t in asyncio.all_tasks()
            if "._renew" in getattr(t.get_coro(), "__qualname__", "")
        ]

    async def chat(chat_id: int) -> None:
        key = StorageKey(bot_id=1, chat_id=chat_id, user_id=chat_id)
        for n in range(12):
            async with lock.lock(key):
                await asyncio.sleep(((n + chat_id) % 12) / 1000)  # 0–11 ms

    # Waited for with asyncio.wait, not a timeout: a timeout is a cancellation, which the very
    # bug under test may swallow.
    chats = asyncio.gather(*(chat(c) for c in range(50)))
    try:
        _, pending = await asyncio.wait({chats}, timeout=10.0)
        assert not pending, "a chat lock's holder hung on its exit"
        await chats
        assert not renewals()
    finally:
        for _ in range(100):  # a renewal left running (the bug) stops with the test
            if chats.done() and not renewals():
                break
            chats.cancel()
            for task in renewals():
                task.cancel()
            await asyncio.sleep(0.02)
        await delete_prefixed(client, prefix)
        await client.aclose()
