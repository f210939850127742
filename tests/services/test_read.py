"""``services.common.read``: Core reads on the bot's hot path, on SQLite and PostgreSQL.

On PostgreSQL a session that has begun nothing reads on an autocommit connection, so a
read-only update costs no ``BEGIN``/``COMMIT``; once the session has a transaction, reads join
it and see its own writes, as before.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.chat import ChatLookup
from services.clock import FixedClock
from services.common import ChatUserInfo, read
from services.db.models import ChatUser
from services.settings import Settings
from tests.services.helpers import chat_user

_NAME = select(ChatUser.first_name).where(ChatUser.id == bindparam("id"))


async def _new_user(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, clock: FixedClock
) -> ChatUserInfo:
    """A chat user created and committed in a session of its own."""
    async with session_factory() as setup:
        return await chat_user(setup, settings, clock)


async def test_a_read_outside_a_transaction_begins_none_on_postgresql(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    user = await _new_user(session_factory, db_settings, clock)
    async with session_factory() as session:
        name = (await read(session, _NAME, {"id": user.id})).scalar_one()
        assert name == "کاربر"
        # Twice, and with the look-up the bot makes on every update.
        arrival = await ChatLookup(session, db_settings, clock).arrive(
            user.platform, user.platform_user_id, "کاربر"
        )
        assert arrival.user.id == user.id and arrival.handoff is None
        if demo_db.dialect.name == "postgresql":
            assert not session.in_transaction()  # no BEGIN was sent, no COMMIT is owed
            assert session.get_transaction() is None
        await session.commit()


async def test_inside_a_transaction_a_read_sees_the_sessions_own_writes(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    user = await _new_user(session_factory, db_settings, clock)
    async with session_factory() as session:
        await session.execute(
            update(ChatUser).where(ChatUser.id == user.id).values(first_name="مریم")
        )
        assert session.in_transaction()
        assert (await read(session, _NAME, {"id": user.id})).scalar_one() == "مریم"
        # Not committed: another session still reads the old name, through read() too.
        async with session_factory() as other:
            assert (await read(other, _NAME, {"id": user.id})).scalar_one() == "کاربر"
        await session.rollback()


async def test_results_survive_the_connection_going_back_to_the_pool(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    ids = [(await _new_user(session_factory, db_settings, clock)).id for _ in range(3)]
    statement = select(ChatUser.id).where(ChatUser.id.in_(bindparam("ids", expanding=True)))

    async def one() -> list[int]:
        async with session_factory() as session:
            result = await read(session, statement.order_by(ChatUser.id), {"ids": ids})
            await asyncio.sleep(0)  # let other sessions take the connection meanwhile
            return list(result.scalars())

    answers = await asyncio.gather(*(one() for _ in range(10)))
    assert answers == [sorted(ids)] * 10


async def test_a_read_does_not_flush_the_sessions_pending_changes(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    """The rule of read() (see its docstring): no flush, so no write lock taken at a read;
    a caller reads only rows its update has not changed."""
    user = await _new_user(session_factory, db_settings, clock)
    async with session_factory() as session:
        row = await session.get(ChatUser, user.id)
        assert row is not None
        await session.commit()
        row.first_name = "زهرا"  # pending in the ORM, not yet flushed
        assert (await read(session, _NAME, {"id": user.id})).scalar_one() == "کاربر"
        assert session.dirty  # still pending: nothing was written by the read
        await session.rollback()
