"""The database's dedupe ledger (``processed_updates``, issue 17 finding 2) on SQLite and
PostgreSQL: a lease taken in its own transaction, the done mark in the handler's, a failed
update let go, a killed worker's lease taken over once it ran out, and retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedupe import DatabaseLedger, Lease, Seen
from services.clock import FixedClock
from services.db.delivery_models import IN_PROGRESS, ProcessedUpdate
from services.retention import RetentionService


class Wall:
    """A settable wall clock for leases."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at


async def processed_row(
    session_factory: async_sessionmaker[AsyncSession], update_id: int
) -> tuple[str, str] | None:
    async with session_factory() as session:
        row = (
            await session.execute(
                select(ProcessedUpdate.state, ProcessedUpdate.holder).where(
                    ProcessedUpdate.update_id == update_id
                )
            )
        ).first()
    return None if row is None else (row[0], row[1])


async def test_database_ledger_leases_completes_in_the_transaction_and_takes_over(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    wall = Wall()
    ledger = DatabaseLedger(session_factory, lease_seconds=10, now=wall)
    other_worker = DatabaseLedger(session_factory, lease_seconds=10, now=wall)
    lease = await ledger.take("telegram", 1)
    assert isinstance(lease, Lease)
    assert await other_worker.take("telegram", 1) is Seen.BUSY
    assert isinstance(await other_worker.take("bale", 1), Lease)  # another platform's id
    # The done mark is part of the handler's transaction: rolled back with it...
    async with session_factory() as session:
        assert await lease.complete_in(session)
        await session.rollback()
    assert await processed_row(session_factory, 1) == (IN_PROGRESS, lease.holder)
    assert await other_worker.take("telegram", 1) is Seen.BUSY
    # ...and committed with it.
    async with session_factory() as session:
        await lease.complete_in(session)
        await session.commit()
    assert await other_worker.take("telegram", 1) is Seen.DONE

    # A failed handler lets go: the next delivery is taken afresh.
    failed = await ledger.take("telegram", 2)
    assert isinstance(failed, Lease)
    await ledger.release(failed)
    assert await processed_row(session_factory, 2) is None
    retried = await other_worker.take("telegram", 2)
    assert isinstance(retried, Lease)

    # A killed worker's lease is taken over once it has run out, not before; renewing keeps it.
    wall.at += dt.timedelta(seconds=9)
    await other_worker.renew(retried)
    wall.at += dt.timedelta(seconds=9)
    assert await ledger.take("telegram", 2) is Seen.BUSY
    wall.at += dt.timedelta(seconds=2)
    taken_over = await ledger.take("telegram", 2)
    assert isinstance(taken_over, Lease)
    # The old holder can no longer release what is not its own.
    await other_worker.release(retried)
    assert await processed_row(session_factory, 2) == (IN_PROGRESS, taken_over.holder)


async def test_retention_forgets_update_marks_after_the_configured_hours(
    session_factory: async_sessionmaker[AsyncSession], db_settings: Any
) -> None:
    wall = Wall()
    ledger = DatabaseLedger(session_factory, now=wall)
    old = await ledger.take("telegram", 1)
    assert isinstance(old, Lease)
    await ledger.complete(old)
    hours = db_settings.config.bot.processed_updates_hours
    wall.at += dt.timedelta(hours=hours - 1)
    assert isinstance(await ledger.take("telegram", 2), Lease)
    clock = FixedClock(wall.at + dt.timedelta(hours=1, minutes=1))
    async with session_factory() as session:
        report = await RetentionService(session, db_settings, clock).apply()
        await session.commit()
    assert report.processed_updates == 1
    assert await processed_row(session_factory, 1) is None
    assert await processed_row(session_factory, 2) is not None
