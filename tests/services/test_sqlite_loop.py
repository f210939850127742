"""The embedded SQLite connection (services/db/sqlite.py): reads on the event loop, writes in
aiosqlite's thread, with SQLite's transactions unchanged.

Each test uses its own database file through the project's engine factory (WAL, pragmas,
pool), with a table of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine, create_session_factory
from services.db.sqlite import LoopConnection
from services.settings import load_settings

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("thread", Integer),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}")
    engine = create_engine(settings)

    @event.listens_for(engine.sync_engine, "connect")
    def _thread_function(dbapi_connection: Any, _record: Any) -> None:
        # thread_id() answers the id of the thread the statement runs in.
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)

    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


class HandOffs:
    """Counts the statements run in the connection's thread and on the loop."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.in_thread = 0
        self.on_loop = 0
        in_thread, on_loop = LoopConnection.in_thread, LoopConnection.on_loop

        async def counted_in_thread(connection: LoopConnection, *args: Any) -> Any:
            self.in_thread += 1
            return await in_thread(connection, *args)

        def counted_on_loop(connection: LoopConnection, *args: Any) -> Any:
            self.on_loop += 1
            return on_loop(connection, *args)

        monkeypatch.setattr(LoopConnection, "in_thread", counted_in_thread)
        monkeypatch.setattr(LoopConnection, "on_loop", counted_on_loop)


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> HandOffs:
    return HandOffs(monkeypatch)


async def test_the_engine_runs_on_the_loop_connection_with_a_daemon_thread(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, LoopConnection)
        assert driver._thread.daemon  # an unclosed connection cannot hold the process open
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
        assert mode == "wal"  # the reason a read on the loop never waits for a writer


async def test_reads_run_on_the_loop_and_writes_in_the_thread(
    engine: AsyncEngine, hand_offs: HandOffs
) -> None:
    loop_thread = threading.get_ident()
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(insert(things).values(name="a", thread=func.thread_id()))
        await session.commit()
    async with sessions() as session:
        row = (await session.execute(select(things.c.thread, func.thread_id()))).one()
    writer_thread, reader_thread = row
    assert reader_thread == loop_thread
    assert writer_thread != loop_thread


async def test_a_read_only_unit_of_work_needs_no_hand_off(
    engine: AsyncEngine, hand_offs: HandOffs
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(things))).scalar() == 0
        await session.commit()  # SQLite has no transaction open: nothing to hand off
    assert (hand_offs.in_thread, hand_offs.on_loop) == (0, 1)


async def test_a_write_is_one_hand_off_and_its_commit_another(
    engine: AsyncEngine, hand_offs: HandOffs
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(insert(things).values(name="a"))
        await session.commit()
    assert hand_offs.in_thread == 2  # SQLAlchemy's adapter made five (four for the statement)
    async with sessions() as session:
        names = (await session.execute(select(things.c.name))).scalars().all()
    assert names == ["a"]


async def test_many_rows_in_one_statement(engine: AsyncEngine, hand_offs: HandOffs) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(insert(things), [{"name": f"n{i}"} for i in range(50)])
        await session.commit()
    assert hand_offs.in_thread == 2
    async with sessions() as session:
        names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == [f"n{i}" for i in range(50)]


async def test_a_failed_statement_still_rolls_the_transaction_back(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await session.execute(insert(things).values(name="kept"))
        await session.commit()
    async with sessions() as session:
        await session.execute(insert(things).values(name="pending"))
        with pytest.raises(IntegrityError):
            await session.execute(insert(things).values(name="kept"))
        await session.rollback()  # must reach SQLite: "pending" was written in this transaction
        await session.execute(insert(things).values(name="after"))
        await session.commit()
    async with sessions() as session:
        names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["kept", "after"]


async def test_uncommitted_writes_stay_invisible_to_other_connections(
    engine: AsyncEngine,
) -> None:
    sessions = create_session_factory(engine)
    async with sessions() as writer, sessions() as reader:
        await writer.execute(insert(things).values(name="draft"))
        count = select(func.count()).select_from(things)
        assert (await reader.execute(count)).scalar() == 0
        await writer.commit()
        assert (await reader.execute(count)).scalar() == 1


async def test_a_writer_waiting_for_the_lock_does_not_stop_the_loop(engine: AsyncEngine) -> None:
    sessions = create_session_factory(engine)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        for _ in range(200):
            ticks += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.create_task(tick())
    async with sessions() as first, sessions() as second:
        await first.execute(insert(things).values(name="first"))  # holds the write lock
        waiting = asyncio.create_task(second.execute(insert(things).values(name="second")))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # it waits for the write turn (services/db/sqlite.py)
        before = ticks
        await asyncio.sleep(0.1)
        assert ticks > before  # … while the loop goes on
        await first.commit()
        await waiting
        await second.commit()
    ticker.cancel()
    async with sessions() as session:
        names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["first", "second"]


async def test_a_closed_connection_answers_as_the_adapter_expects(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, LoopConnection)
        await driver.close()
        with pytest.raises(Exception, match="no active connection"):
            await connection.execute(text("SELECT 1"))
        await connection.invalidate()
