"""An escalation on one worker makes every worker write its intent-log buffer first
(bot/intent_log_flush.py), over a real Redis: two writers stand for two worker processes, each
with its own Redis connection, and batch for a minute so only the request can write them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.intent_log_flush import IntentLogFlushChannel
from services.clock import FixedClock
from services.db.handoff_models import IntentLogEntry
from services.intent_log import IntentLogWriter
from tests.bot.conftest import REDIS_URL, delete_prefixed

pytestmark = pytest.mark.redis


@pytest.fixture
async def prefix(redis_available: bool) -> AsyncIterator[str]:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    name = f"tamin-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = Redis.from_url(REDIS_URL)
    await delete_prefixed(client, name)
    await client.aclose()


async def _texts(factory: async_sessionmaker[AsyncSession], chat_id: int) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(IntentLogEntry.text)
            .where(IntentLogEntry.chat_id == chat_id)
            .order_by(IntentLogEntry.id)
        )
        return [r or "" for r in rows]


def _record(writer: IntentLogWriter, chat_id: int, text: str) -> None:
    writer.record(
        platform="telegram",
        chat_id=chat_id,
        text=text,
        intent="greet",
        confidence=0.9,
        fallback=False,
    )


async def test_an_escalation_on_one_worker_writes_every_worker_s_lines(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock, prefix: str
) -> None:
    chat_id = 700_000 + uuid.uuid4().int % 100_000
    clients = [Redis.from_url(REDIS_URL) for _ in range(3)]
    writers = [IntentLogWriter(session_factory, clock, interval=60.0) for _ in range(3)]
    channels = [
        IntentLogFlushChannel(c, w, prefix=prefix) for c, w in zip(clients, writers, strict=True)
    ]
    try:
        for channel in channels:
            await channel.start()
        _record(writers[1], chat_id, "خط از کارگر ب")
        _record(writers[2], chat_id, "خط از کارگر ج")
        _record(writers[0], chat_id, "با کارشناس صحبت کنم")
        assert await _texts(session_factory, chat_id) == []  # all still in the buffers

        await writers[0].flush_all()  # what the escalation on worker A does first

        texts = await _texts(session_factory, chat_id)
        assert sorted(texts) == sorted(["خط از کارگر ب", "خط از کارگر ج", "با کارشناس صحبت کنم"])
        assert [c.answered for c in channels] == [1, 1, 1]
        # The acknowledgement list is gone: Redis keeps nothing of it.
        assert [k async for k in clients[0].scan_iter(match=f"{prefix}:intent-log:ack:*")] == []
    finally:
        for channel in channels:
            await channel.stop()
        for writer in writers:
            await writer.close()
        for client in clients:
            await client.aclose()


async def test_a_worker_that_does_not_answer_delays_the_escalation_only_up_to_the_timeout(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock, prefix: str
) -> None:
    """A subscriber that never acknowledges (a worker stuck on an unreachable database)."""
    chat_id = 800_000 + uuid.uuid4().int % 100_000
    client, silent_client = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    writer = IntentLogWriter(session_factory, clock, interval=60.0)
    channel = IntentLogFlushChannel(client, writer, prefix=prefix, timeout=0.5)
    silent = silent_client.pubsub()
    try:
        await channel.start()
        await silent.subscribe(channel.channel)
        _record(writer, chat_id, "سلام")
        answered = await channel.request()
        assert answered == 1  # this worker; the silent one was waited for 0.5 s, then not
        assert await _texts(session_factory, chat_id) == ["سلام"]
    finally:
        await silent.aclose()
        await channel.stop()
        await writer.close()
        await client.aclose()
        await silent_client.aclose()


async def test_without_the_channel_an_escalation_flushes_only_its_own_worker(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    """One process (no Redis): flush_all is the writer's own flush, as before."""
    chat_id = 900_000 + uuid.uuid4().int % 100_000
    writer = IntentLogWriter(session_factory, clock, interval=60.0)
    try:
        _record(writer, chat_id, "سلام")
        assert writer.flush_everywhere is None
        await writer.flush_all()
        assert await _texts(session_factory, chat_id) == ["سلام"]
    finally:
        await writer.close()


async def test_on_sqlite_an_escalating_update_does_not_wait_for_workers_its_lock_holds_back(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock, prefix: str
) -> None:
    """The update has written (it holds SQLite's write lock): its own worker's lines go in its
    transaction, the others are asked but not waited for, and land once it commits."""
    chat_id = 850_000 + uuid.uuid4().int % 100_000
    clients = [Redis.from_url(REDIS_URL) for _ in range(2)]
    writers = [IntentLogWriter(session_factory, clock, interval=60.0) for _ in range(2)]
    # A timeout the escalation would visibly sit through if it waited for worker B.
    channels = [
        IntentLogFlushChannel(c, w, prefix=prefix, timeout=10.0)
        for c, w in zip(clients, writers, strict=True)
    ]
    try:
        for channel in channels:
            await channel.start()
        _record(writers[1], chat_id, "خط از کارگر ب")
        _record(writers[0], chat_id, "با کارشناس صحبت کنم")
        async with session_factory() as update:
            on_sqlite = update.get_bind().dialect.name == "sqlite"
            update.add(
                IntentLogEntry(
                    platform="telegram",
                    chat_id=chat_id + 1,
                    text=None,
                    intent="greet",
                    confidence=0.9,
                    is_fallback=False,
                    from_bot=False,
                    created_at=clock.now(),
                )
            )
            await update.flush()  # the update's first write
            started = time.monotonic()
            await writers[0].flush_all(update)
            elapsed = time.monotonic() - started
            await update.commit()
        assert elapsed < 5.0, f"the flush took {elapsed:.1f} s"
        deadline = time.monotonic() + 5.0
        expected = sorted(["خط از کارگر ب", "با کارشناس صحبت کنم"])
        while sorted(await _texts(session_factory, chat_id)) != expected:
            assert time.monotonic() < deadline, await _texts(session_factory, chat_id)
            await asyncio.sleep(0.05)
        if not on_sqlite:  # elsewhere nothing holds worker B back: it was waited for
            assert channels[1].answered == 1
    finally:
        for channel in channels:
            await channel.stop()
        for writer in writers:
            await writer.close()
        for client in clients:
            await client.aclose()
