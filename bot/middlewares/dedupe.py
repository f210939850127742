"""Handle each update once, and let go of one that failed (issue 17, finding 2).

Telegram and Bale deliver *at least once*: a webhook request not answered 2xx, or a polled
update whose offset was not confirmed, comes again (after a crash, a timeout, a 503). So the
bot confirms an update only once it is handled (``bot.webhook`` answers 200 after the handler,
``bot.polling`` moves the offset only past finished updates), and this middleware makes the
repeats harmless. Each ``(platform, update_id)`` goes through a ledger:

- **take**: the first worker records it *in progress* with a short lease
  (``bot.update_lease_seconds``, renewed every third of it while the handler runs). A second
  arrival while the lease holds is *busy*: the webhook answers 503 so the platform sends it
  again later, polling retries it itself; neither handles it twice at once. A lease that ran
  out (its worker was killed) is taken over.
- **done**: recorded once the handler's database transaction has committed. A repeat of a done
  update is dropped.
- **release**: a handler that fails (an exception, a cancellation at shutdown) lets go of the
  lease, so the update's next delivery is handled afresh. The user still gets the polite error
  answer of :mod:`bot.handlers.errors`; no traceback.

Two ledgers, by deployment:

- **Redis** (``REDIS_URL`` set, shared by every worker): ``SET key progress:<holder> NX PX
  lease``, then ``SET key done EX ttl`` after the commit. The done mark is a second write after
  the database's commit: a worker killed between the two leaves the update to be handled again
  when its lease runs out (a window of one Redis round trip).
- **Database** (no Redis, so one process: :class:`bot.middlewares.ledger_db.DatabaseLedger`,
  in a module of its own): the lease is held in this
  process; the *done* marks are rows of ``processed_updates``. An update that wrote anything
  has its mark written **in its own transaction** (:class:`bot.middlewares.db.UnitOfWorkMiddleware`
  asks :meth:`Lease.complete_in`), so its records and the mark commit together or not at all;
  an update that wrote nothing has its mark written with others' in one group commit. The
  marks survive a kill -9 (the in-memory set they replaced did not: 27 % of webhook updates
  were answered twice after a kill). Rows are deleted by retention after
  ``bot.processed_updates_hours``.

A worker killed after its reply left but before the commit is re-run on the next delivery; its
*sends* are kept from going out twice by the send ledger (:mod:`bot.send_ledger`): the update
is put in its scope here, and every message the handler sends is recorded the instant it has
left.

:class:`MemoryLedger` is the same protocol in one process (tests, tools).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from bot.platform import platform_of
from bot.redis_batch import RELEASE_IF_HELD, RENEW_IF_HELD, RedisBatcher
from bot.send_ledger import UpdateScope, current_update
from services.db.delivery_models import DONE, IN_PROGRESS

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 10.0
DONE_TTL_SECONDS = 48 * 3600


class Seen(enum.Enum):
    """Why an update was not taken."""

    DONE = "done"  # handled before: drop it
    BUSY = "busy"  # another worker holds it now: have it sent again later


# What a middleware returns for an update another worker holds (the webhook answers 503).
BUSY = Seen.BUSY


class Lease:
    """A worker's hold on one update, from take to done or release."""

    __slots__ = ("done", "holder", "ledger", "platform", "update_id")

    def __init__(self, ledger: UpdateLedger, platform: str, update_id: int) -> None:
        self.ledger = ledger
        self.platform = platform
        self.update_id = update_id
        self.holder = secrets.token_hex(8)
        self.done = False

    async def complete_in(self, session: AsyncSession) -> bool:
        """Add the done mark to the handler's transaction, if the ledger is that database."""
        return await self.ledger.complete_in(self, session)


