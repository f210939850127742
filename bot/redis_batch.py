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
one at a time), and the flood counter's ``INCR`` (commutative). One caller awaits each answer before its next
command, so its own commands keep their order. :class:`BatchedRedisStorage` is aiogram's
``RedisStorage`` with its two reads and its data write batched; its other writes are aiogram's.

Written here because neither redis-py nor aiogram batches across callers (redis-py's pipeline
is for one caller's commands); the pipeline itself is redis-py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any, cast

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from services.metrics import metrics

logger = logging.getLogger(__name__)

# Commands per pipeline at most; the rest go in the next one, sent at once after it.
MAX_PIPELINE = 1000


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
    """

    def __init__(self, redis: Redis, *, lock_seconds: float, **kwargs: Any) -> None:
        super().__init__(redis, **kwargs)
        self.lock_seconds = lock_seconds

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        redis_key = self.key_builder.build(key, "lock")
        lock = Lock(self.redis, redis_key, timeout=self.lock_seconds)
        await lock.acquire()
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew(lock, done))
        try:
            yield None
        finally:
            # The event, not only the cancel, ends the renewal: a cancel that reaches it while
            # redis-py sends the extend is lost (see _renew), and the loop would go on
            # renewing, this exit would wait for it for ever and the chat stay locked.
            done.set()
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await lock.release()
            except Exception as exc:  # expired (the renewal failed): the update is done anyway
                logger.warning("chat lock not released (%s)", type(exc).__name__)

    async def _renew(self, lock: Lock, done: asyncio.Event) -> None:
        # A third of the expiry between renewals: two may fail (a Redis hiccup) before it lapses.
        # ``done`` is read after every await. On Python 3.11 redis-py (8.x) sends each
        # command inside ``asyncio.wait_for`` (its socket timeout), and 3.11's wait_for drops a
        # cancellation that arrives as the send completes (CPython gh-86296, fixed in 3.12):
        # the extend then returns normally, as if never cancelled. Cancelling alone left this
        # loop renewing a finished update's lock for ever (the cluster kill test's stall).
        while not done.is_set():
            await asyncio.sleep(self.lock_seconds / 3)
            if done.is_set():
                return
            try:
                await lock.extend(self.lock_seconds, replace_ttl=True)
            except Exception as exc:
                if not done.is_set():
                    logger.warning("chat lock not renewed (%s)", type(exc).__name__)
