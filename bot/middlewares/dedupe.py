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
- **Database** (no Redis, so one process: :class:`DatabaseLedger`): the lease is held in this
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
import datetime as dt
import enum
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis
from sqlalchemy import Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.platform import platform_of
from bot.redis_batch import RELEASE_IF_HELD, RENEW_IF_HELD, RedisBatcher
from bot.send_ledger import UpdateScope, current_update
from services.common import read
from services.db.delivery_models import DONE, IN_PROGRESS, ProcessedUpdate
from services.db.session_hooks import has_work

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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache
def _done_query() -> Select[int]:
    """Which of a platform's updates are done (built once; the IN list expands per call)."""
    return select(ProcessedUpdate.update_id).where(
        ProcessedUpdate.platform == bindparam("platform"),
        ProcessedUpdate.update_id.in_(bindparam("update_ids", expanding=True)),
        ProcessedUpdate.state == DONE,
    )


class DatabaseLedger:
    """The ledger without Redis: leases in this process, done marks in ``processed_updates``.

    Without Redis one process answers the bots' updates: a ``tamin-bot webhook`` worker will
    not start without ``REDIS_URL`` (``app/roles.py``), and by polling Telegram serves one
    poller. So the lease (who handles an update now) is kept here, as :class:`MemoryLedger`
    keeps it, and costs no write; it dies with the process, and a killed process's updates
    are handled afresh when they come again. What must survive a kill -9 is the *done* mark:

    - **take**: a read by key (on SQLite, on the event loop; ``services.common.read``): a
      done update is dropped, one held here is busy;
    - **done**, for an update that wrote anything: the mark joins the handler's own
      transaction (:meth:`complete_in`), so its records and the mark commit together or not
      at all;
    - **done**, for an update that wrote nothing (most: a question answered from the record
      or the rules): written with the other updates' marks of the moment, one ``INSERT`` and
      one commit for them all (:class:`_MarkWriter`); the update waits for that commit, so it
      is confirmed to the platform only once its mark is durable.

    Why: a lease written in a transaction of its own, and a commit per update for its mark,
    were two turns of SQLite's one write lock per update; under load each turn lasts two
    thread hand-offs of a busy event loop, and the assistant ran at 0.09-0.17 of the echo
    bot by polling (README, issue 19).
    """

    # The leases live as long as this process: nothing expires, nothing is renewed.
    lease_seconds: None = None

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.now = now
        bind = session_factory.kw.get("bind")
        self._dialect = bind.dialect.name if bind is not None else "sqlite"
        # The updates in hand in this process, by (platform, update_id).
        self._held: dict[tuple[str, int], Lease] = {}
        self._marks = _MarkWriter(self)
        self._done_reads = _DoneReads(self)
        # Insert done marks (an old row of a worker's lease becomes done). One statement, run
        # with a list of rows (executemany): SQLAlchemy compiles it once. A multi-row VALUES
        # built per batch was compiled anew for every batch size (3 % of an update's CPU on
        # PostgreSQL by polling).
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = insert(ProcessedUpdate)
        self.mark_statement = statement.on_conflict_do_update(
            index_elements=["platform", "update_id"],
            set_={"state": DONE, "done_at": statement.excluded.done_at},
        )

    async def write_marks(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        """Done marks in ``session``'s transaction: SQLAlchemy Core's executemany on its
        connection, not the ORM's bulk insert (``session.execute`` with a list of rows)."""
        connection = await session.connection()
        await connection.execute(self.mark_statement, rows)

    def _mark_row(self, lease: Lease) -> dict[str, Any]:
        now = self.now()
        return {
            "platform": lease.platform,
            "update_id": lease.update_id,
            "state": DONE,
            "lease_until": now,
            "holder": lease.holder,
            "taken_at": now,
            "done_at": now,
        }

    async def take(self, platform: str, update_id: int) -> Lease | Seen:
        key = (platform, update_id)
        if self._marks.holds(key):  # handled, its mark on its way to the database
            return Seen.DONE
        if key in self._held:
            return Seen.BUSY
        lease = Lease(self, platform, update_id)
        self._held[key] = lease  # before the read: a second delivery meanwhile is busy
        try:
            # With the other updates taken in this loop turn: one select for them all.
            done = await self._done_reads.is_done(key)
        except BaseException:
            del self._held[key]
            raise
        if done:
            del self._held[key]
            return Seen.DONE
        return lease

    async def renew(self, lease: Lease) -> None:
        """Never called (``lease_seconds`` is None): the lease lives as long as this process."""

    async def release(self, lease: Lease) -> None:
        self.settled(lease)

    def settled(self, lease: Lease) -> None:
        key = (lease.platform, lease.update_id)
        if self._held.get(key) is lease:
            del self._held[key]

    async def complete(self, lease: Lease) -> None:
        try:
            await self._marks.write((lease.platform, lease.update_id), self._mark_row(lease))
        finally:
            self.settled(lease)

    async def complete_in(self, lease: Lease, session: AsyncSession) -> bool:
        if not has_work(session):
            return False  # the update wrote nothing: its mark goes with the others' (complete)
        await self.write_marks(session, [self._mark_row(lease)])
        return True

    async def close(self) -> None:
        """Write the marks still queued (at shutdown)."""
        await self._marks.close()

    @property
    def mark_batches(self) -> int:
        """Group commits of done marks so far (tests)."""
        return self._marks.batches

    @property
    def done_selects(self) -> int:
        """Selects of done marks so far (tests, benchmarks)."""
        return self._done_reads.selects


class _DoneReads:
    """The done-mark reads of the updates taken in one turn of the event loop, in one select.

    Under load the poller feeds a ``getUpdates`` answer's updates (up to 100) together, and
    the webhook requests read in one turn arrive together: each take was a round trip of its
    own to PostgreSQL (a third of an update's database reads by polling). :meth:`is_done`
    queues the key and waits; a task started for the turn reads every key queued by then, one
    ``SELECT … WHERE platform = … AND update_id IN (…)`` per platform, and answers each. Its
    first step runs on the next turn, after every caller ready in this one: a lone update
    waits one loop turn, as :class:`~bot.redis_batch.RedisBatcher`'s commands do. A failed
    select fails the takes of its batch, as a failed read failed its one take.
    """

    def __init__(self, ledger: DatabaseLedger) -> None:
        self._ledger = ledger
        self._queued: dict[tuple[str, int], asyncio.Future[bool]] = {}
        self._task: asyncio.Task[None] | None = None
        self.selects = 0

    def is_done(self, key: tuple[str, int]) -> asyncio.Future[bool]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queued[key] = future  # the ledger holds a key once: no second waiter for it
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="update-done-reads")
        return future

    async def _run(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, {}
            by_platform: dict[str, list[int]] = {}
            for platform, update_id in batch:
                by_platform.setdefault(platform, []).append(update_id)
            done: set[tuple[str, int]] = set()
            try:
                async with self._ledger.session_factory() as session:
                    for platform, update_ids in by_platform.items():
                        rows = await read(
                            session,
                            _done_query(),
                            {"platform": platform, "update_ids": update_ids},
                        )
                        done.update((platform, update_id) for (update_id,) in rows)
                        self.selects += 1
            except Exception as exc:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutdown): let the callers go, then stop
                for future in batch.values():
                    future.cancel()
                raise
            for key, future in batch.items():
                if not future.done():  # its caller may have been cancelled meanwhile
                    future.set_result(key in done)