class UpdateLedger(Protocol):
    @property
    def lease_seconds(self) -> float | None:
        """How long a lease lasts unless renewed; None: as long as its process (no renewal)."""

    async def take(self, platform: str, update_id: int) -> Lease | Seen:
        """Take the update (a lease), or say why not."""

    async def renew(self, lease: Lease) -> None: ...

    async def release(self, lease: Lease) -> None: ...

    async def complete(self, lease: Lease) -> None:
        """Mark the update done (after the handler's commit)."""

    async def complete_in(self, lease: Lease, session: AsyncSession) -> bool:
        """Add the done mark to ``session``'s transaction; False when the ledger is elsewhere."""

    def settled(self, lease: Lease) -> None:
        """The update, marked done in the handler's transaction, is out of this worker's hands."""


class MemoryLedger:
    """One process's ledger: done updates remembered ``ttl`` seconds, at most ``max_size``."""

    def __init__(
        self,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        ttl: float = 600.0,
        max_size: int = 100_000,
    ) -> None:
        self.lease_seconds = lease_seconds
        self.ttl = ttl
        self.max_size = max_size
        # key -> (holder or "" when done, until)
        self._entries: dict[str, tuple[str, float]] = {}

    def _prune(self, now: float) -> None:
        while self._entries:
            key, (_, until) = next(iter(self._entries.items()))
            if until > now and len(self._entries) < self.max_size:
                break
            del self._entries[key]

    async def take(self, platform: str, update_id: int) -> Lease | Seen:
        now = time.monotonic()
        self._prune(now)
        key = f"{platform}:{update_id}"
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return Seen.DONE if entry[0] == "" else Seen.BUSY
        lease = Lease(self, platform, update_id)
        self._entries.pop(key, None)
        self._entries[key] = (lease.holder, now + self.lease_seconds)
        return lease

    def _holds(self, lease: Lease) -> bool:
        entry = self._entries.get(f"{lease.platform}:{lease.update_id}")
        return entry is not None and entry[0] == lease.holder

    async def renew(self, lease: Lease) -> None:
        if self._holds(lease):
            key = f"{lease.platform}:{lease.update_id}"
            self._entries[key] = (lease.holder, time.monotonic() + self.lease_seconds)

    async def release(self, lease: Lease) -> None:
        if self._holds(lease):
            del self._entries[f"{lease.platform}:{lease.update_id}"]

    async def complete(self, lease: Lease) -> None:
        key = f"{lease.platform}:{lease.update_id}"
        self._entries.pop(key, None)
        self._entries[key] = ("", time.monotonic() + self.ttl)

    async def complete_in(self, lease: Lease, session: AsyncSession) -> bool:
        return False

    def settled(self, lease: Lease) -> None:
        """Nothing kept per lease once the update is done."""


class RedisLedger:
    """The ledger every worker shares through Redis (the take joins the update's pipeline)."""

    def __init__(
        self,
        redis: Redis | RedisBatcher,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        done_ttl: int = DONE_TTL_SECONDS,
        prefix: str = "tamin:update",
    ) -> None:
        self.batcher = redis if isinstance(redis, RedisBatcher) else RedisBatcher(redis)
        self.lease_seconds = lease_seconds
        self.done_ttl = done_ttl
        self.prefix = prefix

    def _key(self, lease: Lease) -> str:
        return f"{self.prefix}:{lease.platform}:{lease.update_id}"

    @property
    def _lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)

    async def take(self, platform: str, update_id: int) -> Lease | Seen:
        lease = Lease(self, platform, update_id)
        key = self._key(lease)
        value = f"{IN_PROGRESS}:{lease.holder}"
        for _ in range(2):  # a lease that expires between the SET and the GET: once more
            if await self.batcher.set(key, value, nx=True, px=self._lease_ms):
                return lease
            held = await self.batcher.get(key)
            if held is not None:
                text = held.decode() if isinstance(held, bytes) else str(held)
                return Seen.DONE if text == DONE else Seen.BUSY
        return Seen.BUSY

    async def renew(self, lease: Lease) -> None:
        value = f"{IN_PROGRESS}:{lease.holder}"
        await self.batcher.eval(RENEW_IF_HELD, [self._key(lease)], [value, self._lease_ms])

    async def release(self, lease: Lease) -> None:
        value = f"{IN_PROGRESS}:{lease.holder}"
        await self.batcher.eval(RELEASE_IF_HELD, [self._key(lease)], [value])

    async def complete(self, lease: Lease) -> None:
        await self.batcher.set(self._key(lease), DONE, ex=self.done_ttl)

    async def complete_in(self, lease: Lease, session: AsyncSession) -> bool:
        return False

    def settled(self, lease: Lease) -> None:
        """Nothing kept per lease once the update is done."""


