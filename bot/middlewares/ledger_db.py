"""The update ledger without Redis: leases in this process, done marks in the database.

One of the two ledgers of :mod:`bot.middlewares.dedupe` (see there for the protocol and why
updates are taken, marked done and let go): :class:`DatabaseLedger`, with what batches its
database work, the done-mark reads of one loop turn (:class:`_DoneReads`) and the group commit
of the marks of updates that wrote nothing (:class:`_MarkWriter`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedupe import Lease, Seen
from services.common import read
from services.db.delivery_models import DONE, ProcessedUpdate
from services.db.session_hooks import has_work
from services.db.turn_reads import keys_match

logger = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@functools.cache
def _done_query(dialect: str) -> Select[int]:
    """Which of a platform's updates are done (built once per dialect: ``= ANY`` of one array
    on PostgreSQL, which the driver runs itself, also behind PgBouncer; an ``IN`` list
    expanded per call on SQLite; ``services.db.turn_reads.keys_match``)."""
    return select(ProcessedUpdate.update_id).where(
        ProcessedUpdate.platform == bindparam("platform"),
        keys_match(ProcessedUpdate.update_id, "update_ids", dialect),
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
        self.dialect = bind.dialect.name if bind is not None else "sqlite"
        # The updates in hand in this process, by (platform, update_id).
        self._held: dict[tuple[str, int], Lease] = {}
        self._marks = _MarkWriter(self)
        self._done_reads = _DoneReads(self)
        # Insert done marks (an old row of a worker's lease becomes done). One statement, run
        # with a list of rows (executemany): SQLAlchemy compiles it once. A multi-row VALUES
        # built per batch was compiled anew for every batch size (3 % of an update's CPU on
        # PostgreSQL by polling).
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
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
                            _done_query(self._ledger.dialect),
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