class _MarkWriter:
    """The done marks of updates that wrote nothing, written together (group commit).

    ``write`` queues a mark and waits for its commit, so an update is confirmed to the platform
    only once its mark is durable, as when the mark joins its own transaction. A writer task
    takes everything queued, inserts it in one statement and commits; what arrives meanwhile
    makes the next batch, so batches grow with the load and a lone mark waits one loop turn.
    A failed batch is logged and its updates go on as handled (they may be handled again if
    delivered again; see :class:`DatabaseLedger`).
    """

    def __init__(self, ledger: DatabaseLedger) -> None:
        self._ledger = ledger
        # Queued and being written, until committed: a repeat meanwhile is already done.
        self._queued: dict[tuple[str, int], dict[str, Any]] = {}
        self._writing: dict[tuple[str, int], dict[str, Any]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed batches, for tests

    def holds(self, key: tuple[str, int]) -> bool:
        return key in self._queued or key in self._writing

    async def write(self, key: tuple[str, int], row: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        self._queued[key] = row
        done: asyncio.Future[None] = loop.create_future()
        self._waiters.append(done)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="update-marks")
        # Shielded: a cancelled update leaves its mark to the batch, which goes on.
        await asyncio.shield(done)

    async def close(self) -> None:
        task = self._task
        if task is not None and not task.done():
            await task

    async def _run(self) -> None:
        await asyncio.sleep(0)  # the updates that finished together join this batch
        while self._queued:
            self._writing, self._queued = self._queued, {}
            waiters, self._waiters = self._waiters, []
            try:
                async with self._ledger.session_factory() as session, session.begin():
                    await self._ledger.write_marks(session, list(self._writing.values()))
                self.batches += 1
            except Exception as exc:
                logger.warning(
                    "update ledger: %d done marks not written (%s)",
                    len(self._writing),
                    type(exc).__name__,
                )
            finally:
                self._writing = {}
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)


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
