"""Where an eligibility inquiry is stored with its tracking code, before the answer is shown.

Transactions: the group-commit store below is, with the outbox, one of the two places in the
services that commit their own transactions instead of leaving it to the caller's unit of work:
it writes the inquiries of many updates at once, in sessions of its own.

Every inquiry is stored with a new random twelve-digit code. A clash is so unlikely that the
unique constraint is the check (no look-up first); on a clash the row is stored again with a
new code, so the code the user is shown is always the stored one.

- :class:`SessionInquiryStore` writes the row in the caller's session, which its unit of work
  commits. Used where inquiries are few (tests, scripts).
- :class:`GroupCommitInquiryStore` is the bot's: one process-wide writer that stores the
  inquiries of concurrent updates in one multi-row ``INSERT … ON CONFLICT DO NOTHING
  RETURNING`` and one commit (group commit). Each caller still waits for the commit of its own
  row before it answers, so nothing is less durable and no code is shown before it is stored;
  only the per-transaction cost is shared. Under load a transaction per inquiry was a large
  share of an eligibility update's CPU: on SQLite two thread hand-offs and a turn of the one
  write lock, on PostgreSQL three round trips. With nothing else waiting a batch is one row, written
  at once, so a lone inquiry waits no longer than before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final, Protocol

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from services.common import insert_unless_taken, random_digits
from services.db.models import EligibilityInquiry

logger = logging.getLogger(__name__)

TRACKING_CODE_DIGITS: Final = 12
STORE_ATTEMPTS: Final = 3
# Rows per INSERT: 8 parameters a row stays far below SQLite's and PostgreSQL's limits (32 766).
MAX_BATCH: Final = 500

CodeMaker = Callable[[], str]


def new_code() -> str:
    """A fresh random tracking code (looked up at call time, so tests can replace it)."""
    return random_digits(TRACKING_CODE_DIGITS)


class TrackingCodeClash(RuntimeError):
    """Every attempt drew a code that was already stored (never seen outside tests)."""


class InquiryStore(Protocol):
    async def store(self, values: dict[str, Any]) -> str:
        """Store one inquiry row (every column but ``tracking_code``); return its code once the
        row is committed."""


async def relax_durability(connection: AsyncConnection) -> None:
    """On PostgreSQL, let this transaction's commit skip the wait for the WAL flush.

    The inquiry record is a log of an answer already computed, not a decision: a database
    crash can lose at most the last fraction of a second of such records, and a disk sync
    leaves every inquiry. Tickets, applications and identity changes keep full durability.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SET LOCAL synchronous_commit TO OFF"))


class SessionInquiryStore:
    """The inquiry row in the caller's session and transaction: its unit of work commits."""

    def __init__(self, session: AsyncSession, make_code: CodeMaker | None = None) -> None:
        self._session = session
        self._make_code = make_code

    async def store(self, values: dict[str, Any]) -> str:
        for _attempt in range(STORE_ATTEMPTS):
            code = (self._make_code or new_code)()
            row = {**values, "tracking_code": code}
            if await insert_unless_taken(self._session, EligibilityInquiry, row) is not None:
                return code
        raise TrackingCodeClash()


class _Waiting:
    __slots__ = ("attempts", "code", "future", "values")

    def __init__(self, values: dict[str, Any], future: asyncio.Future[str]) -> None:
        self.values = values
        self.future = future
        self.code = ""
        self.attempts = 0


class GroupCommitInquiryStore:
    """Process-wide: the inquiries waiting at one moment share an INSERT and a commit.

    ``store`` queues the row and waits. A writer task takes everything queued (up to
    ``MAX_BATCH`` rows), writes it in its own session and resolves each caller with its code;
    rows that drew a stored code go round again with a new one. What arrives while a batch is
    being written makes up the next batch, so batches grow with the load by themselves and no
    timer delays a lone inquiry. A failed write fails exactly the callers of that batch, who
    answer with the usual apology; nothing of theirs was stored.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        make_code: CodeMaker | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch <= 0:
            raise ValueError("max_batch must be positive")
        self._session_factory = session_factory
        self._make_code = make_code
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # written batches, for tests and benchmarks

    async def store(self, values: dict[str, Any]) -> str:
        loop = asyncio.get_running_loop()
        waiting = _Waiting(values, loop.create_future())
        self._queue.append(waiting)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="eligibility-store")
        return await waiting.future

    async def close(self) -> None:
        """Let the writer finish what is queued (nothing is cancelled mid-write)."""
        task = self._task
        if task is not None and not task.done():
            await task

    async def _run(self) -> None:
        # One turn of the loop first: the updates that became ready together join this batch.
        await asyncio.sleep(0)
        retry: list[_Waiting] = []
        batch: list[_Waiting] = []
        try:
            while self._queue or retry:
                # Callers that went away (a cancelled update) are not written for.
                fresh = [w for w in self._queue[: self._max_batch] if not w.future.done()]
                del self._queue[: self._max_batch]
                batch, retry = retry + fresh, []
                if not batch:
                    continue
                try:
                    clashed = await self._write(batch)
                except Exception as exc:
                    logger.warning(
                        "eligibility store: a batch of %d failed (%s)",
                        len(batch),
                        type(exc).__name__,
                    )
                    for waiting in batch:
                        if not waiting.future.done():
                            waiting.future.set_exception(exc)
                    continue
                for waiting in clashed:
                    if waiting.attempts < STORE_ATTEMPTS:
                        retry.append(waiting)
                    elif not waiting.future.done():
                        waiting.future.set_exception(TrackingCodeClash())
        except BaseException:  # cancelled: nobody may be left waiting for an answer
            for waiting in [*batch, *retry, *self._queue]:
                if not waiting.future.done():
                    waiting.future.cancel()
            raise

    async def _write(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Insert ``batch`` with fresh codes and commit; return the rows whose code clashed."""
        make_code = self._make_code or new_code
        drawn: set[str] = set()
        for waiting in batch:
            waiting.attempts += 1
            code = make_code()
            while code in drawn:  # distinct within the batch, or one would hide the other
                code = make_code()
            drawn.add(code)
            waiting.code = code
        async with self._session_factory() as session:
            connection = await session.connection()
            await relax_durability(connection)
            statement = _conflict_free_insert(connection.dialect.name).values(
                [{**w.values, "tracking_code": w.code} for w in batch]
            )
            stored = set((await connection.execute(statement)).scalars())
            await session.commit()
        self.batches += 1
        clashed: list[_Waiting] = []
        for waiting in batch:
            if waiting.code in stored:
                if not waiting.future.done():
                    waiting.future.set_result(waiting.code)
            else:
                clashed.append(waiting)
        if clashed:
            logger.info("eligibility store: %d tracking codes clashed, drawn again", len(clashed))
        return clashed


def _conflict_free_insert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (tracking_code) DO NOTHING RETURNING tracking_code``."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(EligibilityInquiry)
        .on_conflict_do_nothing(index_elements=[EligibilityInquiry.tracking_code])
        .returning(EligibilityInquiry.tracking_code)
    )
