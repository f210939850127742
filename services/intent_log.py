"""The bot's intent log: what it understood of each message, for the dashboard and transcripts.

The bot uses ``IntentLogWriter``, which keeps rows in memory and writes them in one multi-row
INSERT every ``interval`` seconds, in transactions of its own (it runs beside the updates, not
inside one, like the eligibility store and the outbox's sender): a transaction per message cost
the bot a database round trip on every update (on SQLite also a turn of the one write lock), a
visible share of its time per update under load. An escalation calls
:meth:`IntentLogWriter.flush_all` first, so the transcript an agent reads has every message up
to it: with several workers, ``flush_everywhere`` (set by :mod:`bot.intent_log_flush` when
Redis is shared) asks every worker to write what it holds and waits for their answers.

On SQLite the escalation's flush is written **in the escalating update's own session**
(``flush_all(session)``): by then the update has usually written already (the ``chat_users`` row of a first
contact, the FSM step being cleared), so it holds SQLite's one write lock until its commit, and a
batch on the writer's own connection waited for that lock until the 30 s busy timeout, failed,
and left the transcript without the rows (a user asking for a person waited 30 s). Written in the
update's transaction, the rows commit with the escalation or, if it rolls back, go back to the
queue (``ON_ROLLBACK`` hook, the same one the FSM storage uses).

What the batching risks, and why that is acceptable: rows still in memory when the process
dies are lost, at most ``interval`` seconds of statistics and transcript lines. Nothing a user
asked for lives only here; tickets, conversations and applications are written in their own
transactions. When the database cannot be reached the rows are kept and retried, up to ``limit``
rows, beyond which the oldest are dropped with a warning rather than growing without bound.
When it is there but refuses a batch, the rows are written one by one and only the ones it
refuses are dropped (counted in ``refused``): one bad row never holds back everybody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.db.handoff_models import IntentLogEntry
from services.db.session_hooks import on_rollback

logger = logging.getLogger(__name__)

MAX_LOGGED_TEXT: Final = 4096


def _row(
    clock: Clock,
    *,
    platform: str,
    chat_id: int,
    text: str | None,
    intent: str | None,
    confidence: float | None,
    fallback: bool,
    from_bot: bool = False,
) -> dict[str, Any]:
    return {
        "platform": str(platform),
        "chat_id": chat_id,
        "text": (text or "")[:MAX_LOGGED_TEXT] or None,
        "intent": intent,
        "confidence": confidence,
        "is_fallback": fallback,
        "from_bot": from_bot,
        "created_at": clock.now(),
    }


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _unreachable(exc: BaseException) -> bool:
    """Whether the database could not be reached (worth a retry), rather than refusing a row."""
    if isinstance(exc, OSError | OperationalError | InterfaceError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class IntentLogWriter:
    """Buffered intent log: ``record`` is instant, a background task writes in batches.

    The task starts with the first row and ends when nothing is left to write, so an idle bot
    (or a test's event loop) keeps no task alive. ``close`` writes what is left.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        interval: float = 0.25,
        limit: int = 50_000,
    ) -> None:
        if interval <= 0 or limit <= 0:
            raise ValueError("interval and limit must be positive")
        self._session_factory = session_factory
        self._clock = clock
        self.interval = interval
        self.limit = limit
        self._pending: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self.dropped = 0
        self.refused = 0
        # Asks every worker (this one included) to flush; None: this process is the only one.
        # Its argument is the escalating update's session on SQLite (see ``flush_all``).
        self.flush_everywhere: Callable[[AsyncSession | None], Awaitable[int]] | None = None

    @property
    def pending(self) -> int:
        """Rows recorded but not written yet."""
        return len(self._pending)

    def record(
        self,
        *,
        platform: str,
        chat_id: int,
        text: str | None,
        intent: str | None,
        confidence: float | None,
        fallback: bool,
        from_bot: bool = False,
    ) -> None:
        """Queue one row; it reaches the database within ``interval`` seconds.

        ``from_bot``: the line is the bot's answer (for the transcript, not the statistics).
        """
        self._pending.append(
            _row(
                self._clock,
                platform=platform,
                chat_id=chat_id,
                text=text,
                intent=intent,
                confidence=confidence,
                fallback=fallback,
                from_bot=from_bot,
            )
        )
        self._trim()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="intent-log")

    def record_answer(self, *, platform: str, chat_id: int, text: str) -> None:
        """Queue the bot's answer to a chat (same batch as the user's lines: no extra write)."""
        self.record(
            platform=platform,
            chat_id=chat_id,
            text=text,
            intent=None,
            confidence=None,
            fallback=False,
            from_bot=True,
        )

    async def flush_all(self, session: AsyncSession | None = None) -> None:
        """Write what this worker holds and, with several workers, what each of them holds.

        ``session``: the escalating update's session. On SQLite this worker's rows are written
        in it (:meth:`flush_in`), because that session may already hold the one write lock; on
        another database it is not needed (a second connection inserting log rows waits for no
        lock of the update's) and the rows are written in a transaction of their own.
        """
        joined = session if session is not None and _is_sqlite(session) else None
        if self.flush_everywhere is not None:
            await self.flush_everywhere(joined)
        elif joined is not None:
            await self.flush_in(joined)
        else:
            await self.flush()

    async def flush_in(self, session: AsyncSession) -> int:
        """Write every queued row in ``session``'s transaction; return how many were queued.

        For SQLite, where ``session`` may hold the write lock that a connection of the writer's
        own would wait for until the busy timeout. The rows are taken without waiting for the
        writer's lock: a batch being written at this moment on the writer's own connection may
        be waiting for this very session's lock, so waiting for it would wait for the busy
        timeout again. That batch (rows queued at least one ``interval`` ago, whose write has
        started) lands right after this update commits; everything still queued is here.
        If the update does not commit, the rows go back to the front of the queue.
        """
        if not self._pending:
            return 0
        rows, self._pending = self._pending, []  # no await in between: no row is lost or doubled
        try:
            await session.execute(insert(IntentLogEntry), rows)
        except Exception as exc:
            # The escalation must not fail because of the statistics: the rows wait for the
            # background writer (which writes one by one if one of them is refused).
            self._keep(rows, exc)
            return 0
        on_rollback(session, lambda: self._requeue(rows))
        return len(rows)

    def _requeue(self, rows: list[dict[str, Any]]) -> None:
        self._pending[:0] = rows
        self._trim()
        if self._pending and not self._closed and (self._task is None or self._task.done()):
            with contextlib.suppress(RuntimeError):  # no running loop: close() writes them
                self._task = asyncio.get_running_loop().create_task(self._run(), name="intent-log")

    async def flush(self) -> int:
        """Write every queued row now; return how many were written (0 if the database failed).

        A failure is logged and the rows are kept for the next try: a caller that flushes
        first (an escalation) must not fail because of the statistics.
        """
        async with self._lock:
            if not self._pending:
                return 0
            rows, self._pending = self._pending, []
            try:
                await self._insert(rows)
            except Exception as exc:  # a writer that raised would lose its batch
                if _unreachable(exc):
                    self._keep(rows, exc)
                    return 0
                # The database is there but refused something in the batch: one bad row must
                # not hold back everybody else's, so the rows go in one by one.
                return await self._insert_one_by_one(rows)
            return len(rows)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        async with self._session_factory() as session:
            await session.execute(insert(IntentLogEntry), rows)
            await session.commit()

    async def _insert_one_by_one(self, rows: list[dict[str, Any]]) -> int:
        written = 0
        for index, row in enumerate(rows):
            try:
                await self._insert([row])
            except Exception as exc:  # a writer that raised would lose its batch
                if _unreachable(exc):
                    self._keep(rows[index:], exc)
                    return written
                self.refused += 1
                logger.warning("intent log: one row refused and dropped (%s)", type(exc).__name__)
            else:
                written += 1
        return written

    def _keep(self, rows: list[dict[str, Any]], exc: BaseException) -> None:
        self._pending[:0] = rows
        self._trim()
        logger.warning(
            "intent log: %d rows kept for the next try (%s)",
            len(self._pending),
            type(exc).__name__,
        )

    async def close(self) -> None:
        """Write what is left and let the background task end (it is not cancelled mid-write)."""
        self._closed = True
        task = self._task
        if task is not None and not task.done():
            self._wake.set()
            await task
        await self.flush()

    def _trim(self) -> None:
        excess = len(self._pending) - self.limit
        if excess > 0:
            del self._pending[:excess]
            self.dropped += excess
            logger.warning("intent log: %d oldest rows dropped (database unavailable)", excess)

    async def _run(self) -> None:
        while self._pending:
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            await self.flush()
            if self._closed:
                return
