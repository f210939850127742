"""The outbox store: order per chat, pace, flood waits, bounded retries, leases, restarts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import FixedClock
from services.db.handoff_models import OutboxDelivery
from services.db.models import Outbox
from services.outbox import OutboxStore, enqueue
from services.settings import OutboxConfig

CONFIG = OutboxConfig(per_chat_interval_seconds=1.0, max_attempts=3, max_flood_waits=2)


@pytest.fixture
def store(session_factory: async_sessionmaker[AsyncSession], clock: FixedClock) -> OutboxStore:
    return OutboxStore(session_factory, clock, CONFIG, owner="test")


async def add(session: AsyncSession, clock: FixedClock, chat_id: int, n: int) -> list[int]:
    rows = [
        enqueue(
            session, clock, platform="telegram", chat_id=chat_id, payload={"kind": "x", "n": i}
        )
        for i in range(n)
    ]
    await session.commit()
    return [r.id for r in rows]


async def test_enqueue_needs_a_kind(session: AsyncSession, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="kind"):
        enqueue(session, clock, platform="telegram", chat_id=1, payload={"text": "hi"})


async def test_one_head_per_chat_in_order_with_pace(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    a = await add(session, clock, 1, 3)
    b = await add(session, clock, 2, 2)
    first = await store.claim(10)
    assert [m.id for m in first] == [a[0], b[0]]
    assert all(m.attempts == 1 for m in first)
    # Leased heads block their chats: nothing more to claim.
    assert await store.claim(10) == []
    await store.mark_sent(first[0], 1001)
    await store.mark_sent(first[1], 1002)
    # Both chats rest for a second after a delivery.
    assert await store.claim(10) == []
    clock.advance(dt.timedelta(seconds=1))
    second = await store.claim(10)
    assert [m.id for m in second] == [a[1], b[1]]
    counts = await store.counts()
    assert (counts.pending, counts.sent, counts.failed) == (3, 2, 0)
    delivery = await session.get(OutboxDelivery, a[0])
    assert delivery is not None and delivery.message_id == 1001


async def test_exclude_chats_in_flight(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    a = await add(session, clock, 1, 1)
    b = await add(session, clock, 2, 1)
    claimed = await store.claim(10, exclude_chats=frozenset({("telegram", 1)}))
    assert [m.id for m in claimed] == [b[0]]
    assert [m.id for m in await store.claim(10)] == a


async def test_flood_wait_rests_the_chat_and_is_not_an_attempt(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    [mid] = await add(session, clock, 1, 1)
    [message] = await store.claim(1)
    assert await store.flood_wait(message, 7)
    clock.advance(dt.timedelta(seconds=6))
    assert await store.claim(1) == []
    clock.advance(dt.timedelta(seconds=1))
    [again] = await store.claim(1)
    assert again.id == mid and again.attempts == 1
    assert await store.flood_wait(again, 1)
    clock.advance(dt.timedelta(seconds=1))
    [third] = await store.claim(1)
    # The third flood wait is over the limit of two: given up, the chat moves on.
    assert not await store.flood_wait(third, 1)
    row = await session.get(Outbox, mid)
    assert row is not None
    await session.refresh(row)
    assert row.status == "failed" and "retry after" in (row.last_error or "")


async def test_errors_back_off_then_fail_for_good(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    [mid, nxt] = await add(session, clock, 1, 2)
    [m1] = await store.claim(1)
    assert await store.failed(m1, "server error", permanent=False)
    assert await store.claim(5) == []  # backing off (2 s), and the next one waits behind it
    clock.advance(dt.timedelta(seconds=2))
    [m2] = await store.claim(5)
    assert m2.id == mid and m2.attempts == 2
    assert await store.failed(m2, "server error", permanent=False)
    clock.advance(dt.timedelta(seconds=3))
    assert await store.claim(5) == []  # 4 s now
    clock.advance(dt.timedelta(seconds=1))
    [m3] = await store.claim(5)
    assert m3.attempts == 3
    assert not await store.failed(m3, "server error", permanent=False)  # max_attempts
    [following] = await store.claim(5)
    assert following.id == nxt


async def test_permanent_failure_at_once(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    [mid] = await add(session, clock, 1, 1)
    [message] = await store.claim(1)
    assert not await store.failed(
        message, "Forbidden: bot was blocked by the user", permanent=True
    )
    status = await session.scalar(select(Outbox.status).where(Outbox.id == mid))
    assert status == "failed"


async def test_leases_survive_a_restart_and_run_out(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FixedClock
) -> None:
    [mid] = await add(session, clock, 1, 1)
    crashed = OutboxStore(session_factory, clock, CONFIG, owner="old-process")
    assert [m.id for m in await crashed.claim(1)] == [mid]
    restarted = OutboxStore(session_factory, clock, CONFIG, owner="new-process")
    # The dead process's lease still holds: never sent twice at the same time.
    assert await restarted.claim(1) == []
    clock.advance(dt.timedelta(seconds=CONFIG.lease_seconds))
    [again] = await restarted.claim(1)
    assert again.id == mid and again.attempts == 2


async def test_release_gives_back_untried_messages(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    [mid] = await add(session, clock, 1, 1)
    claimed = await store.claim(1)
    await store.release(claimed)
    [again] = await store.claim(1)
    assert again.id == mid and again.attempts == 1


async def test_rows_enqueued_without_bookkeeping_are_claimed(
    store: OutboxStore, session: AsyncSession, clock: FixedClock
) -> None:
    """Another module may add ``Outbox`` rows directly: they are sent all the same."""
    session.add(
        Outbox(
            platform="bale",
            chat_id=5,
            payload={"kind": "x"},
            status="pending",
            attempts=0,
            created_at=clock.now(),
        )
    )
    await session.commit()
    [message] = await store.claim(1)
    assert message.platform == "bale" and message.chat_id == 5
