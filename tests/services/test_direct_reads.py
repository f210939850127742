"""``services/db/direct_reads.py``: selects outside transactions run by the driver itself.

On SQLite and PostgreSQL: every hot statement gives the rows and keys SQLAlchemy gives; what
the driver cannot type, or SQLAlchemy renders per execution, goes through SQLAlchemy; a
statement the database refuses raises SQLAlchemy's error and keeps the connection. On
PostgreSQL: a broken connection and a cancelled read leave the pool as SQLAlchemy would.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Executable,
    Integer,
    Numeric,
    String,
    bindparam,
    cast,
    column,
    event,
    func,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from demo import MARYAM_NID, PERSONA_MOBILES, PERSONA_NIDS, REZA_NID
from services.chat import _arrival_query
from services.clock import FixedClock
from services.common import read
from services.db import direct_reads
from services.db.direct_reads import DirectReads
from services.db.models import ChatUser
from services.registry import _household_query, _last_contribution_query, _person_query
from services.settings import Settings
from tests.services.helpers import verified_user

postgresql_only = pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)


async def _through_sqlalchemy(
    engine: AsyncEngine, statement: Executable, parameters: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        result = await connection.execute(statement, parameters)
        return list(result.keys()), [tuple(row) for row in result]


def _checked_out(engine: AsyncEngine) -> int:
    return int(engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_the_hot_statements_give_what_sqlalchemy_gives(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    async with session_factory() as session:
        # Verified, so that verified_at (a UtcDateTime, with a result processor) has a value.
        user = await verified_user(
            session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
        )
        await session.commit()
    reads = DirectReads(demo_db)
    cases: list[tuple[Executable, dict[str, Any]]] = [
        (_arrival_query(), {"platform": user.platform, "platform_user_id": user.platform_user_id}),
        (_arrival_query(), {"platform": user.platform, "platform_user_id": -1}),
    ]
    for national_id in sorted(PERSONA_NIDS):
        by_id = {"national_id": national_id}
        cases += [
            (_person_query(), by_id),
            (_household_query(), by_id),
            (_last_contribution_query(), by_id),
        ]
    dependants = 0
    for statement, parameters in cases:
        assert reads.eligible(statement)
        mine = await reads.read(statement, parameters)
        assert mine is not None
        keys, rows = await _through_sqlalchemy(demo_db, statement, parameters)
        assert list(mine.keys()) == keys
        assert [tuple(row) for row in mine] == rows
        if statement is _household_query():
            dependants += sum(1 for row in rows if row[10] is not None)
    assert dependants >= 2  # the personas' households have dependants to compare
    arrival = await reads.read(*cases[0])
    assert arrival is not None
    row = arrival.one()
    assert row.verified_at is not None and row.verified_at.utcoffset() is not None
    assert row.national_id == MARYAM_NID
    assert _checked_out(demo_db) == 0


async def test_read_uses_them_outside_a_transaction_only(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    parameters = {"national_id": REZA_NID}
    async with session_factory() as session:
        row = (await read(session, _person_query(), parameters)).one()
        assert row.national_id == REZA_NID
        assert not session.in_transaction()  # nothing begun, no connection held
        await session.execute(text("SELECT 1"))  # the session begins its transaction
        row = (await read(session, _person_query(), parameters)).one()
        assert row.national_id == REZA_NID and session.in_transaction()


async def test_a_statement_rendered_per_execution_goes_through_sqlalchemy(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    statement = select(literal(1).label("one")).where(
        literal(2).in_(bindparam("values", expanding=True))
    )
    assert not DirectReads(demo_db).eligible(statement)
    async with session_factory() as session:
        assert (await read(session, statement, {"values": [1, 2, 3]})).scalar_one() == 1
        assert (await read(session, statement, {"values": [4]})).first() is None


async def test_a_refused_statement_raises_sqlalchemys_error_and_keeps_the_connection(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = table("no_such_table", column("national_id"))
    statement = select(missing.c.national_id).where(missing.c.national_id == bindparam("n"))
    assert DirectReads(demo_db).eligible(statement)
    async with session_factory() as session:  # warms the pool up
        assert (await read(session, _person_query(), {"national_id": REZA_NID})).first()
    opened: list[int] = []
    event.listen(demo_db.sync_engine, "connect", lambda *_: opened.append(1))
    async with session_factory() as session:
        with pytest.raises(DBAPIError, match="no_such_table"):
            await read(session, statement, {"n": MARYAM_NID})
        assert (await read(session, _person_query(), {"national_id": REZA_NID})).first()
    assert _checked_out(demo_db) == 0
    assert opened == []  # the database refused a statement: no connection was discarded
    assert "direct read failed" in caplog.text


@postgresql_only
async def test_the_logged_failure_quotes_no_parameter(
    demo_db: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    reads = DirectReads(demo_db)
    # The server's own message: value "6508124226" is out of range for type integer
    statement = select(cast(bindparam("value", type_=String), Integer).label("x"))
    assert reads.eligible(statement)
    assert await reads.read(statement, {"value": "6508124226"}) is None  # left to SQLAlchemy
    assert "NumericValueOutOfRangeError" in caplog.text
    assert "6508124226" not in caplog.text


@postgresql_only
async def test_a_type_that_needs_the_databases_type_code_goes_through_sqlalchemy(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    statement = select(literal(Decimal("12.50"), Numeric(5, 2)).label("rate"))
    assert not DirectReads(demo_db).eligible(statement)
    async with session_factory() as session:
        assert (await read(session, statement, {})).scalar_one() == Decimal("12.50")
    subquery = select(ChatUser).where(ChatUser.id == bindparam("id")).subquery()
    # Not an executable statement at all, which the type says too: refused at run time as well.
    assert not DirectReads(demo_db).eligible(subquery)  # type: ignore[arg-type]


@postgresql_only
async def test_a_broken_connection_is_discarded_and_the_read_still_answers(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    parameters = {"national_id": REZA_NID}
    async with session_factory() as session:
        assert (await read(session, _person_query(), parameters)).one().national_id == REZA_NID
    # Every pooled connection is killed by the server, as a restart or a failover would.
    admin_engine = create_async_engine(demo_db.url, poolclass=NullPool)
    try:
        async with admin_engine.connect() as admin:
            killed = await admin.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin_engine.dispose()
    assert killed and killed >= 1
    await asyncio.sleep(0.1)
    for _ in range(3):
        async with session_factory() as session:
            row = (await read(session, _person_query(), parameters)).one()
            assert row.national_id == REZA_NID
    assert "direct read failed (" in caplog.text  # asyncpg's InterfaceError, here
    assert _checked_out(demo_db) == 0


@postgresql_only
async def test_a_cancelled_read_gives_its_connection_up(demo_db: AsyncEngine) -> None:
    reads = DirectReads(demo_db)
    statement = select(func.pg_sleep(bindparam("seconds")))
    assert reads.eligible(statement)
    task = asyncio.create_task(reads.read(statement, {"seconds": 5}))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _checked_out(demo_db) == 0
    result = await reads.read(_person_query(), {"national_id": REZA_NID})
    assert result is not None and result.one().national_id == REZA_NID


async def test_statements_made_per_call_do_not_grow_the_plans(demo_db: AsyncEngine) -> None:
    reads = DirectReads(demo_db)
    for n in range(direct_reads.CACHE_SIZE + 20):
        result = await reads.read(select(literal(n).label("n")), {})
        assert result is not None and result.scalar_one() == n
    assert len(reads._plans) == direct_reads.CACHE_SIZE
