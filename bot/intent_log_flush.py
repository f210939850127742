"""Every worker's intent log flushed before an escalation reads the transcript.

Each worker batches its intent-log rows in memory (:class:`services.intent_log.IntentLogWriter`,
a quarter of a second at most). With several webhook workers behind a proxy, a user's lines
are spread over them: the line written through worker B may still be in B's buffer when the
escalation on worker A reads the transcript from the database. So an escalation asks every
worker to write what it holds, and waits until each has answered:

1. A publishes a fresh request id on the Redis channel ``<prefix>:intent-log:flush``. Redis
   answers PUBLISH with the number of subscribers that received it: that is how many workers
   A waits for (every worker with a dispatcher subscribes at start-up, A included). No list of
   live workers is kept, so a worker that died or was never started is never waited for.
2. Each worker, on a request, flushes its writer (the writer's lock makes that wait for a
   batch being written at the same moment) and pushes one acknowledgement on
   ``<prefix>:intent-log:ack:<id>`` (which expires after a minute).
3. A pops as many acknowledgements as there were receivers, for ``timeout`` seconds at most.
   Past that (a worker whose database is unreachable keeps its rows and retries them) the
   escalation goes ahead with what the database holds and logs how many did not answer.

On SQLite (several workers on one file) the escalating update's own rows are written in its
session (``IntentLogWriter.flush_in``) and A does not wait for the others: that session holds
SQLite's one write lock until it commits, so no other worker can write before then, and every
wait would end at ``timeout``. The request is still sent, so their rows land right after.

Why not the other ways: writing each row through to the database cost a round trip per
update (the reason the writer batches); waiting a fixed batch window would be a guess under
load, when an event loop may be late by more than the window. The request costs two Redis
round trips per worker, only on an escalation, never on an ordinary update.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy.ext.asyncio import AsyncSession

from services.intent_log import IntentLogWriter

logger = logging.getLogger(__name__)

# An acknowledgement list outlives any wait for it; Redis keys always carry a TTL here.
_ACK_TTL_S = 60


class IntentLogFlushChannel:
    """Subscribe this worker to flush requests, and send one when escalating."""

    def __init__(
        self,
        redis: Redis,
        writer: IntentLogWriter,
        *,
        prefix: str = "tamin",
        timeout: float = 2.0,
    ) -> None:
        self._redis = redis
        self._writer = writer
        self.channel = f"{prefix}:intent-log:flush"
        self._ack_prefix = f"{prefix}:intent-log:ack:"
        self.timeout = timeout
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # How many flush requests this worker has answered (for tests and logs).
        self.answered = 0

    @property
    def listening(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Subscribe (before returning, so a request sent right after reaches this worker)."""
        if self.listening:
            return
        self._stopping = asyncio.Event()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self._pubsub = pubsub
        self._task = asyncio.create_task(self._listen(pubsub), name="intent-log-flush")
        self._writer.flush_everywhere = self.request

    async def stop(self) -> None:
        self._writer.flush_everywhere = None
        task, pubsub = self._task, self._pubsub
        self._task = self._pubsub = None
        if task is not None:
            # The event ends the loop if the cancel is lost inside a redis-py command (Python
            # 3.11's wait_for can drop it: bot/redis_batch.py, RenewingRedisIsolation._renew).
            self._stopping.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _listen(self, pubsub: PubSub) -> None:
        while not self._stopping.is_set():
            try:
                message = await pubsub.get_message(timeout=30.0)
                if message is None or message.get("type") != "message":
                    continue
                request = message["data"]
                request_id = request.decode() if isinstance(request, bytes) else str(request)
                await self._writer.flush()
                key = self._ack_prefix + request_id
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.rpush(key, 1)
                    pipe.expire(key, _ACK_TTL_S)
                    await pipe.execute()
                self.answered += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: keep listening
                logger.warning("intent log: flush request not answered (%s)", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def request(self, session: AsyncSession | None = None) -> int:
        """Ask every worker to flush and wait for them; return how many answered.

        ``session``: the escalating update's SQLite session (see the module's docstring): this
        worker's rows are written in it and the others are asked but not waited for (0).
        """
        if session is not None:
            await self._writer.flush_in(session)
        else:
            await self._writer.flush()  # this worker's own rows first, without waiting for Redis
        request_id = uuid.uuid4().hex
        key = self._ack_prefix + request_id
        try:
            receivers = int(await self._redis.publish(self.channel, request_id))
        except Exception as exc:  # the transcript then holds what the database already has
            logger.warning("intent log: flush request not sent (%s)", type(exc).__name__)
            return 0
        if session is not None:
            # They cannot write before this update commits (its session holds SQLite's lock).
            return 0
        answered = 0
        deadline = time.monotonic() + self.timeout
        try:
            while answered < receivers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # BLPOP's timeout is whole seconds in old servers; a float works since Redis 6.
                popped = await self._redis.blpop([key], timeout=max(remaining, 0.01))
                if popped is None:
                    break
                answered += 1
        except Exception as exc:
            logger.warning("intent log: flush answers not read (%s)", type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await self._redis.delete(key)
        if answered < receivers:
            logger.warning(
                "intent log: %d of %d workers flushed before the escalation",
                answered,
                receivers,
            )
        return answered
