"""Redis commands of concurrent updates in one pipeline (``bot.redis_batch``), on real Redis.

The batcher must be invisible but for the count of round trips: each caller gets its own
answer or its own error, a lone command is not delayed, and aiogram's FSM storage reads and
writes exactly what the stock ``RedisStorage`` does (they share the keys).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.factory import BotDeps, build_bot, build_dispatcher, build_send_store, install_pacing
from bot.middlewares.dedupe import DedupeMiddleware, Lease, RedisLedger, Seen
from bot.pacing import RedisPacer
from bot.platform import Platform
from bot.redis_batch import BatchedRedisStorage, RedisBatcher
from bot.send_ledger import RedisSendStore
from tests.bot.conftest import REDIS_URL, delete_prefixed

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis(redis_available: bool) -> AsyncIterator[tuple[Redis, str]]:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    try:
        yield client, prefix
    finally:
        await delete_prefixed(client, prefix)
        await client.aclose()


async def test_commands_of_one_loop_turn_share_one_pipeline(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    await client.set(f"{prefix}:a", "1")
    batcher = RedisBatcher(client)
    answers = await asyncio.gather(
        batcher.get(f"{prefix}:a"),
        batcher.get(f"{prefix}:missing"),
        batcher.set(f"{prefix}:b", "2", nx=True, ex=60),
        batcher.set(f"{prefix}:a", "3", nx=True, ex=60),  # exists: NX refuses
    )
    assert list(answers) == [b"1", None, True, None]
    assert (batcher.pipelines, batcher.commands) == (1, 4)
    assert await client.get(f"{prefix}:a") == b"1"
    assert await client.get(f"{prefix}:b") == b"2"
    assert 0 < await client.ttl(f"{prefix}:b") <= 60


async def test_a_lone_command_goes_out_on_the_next_turn(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    batcher = RedisBatcher(client)
    assert await batcher.set(f"{prefix}:x", "1") is True
    assert await batcher.get(f"{prefix}:x") == b"1"
    assert batcher.pipelines == 2  # one each: nothing waited for company


async def test_a_failing_command_fails_only_its_caller(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    await client.rpush(f"{prefix}:list", "x")
    batcher = RedisBatcher(client)
    answers = await asyncio.gather(
        batcher.get(f"{prefix}:list"),  # WRONGTYPE
        batcher.set(f"{prefix}:ok", "1"),
        return_exceptions=True,
    )
    assert isinstance(answers[0], ResponseError)
    assert answers[1] is True


async def test_a_dead_connection_fails_every_caller_of_the_batch() -> None:
    client = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens
    try:
        batcher = RedisBatcher(client)
        answers = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
        assert all(isinstance(a, RedisConnectionError) for a in answers)
    finally:
        await client.aclose()


async def test_a_big_wave_is_split_into_pipelines(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    batcher = RedisBatcher(client, max_pipeline=40)
    answers = await asyncio.gather(*(batcher.set(f"{prefix}:{n}", n) for n in range(100)))
    assert answers == [True] * 100
    assert batcher.pipelines == 3


async def test_the_storage_reads_what_aiograms_storage_wrote_and_back(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    builder = DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True)
    stock = RedisStorage(client, key_builder=builder)
    batched = BatchedRedisStorage(client, key_builder=builder)
    key = StorageKey(bot_id=7, chat_id=11, user_id=11)
    other = StorageKey(bot_id=7, chat_id=12, user_id=12)
    await stock.set_state(key, "Verification:national_id")
    await stock.set_data(key, {"pending": "check_eligibility", "misses": 1})
    state, data, empty_state, empty_data = await asyncio.gather(
        batched.get_state(key),
        batched.get_data(key),
        batched.get_state(other),
        batched.get_data(other),
    )
    assert state == "Verification:national_id"
    assert data == {"pending": "check_eligibility", "misses": 1}
    assert (empty_state, empty_data) == (None, {})
    assert batched.batcher.pipelines == 1
    await batched.set_data(other, {"tkt_attachments": ["a"]})
    assert await stock.get_data(other) == {"tkt_attachments": ["a"]}
    # Each read is a fresh copy: changing one does not change what the next read gets.
    first = await batched.get_data(other)
    first["tkt_attachments"].append("b")
    assert await batched.get_data(other) == {"tkt_attachments": ["a"]}


async def test_data_writes_of_concurrent_chats_share_a_pipeline(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    builder = DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True)
    stock = RedisStorage(client, key_builder=builder, data_ttl=60)
    batched = BatchedRedisStorage(client, key_builder=builder, data_ttl=60)
    keys = [StorageKey(bot_id=7, chat_id=n, user_id=n) for n in range(20, 30)]
    await asyncio.gather(
        *(
            batched.set_data(k, {"thread": {"intent": "greet", "at": n}})
            for n, k in enumerate(keys)
        )
    )
    assert batched.batcher.pipelines == 1 and batched.batcher.commands == len(keys)
    assert await stock.get_data(keys[3]) == {"thread": {"intent": "greet", "at": 3}}
    assert 0 < await client.ttl(builder.build(keys[3], "data")) <= 60
    # An empty dict deletes the key, as aiogram's storage does.
    await batched.set_data(keys[3], {})
    assert await client.exists(builder.build(keys[3], "data")) == 0


async def test_dedupe_through_the_batcher_lets_exactly_one_of_a_repeat_through(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    batcher = RedisBatcher(client)
    seen = RedisLedger(batcher, prefix=f"{prefix}:update")
    other_worker = RedisLedger(client, prefix=f"{prefix}:update")
    taken = await asyncio.gather(
        seen.take("telegram", 1),
        seen.take("telegram", 2),
        other_worker.take("telegram", 1),  # the same update, at another worker
        seen.take("bale", 1),
    )
    firsts = [isinstance(t, Lease) for t in taken]
    assert sorted(firsts) == [False, True, True, True]
    assert firsts[1] is True and firsts[3] is True
    assert await seen.take("telegram", 2) is Seen.BUSY


async def test_the_dispatcher_the_pace_and_the_send_ledger_share_one_pipeline(
    redis: tuple[Redis, str], bot_deps: BotDeps
) -> None:
    client, prefix = redis
    deps = dataclasses.replace(bot_deps, redis=client)
    batcher = deps.batcher
    assert batcher is not None and deps.batcher is batcher  # one per deps
    dp = build_dispatcher(deps, key_prefix=prefix)
    bot = build_bot(Platform.TELEGRAM, "123456:TEST", "http://127.0.0.1:9")
    try:
        pacing = install_pacing([bot], deps, polling=False, key_prefix=prefix)
        store = build_send_store(deps, key_prefix=prefix)
        [dedupe] = [m for m in dp.update.outer_middleware if isinstance(m, DedupeMiddleware)]
        assert isinstance(dedupe.ledger, RedisLedger) and dedupe.ledger.batcher is batcher
        assert isinstance(pacing.pacer, RedisPacer) and pacing.pacer.batcher is batcher
        assert isinstance(store, RedisSendStore) and store.batcher is batcher
        # An update's take and an answer's pace slot in one loop turn: one round trip.
        before = batcher.pipelines
        taken, wait = await asyncio.gather(
            dedupe.ledger.take("telegram", 1), pacing.pacer.reserve("telegram:1:42")
        )
        assert isinstance(taken, Lease) and wait == 0
        assert batcher.pipelines == before + 1
    finally:
        await bot.session.close()
