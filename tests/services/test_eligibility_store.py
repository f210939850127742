"""The eligibility inquiry stores: one transaction each, and the bot's group commit.

Both run on SQLite and PostgreSQL. The group-commit store must keep what the per-inquiry one
promises — every code shown is stored and unique, a clash is drawn again before anyone sees it,
the caller returns only after its row is committed — while writing concurrent inquiries in
shared batches.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from demo import MARYAM_NID, PERSONA_MOBILES, ZAHRA_NID
from services.clock import FixedClock
from services.db.models import EligibilityInquiry
from services.eligibility import EligibilityService
from services.eligibility_store import (
    GroupCommitInquiryStore,
    SessionInquiryStore,
    TrackingCodeClash,
)
from services.identity import ChatUserInfo, IdentityService
from services.settings import Settings
from tests.services.helpers import unique_platform_id, verified_user


def _values(n: int = 0) -> dict[str, Any]:
    return {
        "chat_user_id": None,
        "national_id": MARYAM_NID,
        "relation_filter": None,
        "covered": n % 2 == 0,
        "result": [{"n": n}],
        "created_at": dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    }


def _codes(*codes: str) -> Iterator[str]:
    yield from codes
    raise AssertionError("more codes drawn than the test expected")


async def _stored(session_factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with session_factory() as session:
        rows = (await session.execute(select(EligibilityInquiry))).scalars().all()
        return {row.tracking_code: row for row in rows}


async def test_concurrent_inquiries_share_batches_and_every_code_is_stored(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    codes = await asyncio.gather(*(store.store(_values(n)) for n in range(120)))
    assert len(set(codes)) == 120
    assert all(len(code) == 12 and code.isdigit() for code in codes)
    # Everything became ready in one loop turn: one batch, one INSERT and one commit.
    assert store.batches == 1
    stored = await _stored(session_factory)
    assert set(stored) == set(codes)
    # Each caller got the code of its own row.
    for n, code in enumerate(codes):
        assert stored[code].result == [{"n": n}]
        assert stored[code].covered is (n % 2 == 0)


async def test_a_lone_inquiry_is_written_at_once(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    first = await store.store(_values(1))
    second = await store.store(_values(2))
    assert store.batches == 2
    assert set(await _stored(session_factory)) == {first, second}


async def test_a_big_wave_is_split_into_batches(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory, max_batch=25)
    codes = await asyncio.gather(*(store.store(_values(n)) for n in range(60)))
    assert store.batches == 3
    assert set(await _stored(session_factory)) == set(codes)


async def test_a_clash_with_a_stored_code_is_drawn_again_before_anyone_sees_it(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    taken = await GroupCommitInquiryStore(session_factory, make_code=lambda: "111111111111").store(
        _values()
    )
    # Three callers in one batch; the second draws the stored code first.
    drawn = _codes("222222222222", "111111111111", "333333333333", "444444444444")
    store = GroupCommitInquiryStore(session_factory, make_code=lambda: next(drawn))
    codes = await asyncio.gather(*(store.store(_values(n)) for n in range(3)))
    assert codes == ["222222222222", "444444444444", "333333333333"]
    assert store.batches == 2  # the clashed row went round again, alone
    stored = await _stored(session_factory)
    assert set(stored) == {taken, *codes}
    assert stored["444444444444"].result == [{"n": 1}]


async def test_codes_drawn_twice_in_one_batch_are_told_apart(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drawn = _codes("555555555555", "555555555555", "666666666666")
    store = GroupCommitInquiryStore(session_factory, make_code=lambda: next(drawn))
    codes = await asyncio.gather(store.store(_values(0)), store.store(_values(1)))
    assert list(codes) == ["555555555555", "666666666666"]
    assert store.batches == 1


async def test_a_code_that_always_clashes_fails_after_the_attempts(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory, make_code=lambda: "777777777777")
    await store.store(_values(0))
    with pytest.raises(TrackingCodeClash):
        await store.store(_values(1))
    assert list(await _stored(session_factory)) == ["777777777777"]


async def test_a_failed_write_fails_its_callers_and_the_store_goes_on(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    bad = {**_values(), "national_id": None}  # NOT NULL: the database refuses the batch
    results = await asyncio.gather(
        store.store(bad), store.store(_values(1)), return_exceptions=True
    )
    assert all(isinstance(r, Exception) for r in results)
    assert await _stored(session_factory) == {}  # nothing half written
    code = await store.store(_values(2))
    assert list(await _stored(session_factory)) == [code]


async def test_a_caller_that_went_away_is_not_written_for(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    gone = asyncio.ensure_future(store.store(_values(0)))
    kept = asyncio.ensure_future(store.store(_values(1)))
    await asyncio.sleep(0)  # both are queued
    gone.cancel()
    code = await kept
    await store.close()
    assert list(await _stored(session_factory)) == [code]


async def test_the_session_store_retries_a_clash_in_the_callers_transaction(
    demo_db: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    drawn = _codes("888888888888", "888888888888", "999999999999")
    store = SessionInquiryStore(session, make_code=lambda: next(drawn))
    assert await store.store(_values(0)) == "888888888888"
    assert await store.store(_values(1)) == "999999999999"
    # The caller's unit of work commits; until then nobody else sees the rows.
    assert session.in_transaction()
    assert list(await _stored(session_factory)) == []
    await session.commit()
    assert sorted(await _stored(session_factory)) == ["888888888888", "999999999999"]


async def test_the_service_with_the_group_store_answers_as_before(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    async with session_factory() as session:
        maryam = await verified_user(
            session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
        )
        zahra = await verified_user(
            session, db_settings, clock, ZAHRA_NID, PERSONA_MOBILES[ZAHRA_NID]
        )

    async def inquire(user: ChatUserInfo) -> Any:
        # One session per update, given the update's chat user, as the bot has.
        async with session_factory() as session:
            service = EligibilityService(session, db_settings, clock, store=store)
            result = await service.inquire(user)
            # Its reads ran outside any transaction: it held no connection while the shared
            # store wrote.
            assert not session.in_transaction()
            return result

    results = await asyncio.gather(*(inquire(u) for u in (maryam, zahra) * 5))
    assert store.batches < len(results)
    stored = await _stored(session_factory)
    assert set(stored) == {r.tracking_code for r in results}
    for result in results:
        row = stored[result.tracking_code]
        assert row.national_id == result.national_id
        assert row.covered is result.rows[0].covered
        assert len(row.result) == len(result.rows)


async def test_an_update_that_wrote_stores_its_inquiry_in_its_own_transaction(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    store = GroupCommitInquiryStore(session_factory)
    async with session_factory() as session:
        # A verification in this very update (the pending question answered right after),
        # not committed yet: on SQLite the update holds the write lock until its commit.
        maryam = await IdentityService(session, db_settings, clock).ensure_user(
            "telegram", unique_platform_id(), "مریم"
        )
        identity = IdentityService(session, db_settings, clock)
        await identity.register_contact(
            maryam.id,
            contact_user_id=maryam.platform_user_id,
            phone_number=PERSONA_MOBILES[MARYAM_NID],
        )
        verified = await identity.verify(maryam.id, MARYAM_NID)
        service = EligibilityService(session, db_settings, clock, store=store)
        result = await asyncio.wait_for(service.inquire(verified.user), timeout=10)
        assert store.batches == 0
        assert result.tracking_code not in await _stored(session_factory)
        await session.commit()
    await store.close()
    assert result.tracking_code in await _stored(session_factory)
