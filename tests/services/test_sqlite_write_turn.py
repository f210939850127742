"""The write turn of the embedded SQLite database (services/db/sqlite.py, ``WriteTurn``).

A process's connections to one file queue for the turn to write instead of sleeping in
SQLite's busy handler: first come first served, handed on the moment a transaction closes,
never kept by a connection that timed out, was cancelled or was closed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.db import create_engine, create_session_factory
from services.db import sqlite as loop_sqlite
from services.db.sqlite import LoopConnection, WriteTurn
from services.settings import load_settings

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'turn.db'}")
    )
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def _driver(session: AsyncSession) -> LoopConnection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, LoopConnection)
    return driver


async def _turn(session: AsyncSession) -> WriteTurn:
    turn = (await _driver(session)).write_turn
    assert turn is not None
    return turn


def _holder(turn: WriteTurn) -> LoopConnection | None:
    """The turn's holder, read afresh (a statement between two reads may have changed it)."""
    return turn.holder


async def _names(engine: AsyncEngine) -> list[str]:
    async with create_session_factory(engine)() as session:
        rows = await session.execute(select(notes.c.name).order_by(notes.c.id))
        return list(rows.scalars())


async def test_writers_wait_in_arrival_order_and_each_holds_the_turn_to_its_commit(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)

    async def write(name: str) -> None:
        async with sessions() as session:
            await session.execute(insert(notes).values(name=name))
            await asyncio.sleep(0.02)  # other work of the update, the turn still held
            await session.commit()

    async with sessions() as first:
        await first.execute(insert(notes).values(name="first"))
        turn = await _turn(first)
        assert _holder(turn) is await _driver(first)
        waiting = []
        for count, name in enumerate(("second", "third", "fourth"), start=1):
            waiting.append(asyncio.create_task(write(name)))
            for _ in range(200):  # until it has joined the queue (opening its connection)
                if turn.waiting == count:
                    break
                await asyncio.sleep(0.005)
            assert turn.waiting == count
        assert not any(task.done() for task in waiting)
        # Readers never need the turn.
        async with sessions() as reader:
            assert (await reader.execute(select(notes.c.name))).all() == []
        await first.commit()
        assert _holder(turn) is not await _driver(first)
    await asyncio.gather(*waiting)
    assert await _names(engine) == ["first", "second", "third", "fourth"]
    assert _holder(turn) is None


async def test_a_rollback_and_a_pragma_leave_the_turn_free(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(text("PRAGMA foreign_keys=ON"))
        turn = await _turn(session)
        assert _holder(turn) is None  # a PRAGMA opened no transaction
        await session.execute(insert(notes).values(name="dropped"))
        assert _holder(turn) is await _driver(session)
        await session.rollback()
        assert _holder(turn) is None
    assert await _names(engine) == []


async def test_a_writer_that_waits_too_long_is_told_the_database_is_locked(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_sqlite, "WRITE_TURN_TIMEOUT_S", 0.2)
    sessions = create_session_factory(engine)
    async with sessions() as first, sessions() as second:
        await first.execute(insert(notes).values(name="held"))
        with pytest.raises(OperationalError, match="database is locked"):
            await second.execute(insert(notes).values(name="too late"))
        await second.rollback()
        await first.commit()
        turn = await _turn(first)
        assert _holder(turn) is None
    # Nothing kept the turn: the next writer takes it at once.
    async with sessions() as third:
        await third.execute(insert(notes).values(name="after"))
        await third.commit()
    assert await _names(engine) == ["held", "after"]


async def test_a_cancelled_waiter_does_not_keep_the_turn(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as first:
        await first.execute(insert(notes).values(name="first"))
        turn = await _turn(first)

        async def write() -> None:
            async with sessions() as session:
                await session.execute(insert(notes).values(name="never"))
                await session.commit()

        waiter = asyncio.create_task(write())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await first.commit()
    assert _holder(turn) is None
    async with sessions() as later:
        await later.execute(insert(notes).values(name="later"))
        await later.commit()
    assert await _names(engine) == ["first", "later"]


async def test_closing_a_connection_gives_its_turn_back(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(insert(notes).values(name="unfinished"))
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, LoopConnection) and driver.write_turn is not None
        turn = driver.write_turn
        assert _holder(turn) is driver
        await driver.close()
        assert _holder(turn) is None
        await connection.invalidate()
    assert await _names(engine) == []  # closing rolled the write back


async def test_a_turn_handed_to_a_task_cancelled_before_it_resumed_goes_to_the_next() -> None:
    turn = WriteTurn()
    first, second, third = (cast(LoopConnection, object()) for _ in range(3))
    await turn.take(first)
    second_waits = asyncio.create_task(turn.take(second))
    third_waits = asyncio.create_task(turn.take(third))
    await asyncio.sleep(0)
    turn.give_back(first)  # handed to the second …
    assert _holder(turn) is second
    second_waits.cancel()  # … which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await second_waits
    await third_waits
    assert _holder(turn) is third
    turn.give_back(third)
    assert _holder(turn) is None


async def test_an_expired_waiter_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_sqlite, "WRITE_TURN_TIMEOUT_S", 0.05)
    turn = WriteTurn()
    first, second = (cast(LoopConnection, object()) for _ in range(2))
    await turn.take(first)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await turn.take(second)
    turn.give_back(first)
    assert _holder(turn) is None
