"""Redis commands of concurrent updates, sent together: one pipeline per turn of the event loop.

Every update asks Redis the same small things: is this update new (``SET … NX EX``), what is
the chat's FSM state (``GET``) and its data (``GET``). Each is a round trip, and in redis-py
each command also pays its way through the connection pool and the client's retry and
observability layers, and three per update were a large share of the bot's CPU on
PostgreSQL + Redis (figures in the README's benchmark section). Updates come in groups (a
``getUpdates`` answer holds up to 100; under load, webhook requests are read in the same loop
turn), and the updates of one group reach the same step together. :class:`RedisBatcher` collects the commands issued during one turn of
the loop and sends them as one non-transactional pipeline on the next: one pool checkout and
one round trip for the group, each caller still getting its own answer (or its own error).
Nothing waits for a timer: a lone command goes out on the very next turn, as it would have.

Only commands whose order among *different* callers does not matter are batched: look-ups, the
dedupe ``SET NX``, the FSM data write, each on its own key (a chat's updates are handled
one at a time), the flood counter's ``INCR`` (commutative), and the atomic ones whose
outcome is right in either order: a chat lock's ``SET NX`` and its compare-and-delete (of
two updates of one chat in one pipeline one gets the lock, the other tries again), the pace
bucket's script (``bot.pacing.RedisPacer``). One caller awaits each answer before its next
command, so its own commands keep their order. :class:`BatchedRedisStorage` is aiogram's
``RedisStorage`` with its two reads and its data write batched; its other writes are aiogram's.

Written here because neither redis-py nor aiogram batches across callers (redis-py's pipeline
is for one caller's commands); the pipeline itself is redis-py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, cast

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import Redis

from services.metrics import metrics

logger = logging.getLogger(__name__)

# Commands per pipeline at most; the rest go in the next one, sent at once after it.
MAX_PIPELINE = 1000

# A lease (an update's, a chat's lock) is renewed or released only by its holder: another
# worker may have taken it over since it lapsed. ARGV[1] is the holder's token.
RENEW_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE_IF_HELD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Between two tries for a chat lock another update of the chat holds (redis-py's Lock waits
# as long).
LOCK_RETRY_SECONDS = 0.1


class _Command:
    __slots__ = ("args", "future", "kwargs", "name")

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()


class RedisBatcher:
    """``get`` and ``set`` of many callers, sent in one pipeline per loop turn."""

    def __init__(self, redis: Redis, *, max_pipeline: int = MAX_PIPELINE) -> None:
        self.redis = redis
        self.max_pipeline = max_pipeline
        self._queue: list[_Command] = []
        self._task: asyncio.Task[None] | None = None
        self.pipelines = 0  # pipelines sent, for tests and benchmarks
        self.commands = 0

    async def get(self, key: str) -> Any:
        return await self._enqueue("get", (key,), {})

    async def smembers(self, key: str) -> Any:
        return await self._enqueue("smembers", (key,), {})

    async def set(self, key: str, value: Any, **options: Any) -> Any:
        """``SET key value`` with redis-py's options (``nx``, ``ex``, …)."""
        return await self._enqueue("set", (key, value), options)

    async def count(self, key: str, window_ms: int) -> int:
        """``INCR key`` and, on a key with no expiry yet, ``PEXPIRE key window_ms NX``: a counter
        that lives ``window_ms`` from its first hit. Both go in the same pipeline."""
        hits = self._enqueue("incr", (key,), {})
        expiry = self._enqueue("pexpire", (key, window_ms), {"nx": True})
        value, _ = await asyncio.gather(hits, expiry)
        return int(value)

    async def eval(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """``EVAL script`` in the pipeline. Not ``EVALSHA``: a pipeline has no way to load a
        script Redis has forgotten (a restart) before the commands that call it, and Redis
        caches the compiled script by its digest either way; the text costs a few hundred
        bytes on loopback."""
        return await self._enqueue("eval", (script, len(keys), *keys, *args), {})

    def later(self, name: str, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Queue a command for the next pipeline without waiting: its answer in the future."""
        return self._enqueue(name, args, kwargs)  # type: ignore[no-any-return]

    def _enqueue(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        command = _Command(name, args, kwargs)
        self._queue.append(command)
        if self._task is None or self._task.done():
            # Its first step runs on the next turn, after every caller ready in this one.
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-batch")
        return command.future

    async def _run(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_pipeline]
            del self._queue[: self.max_pipeline]
            await self._send(batch)

    async def _send(self, batch: list[_Command]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for command in batch:
                    getattr(pipe, command.name)(*command.args, **command.kwargs)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: every caller of this batch sees it
            metrics().redis_errors.labels("pipeline").inc()
            for command in batch:
                if not command.future.done():
                    command.future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutdown): let the callers go, then stop
            for command in batch:
                if not command.future.done():
                    command.future.cancel()
            raise
        self.pipelines += 1
        self.commands += len(batch)
        for command, result in zip(batch, results, strict=True):
            if command.future.done():
                continue
            if isinstance(result, Exception):
                metrics().redis_errors.labels("command").inc()
                command.future.set_exception(result)
            else:
                command.future.set_result(result)


class BatchedRedisStorage(RedisStorage):
    """aiogram's ``RedisStorage`` whose ``get_state``, ``get_data`` and a non-empty
    ``set_data`` go through a batcher.

    The data write joins the batch since the conversation's thread (``bot.dialogue``) is kept
    in the data: most answers change the remembered topic, so most updates write it. One
    caller awaits its write before its next command, so its own commands keep their order.
    """

    def __init__(self, redis: Redis, batcher: RedisBatcher | None = None, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self.batcher = batcher or RedisBatcher(redis)

    async def get_state(self, key: StorageKey) -> str | None:
        value = await self.batcher.get(self.key_builder.build(key, "state"))
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return cast(str | None, value)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict) or not data:
            await super().set_data(key, data)  # aiogram's refusal, or its delete
            return
        redis_key = self.key_builder.build(key, "data")
        await self.batcher.set(redis_key, self.json_dumps(data), ex=self.data_ttl)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        value = await self.batcher.get(self.key_builder.build(key, "data"))
        if value is None:
            return {}
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        return cast(dict[str, Any], self.json_loads(value))


class RenewingRedisIsolation(RedisEventIsolation):
    """aiogram's Redis chat lock (one update of a chat at a time across workers), held as a
    lease: it expires ``lock_seconds`` after its last renewal and is renewed every third of that
    while the update is handled.

    aiogram's lock expires after a fixed 60 s: a worker killed (SIGKILL, OOM) while handling a
    chat's update left the chat frozen for a minute on every worker, its updates stuck in their
    webhook requests until the worker's 503 and the platform's retries (the cluster kill test).
    A short fixed expiry instead would let a slow update (the pace may hold a photo up to 30 s)
    lose its lock half-way, so the lock is renewed like the update's own lease
    (``bot.update_lease_seconds``, bot/middlewares/dedupe.py): a dead holder frees the chat
    within ``lock_seconds``, a live one keeps it as long as it works.

    Its commands are redis-py's ``Lock``'s (``SET NX PX`` with a token, the compare-and-delete
    and compare-and-expire scripts), sent through the :class:`RedisBatcher`: taking and
    releasing a lock were two round trips of their own per update, now in the loop turn's
    pipeline with the other updates' commands (issue 19's profile of the webhook workers).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        lock_seconds: float,
        batcher: RedisBatcher | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(redis, **kwargs)
        self.lock_seconds = lock_seconds
        self.batcher = batcher or RedisBatcher(redis)

    @property
    def _lock_ms(self) -> int:
        return int(self.lock_seconds * 1000)

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        redis_key = self.key_builder.build(key, "lock")
        token = uuid.uuid4().hex
        # The holder may be another worker: there is nothing to wait on but Redis.
        while not await self.batcher.set(redis_key, token, nx=True, px=self._lock_ms):  # noqa: ASYNC110
            await asyncio.sleep(LOCK_RETRY_SECONDS)
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew(redis_key, token, done))
        try:
            yield None
        finally:
            # The event, not only the cancel, ends the renewal (see _renew).
            done.set()
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                released = await self.batcher.eval(RELEASE_IF_HELD, [redis_key], [token])
            except Exception as exc:  # Redis away: the lock lapses by itself
                logger.warning("chat lock not released (%s)", type(exc).__name__)
            else:
                if not released:  # it lapsed (renewals failed): the update is done anyway
                    logger.warning("chat lock not released (no longer held)")

    async def _renew(self, redis_key: str, token: str, done: asyncio.Event) -> None:
        # A third of the expiry between renewals: two may fail (a Redis hiccup) before it lapses.
        # ``done`` is read after every await: on Python 3.11 a cancellation that reaches a task
        # as an awaited ``wait_for`` completes is dropped (CPython gh-86296, fixed in 3.12;
        # redis-py sends each command inside one), and a loop ended only by cancelling went on
        # renewing a finished update's lock for ever (the cluster kill test's stall).
        while not done.is_set():
            await asyncio.sleep(self.lock_seconds / 3)
            if done.is_set():
                return
            try:
                renewed = await self.batcher.eval(
                    RENEW_IF_HELD, [redis_key], [token, self._lock_ms]
                )
            except Exception as exc:
                if not done.is_set():
                    logger.warning("chat lock not renewed (%s)", type(exc).__name__)
            else:
                if not renewed and not done.is_set():
                    logger.warning("chat lock not renewed (no longer held)")
