"""The database's dedupe ledger (``processed_updates``, issue 17 finding 2) on SQLite and
PostgreSQL: the lease held in the process, the done mark in the handler's transaction or in a
group commit, marks that outlive the process, a failed update let go, and retention."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.dedupe import Lease, Seen
from bot.middlewares.ledger_db import DatabaseLedger
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


async def test_the_takes_of_one_loop_turn_share_one_select_per_platform(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A getUpdates answer's updates are taken together: their done marks are read in one
    select per platform, and each take still gets its own answer."""
    first = DatabaseLedger(session_factory, now=Wall())
    for update_id in (101, 103):  # handled by an earlier process
        lease = await first.take("telegram", update_id)
        assert isinstance(lease, Lease)
        await first.complete(lease)
    ledger = DatabaseLedger(session_factory, now=Wall())
    keys = [("telegram", n) for n in range(100, 140)] + [("bale", 101), ("bale", 102)]
    answers = await asyncio.gather(*(ledger.take(platform, n) for platform, n in keys))
    assert ledger.done_selects == 2  # one for telegram's 40 updates, one for bale's 2
    done = {key for key, answer in zip(keys, answers, strict=True) if answer is Seen.DONE}
    assert done == {("telegram", 101), ("telegram", 103)}  # bale's 101 is another update
    assert all(isinstance(a, Lease) for k, a in zip(keys, answers, strict=True) if k not in done)
    # A take in a later turn is a select of its own; one in hand is busy without a select.
    assert await ledger.take("telegram", 100) is Seen.BUSY
    assert isinstance(await ledger.take("telegram", 200), Lease)
    assert ledger.done_selects == 3


class AwayOnce:
    """A session factory whose database is away the first time it is asked."""

    def __init__(self, real: async_sessionmaker[AsyncSession]) -> None:
        self.real = real
        self.kw = real.kw
        self.refused = 0

    def __call__(self) -> AsyncSession:
        if not self.refused:
            self.refused += 1
            raise ConnectionError("database away")
        return self.real()


async def test_a_failed_select_fails_the_takes_of_its_turn_and_lets_them_go(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    away = AwayOnce(session_factory)
    ledger = DatabaseLedger(cast(Any, away), now=Wall())
    answers = await asyncio.gather(
        *(ledger.take("telegram", n) for n in (1, 2)), return_exceptions=True
    )
    assert [type(a) for a in answers] == [ConnectionError, ConnectionError]
    assert away.refused == 1 and ledger.done_selects == 0  # one select for both, refused
    # Not held: their next delivery is taken afresh once the database answers.
    assert isinstance(await ledger.take("telegram", 1), Lease)
    assert ledger.done_selects == 1


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
