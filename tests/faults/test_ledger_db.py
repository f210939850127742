"""The database's dedupe ledger (``processed_updates``, issue 17 finding 2) on SQLite and
PostgreSQL: the lease held in the process, the done mark in the handler's transaction or in a
group commit, marks that outlive the process, a failed update let go, and retention."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedupe import DatabaseLedger, Lease, Seen
from services.clock import FixedClock
from services.db.delivery_models import DONE, IN_PROGRESS, ProcessedUpdate
from services.db.models import ChatUser
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


def _chat_user() -> ChatUser:
    at = Wall().at
    return ChatUser(platform="telegram", platform_user_id=1, created_at=at, updated_at=at)


async def _state(session_factory: async_sessionmaker[AsyncSession], update_id: int) -> str | None:
    row = await processed_row(session_factory, update_id)
    return None if row is None else row[0]


async def test_a_lease_is_held_in_the_process_and_the_mark_commits_with_the_update(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    wall = Wall()
    ledger = DatabaseLedger(session_factory, now=wall)
    lease = await ledger.take("telegram", 1)
    assert isinstance(lease, Lease)
    # A second delivery while it is in hand is busy; another platform's id is another update.
    assert await ledger.take("telegram", 1) is Seen.BUSY
    assert isinstance(await ledger.take("bale", 1), Lease)
    # Taking wrote nothing: the lease lives in this process alone.
    assert await processed_row(session_factory, 1) is None
    # An update that wrote: the mark joins its transaction, rolled back with it …
    async with session_factory() as session:
        session.add(_chat_user())
        assert await lease.complete_in(session)
        await session.rollback()
    assert await processed_row(session_factory, 1) is None
    # … and committed with it.
    async with session_factory() as session:
        session.add(_chat_user())
        assert await lease.complete_in(session)
        await session.commit()
    ledger.settled(lease)
    assert await _state(session_factory, 1) == DONE
    assert await ledger.take("telegram", 1) is Seen.DONE
    # After a restart (a new process, a new ledger) the mark is still there.
    restarted = DatabaseLedger(session_factory, now=wall)
    assert await restarted.take("telegram", 1) is Seen.DONE

    # A failed handler lets go: the next delivery is taken afresh, nothing was written.
    failed = await ledger.take("telegram", 2)
    assert isinstance(failed, Lease)
    await ledger.release(failed)
    assert await processed_row(session_factory, 2) is None
    assert isinstance(await ledger.take("telegram", 2), Lease)


async def test_the_marks_of_updates_that_wrote_nothing_share_one_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ledger = DatabaseLedger(session_factory, now=Wall())
    leases: list[Lease] = []
    for n in range(10, 20):
        lease = await ledger.take("telegram", n)
        assert isinstance(lease, Lease)
        leases.append(lease)
        async with session_factory() as session:
            # Nothing written: not in this session (no transaction, no commit of its own) …
            assert not await lease.complete_in(session)
            assert not session.in_transaction()
    finishing = [asyncio.create_task(ledger.complete(lease)) for lease in leases]
    await asyncio.sleep(0)
    # … queued: a repeat meanwhile is already done, before the batch has committed …
    assert await ledger.take("telegram", 10) is Seen.DONE
    await asyncio.gather(*finishing)
    # … and the ten marks were one INSERT and one commit.
    assert ledger.mark_batches == 1
    assert [await _state(session_factory, n) for n in range(10, 20)] == [DONE] * 10
    assert await DatabaseLedger(session_factory).take("telegram", 19) is Seen.DONE
    # A row left in progress by an older version's lease becomes done.
    async with session_factory() as session, session.begin():
        session.add(
            ProcessedUpdate(
                platform="telegram",
                update_id=30,
                state=IN_PROGRESS,
                lease_until=Wall().at,
                holder="old",
                taken_at=Wall().at,
            )
        )
    old = await ledger.take("telegram", 30)
    assert isinstance(old, Lease)
    await ledger.complete(old)
    assert await _state(session_factory, 30) == DONE


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
    recent = await ledger.take("telegram", 2)
    assert isinstance(recent, Lease)
    await ledger.complete(recent)
    clock = FixedClock(wall.at + dt.timedelta(hours=1, minutes=1))
    async with session_factory() as session:
        report = await RetentionService(session, db_settings, clock).apply()
        await session.commit()
    assert report.processed_updates == 1
    assert await processed_row(session_factory, 1) is None
    assert await processed_row(session_factory, 2) is not None
