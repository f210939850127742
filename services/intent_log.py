"""The bot's intent log: what it understood of each message, for the dashboard and transcripts.

The bot uses ``IntentLogWriter``, which keeps rows in memory and writes them in one multi-row
INSERT every ``interval`` seconds, in transactions of its own (it runs beside the updates, not
inside one, like the eligibility store and the outbox's sender): a transaction per message cost
the bot a database round trip on every update (on SQLite also a turn of the one write lock), a
visible share of its time per update under load. An escalation calls
:meth:`IntentLogWriter.flush_all` first, so the transcript an agent reads has every message up
to it: with several workers, ``flush_everywhere`` (set by :mod:`bot.intent_log_flush` when
Redis is shared) asks every worker to write what it holds and waits for their answers.

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
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import Clock
from services.db.handoff_models import IntentLogEntry

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
        self.flush_everywhere: Callable[[], Awaitable[int]] | None = None

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

    async def flush_all(self) -> None:
        """Write what this worker holds and, with several workers, what each of them holds."""
        if self.flush_everywhere is not None:
            await self.flush_everywhere()
        else:
            await self.flush()

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