class DedupeMiddleware(BaseMiddleware):
    """Outer update middleware: take each ``(platform, update_id)`` before handling it.

    Puts the :class:`Lease` in ``data["update_lease"]`` for the unit of work, which writes the
    done mark in its own commit when the ledger is the database. Returns :data:`BUSY` for an
    update another worker holds.
    """

    def __init__(self, ledger: UpdateLedger) -> None:
        self.ledger = ledger

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        platform = str(platform_of(data["bot"]))
        lease = await self.ledger.take(platform, event.update_id)
        if lease is Seen.DONE:
            logger.info("Dropped duplicate update %s from %s", event.update_id, platform)
            return None
        if lease is Seen.BUSY:
            logger.info("Update %s from %s is in hand elsewhere", event.update_id, platform)
            return BUSY
        assert isinstance(lease, Lease)
        data["update_lease"] = lease
        period = self.ledger.lease_seconds
        renewer = None if period is None else _Renewer(self.ledger, lease, period / 3)
        # The handler's sends are recorded under this update (bot.send_ledger): a re-run after
        # a kill does not send again what this attempt sent.
        scope = current_update.set(UpdateScope(platform, event.update_id))
        try:
            result = await handler(event, data)
        except BaseException:
            current_update.reset(scope)
            if renewer is not None:
                renewer.cancel()
            if not lease.done:
                # Failed (or cancelled at shutdown): its next delivery is handled afresh.
                await asyncio.shield(self._release(lease))
            else:  # failed after its commit: done all the same
                self.ledger.settled(lease)
            raise
        current_update.reset(scope)
        if renewer is not None:
            renewer.cancel()
        if not lease.done:
            # Not written in the handler's transaction (a Redis ledger, an update that wrote
            # nothing, a throttled one): marked now, after any commit.
            await self.ledger.complete(lease)
            lease.done = True
        else:
            self.ledger.settled(lease)
        return result

    async def _release(self, lease: Lease) -> None:
        try:
            await self.ledger.release(lease)
        except Exception as exc:  # the lease then simply runs out
            logger.warning("could not release update %s: %s", lease.update_id, exc)


class _Renewer:
    """Renews a lease every third of its length while the handler runs.

    A timer, not a task per update: most updates finish long before the first renewal, and a
    timer costs a heap entry where a task costs a coroutine and two scheduler steps.
    """

    __slots__ = ("_handle", "_lease", "_ledger", "_period", "_stopped", "_task")

    def __init__(self, ledger: UpdateLedger, lease: Lease, period: float) -> None:
        self._ledger = ledger
        self._lease = lease
        self._period = period
        self._task: asyncio.Task[None] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = False
        self._schedule()

    def _schedule(self) -> None:
        if self._stopped:  # a renewal that finished after cancel(): no further one
            return
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(self._period, self._fire)

    def _fire(self) -> None:
        if not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        try:
            await self._ledger.renew(self._lease)
        except Exception as exc:
            logger.warning(
                "could not renew the lease of update %s: %s", self._lease.update_id, exc
            )
        self._schedule()

    def cancel(self) -> None:
        """No further renewal. One under way is left to finish: cancelled inside its
        transaction, a connection could be left holding the database's write lock."""
        self._stopped = True
        if self._handle is not None:
            self._handle.cancel()
