"""Issue 17, finding 9: the FSM storage in the database (``bot.fsm_storage.DbStorage``).

On SQLite and PostgreSQL: a step written by one storage is read by a new one (a restart), rows
expire like the Redis keys and retention deletes them, a write joins the update's transaction
(and is forgotten when it rolls back), and reads are made once and then served from the cache.
"""

from __future__ import annotations

import datetime as dt

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm_storage import DbStorage
from bot.middlewares.db import ON_ROLLBACK, update_session
from services.clock import FixedClock
from services.db.fsm_models import FsmState
from services.retention import RetentionService
from services.settings import Settings

TTL = dt.timedelta(hours=24)
KEY = StorageKey(bot_id=1234567, chat_id=42, user_id=42)


def storage(factory: async_sessionmaker[AsyncSession], clock: FixedClock) -> DbStorage:
    return DbStorage(factory, clock.now, ttl=TTL)


async def test_a_step_and_its_data_survive_a_new_storage(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    first = storage(session_factory, clock)
    await first.set_state(KEY, "ComplaintForm:attachment")
    await first.update_data(KEY, {"tkt_text": "متن شکایت", "tkt_attachments": []})
    restarted = storage(session_factory, clock)  # another process, an empty cache
    assert await restarted.get_state(KEY) == "ComplaintForm:attachment"
    assert await restarted.get_data(KEY) == {"tkt_text": "متن شکایت", "tkt_attachments": []}
    # One SELECT gave both, and the next reads came from the cache.
    assert restarted.reads == 1
    await restarted.get_state(KEY)
    assert restarted.reads == 1
    other = StorageKey(bot_id=1234567, chat_id=43, user_id=43)
    assert await restarted.get_state(other) is None and await restarted.get_data(other) == {}


async def test_clearing_a_chat_with_no_step_writes_nothing(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FixedClock
) -> None:
    fsm = storage(session_factory, clock)
    await fsm.set_state(KEY, None)
    await fsm.set_data(KEY, {})
    assert fsm.writes == 0
    assert await session.scalar(select(func.count()).select_from(FsmState)) == 0


async def test_steps_expire_like_redis_keys_and_retention_deletes_them(
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: FixedClock,
    db_settings: Settings,
) -> None:
    fsm = storage(session_factory, clock)
    await fsm.set_state(KEY, "DependantForm:national_id")
    await fsm.set_data(KEY, {"dep_national_id": "0499370899"})
    clock.advance(TTL - dt.timedelta(minutes=1))
    assert await storage(session_factory, clock).get_state(KEY) == "DependantForm:national_id"
    assert (await RetentionService(session, db_settings, clock).apply()).flow_states == 0
    clock.advance(dt.timedelta(minutes=2))
    # Expired: nothing read, from the cache or from a new storage.
    assert await fsm.get_state(KEY) is None and await fsm.get_data(KEY) == {}
    assert await storage(session_factory, clock).get_data(KEY) == {}
    report = await RetentionService(session, db_settings, clock).apply()
    await session.commit()
    assert report.flow_states == 1
    assert await session.scalar(select(func.count()).select_from(FsmState)) == 0


async def test_a_write_joins_the_update_s_transaction_and_a_rollback_forgets_it(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    fsm = storage(session_factory, clock)
    await fsm.set_state(KEY, "ComplaintForm:description")
    async with session_factory() as update:  # what UnitOfWorkMiddleware does per update
        token = update_session.set(update)
        await fsm.set_state(KEY, "ComplaintForm:attachment")
        assert await fsm.get_state(KEY) == "ComplaintForm:attachment"
        # Not committed: another process does not see it yet.
        async with session_factory() as other:
            seen = await other.scalar(select(FsmState.state).where(FsmState.key.like("%42%")))
        assert seen == "ComplaintForm:description"
        update_session.reset(token)
        await update.rollback()
        for forget in update.info.pop(ON_ROLLBACK, ()):
            forget()
    assert await fsm.get_state(KEY) == "ComplaintForm:description"
    assert await storage(session_factory, clock).get_state(KEY) == "ComplaintForm:description"


async def test_only_a_step_in_progress_is_a_row_and_its_end_deletes_it(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, clock: FixedClock
) -> None:
    fsm = storage(session_factory, clock)
    rows = select(func.count()).select_from(FsmState)
    # Between flows: the dialogue's memory of its last answer, in this process only.
    await fsm.set_data(KEY, {"topic": {"intent": "contact_info"}})
    assert await fsm.get_data(KEY) == {"topic": {"intent": "contact_info"}}
    assert fsm.writes == 0 and await session.scalar(rows) == 0
    await fsm.set_state(KEY, "ComplaintForm:description")
    await fsm.update_data(KEY, {"tkt_text": "متن"})
    assert await session.scalar(rows) == 1
    assert await storage(session_factory, clock).get_data(KEY) == {
        "topic": {"intent": "contact_info"},
        "tkt_text": "متن",
    }
    await fsm.set_state(KEY, None)  # FSMContext.clear(): the flow ended
    await fsm.set_data(KEY, {})
    assert await session.scalar(rows) == 0  # the complaint's text is gone with it
    assert await fsm.get_state(KEY) is None and await fsm.get_data(KEY) == {}
