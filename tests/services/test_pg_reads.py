"""``services/db/pg_reads.py``: selects outside transactions run by asyncpg itself.

Every hot statement gives the rows and keys SQLAlchemy gives; what the driver cannot type
without the database's type codes goes through SQLAlchemy; a broken connection, a failing
statement and a cancelled read leave the pool as SQLAlchemy would, and callers see
SQLAlchemy's exceptions. PostgreSQL only: on SQLite ``read`` uses the session's connection.
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
    func,
    literal,
    select,
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

from services.chat import _arrival_query
from services.clock import FixedClock
from services.common import read
from services.db.models import ChatUser
from services.db.pg_reads import PostgresReads
from services.demo import MARYAM_NID, PERSONA_MOBILES, PERSONA_NIDS, REZA_NID
from services.registry import _household_query, _last_contribution_query, _person_query
from services.settings import Settings
from tests.services.helpers import verified_user

pytestmark = pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)


async def _through_sqlalchemy(
    engine: AsyncEngine, statement: Executable, parameters: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        result = await connection.execute(statement, parameters)
        return list(result.keys()), [tuple(row) for row in result]


async def test_the_hot_statements_give_what_sqlalchemy_gives(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    async with session_factory() as session:
        # Verified: verified_at is a UtcDateTime, the one column type with a result processor.
        user = await verified_user(
            session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
        )
        await session.commit()
    reads = PostgresReads(demo_db)
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
        keys, rows = await _through_sqlalchemy(demo_db, statement, parameters)
        assert list(mine.keys()) == keys
        assert [tuple(row) for row in mine] == rows
        if statement is _household_query():
            dependants += sum(1 for row in rows if row[10] is not None)
    assert dependants >= 2  # the personas' households have dependants to compare
    arrival = (await reads.read(cases[0][0], cases[0][1])).one()
    assert arrival.verified_at is not None and arrival.verified_at.utcoffset() is not None
    assert arrival.national_id == MARYAM_NID
    assert demo_db.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_read_uses_them_outside_a_transaction_only(
    demo_db: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    national_id = REZA_NID
    async with session_factory() as session:
        row = (await read(session, _person_query(), {"national_id": national_id})).one()
        assert row.national_id == national_id
        assert not session.in_transaction()
        await session.execute(text("SELECT 1"))  # the session begins its transaction
        row = (await read(session, _person_query(), {"national_id": national_id})).one()
        assert row.national_id == national_id and session.in_transaction()


async def test_a_type_that_needs_the_databases_type_code_goes_through_sqlalchemy(
    demo_db: AsyncEngine,
) -> None:
    reads = PostgresReads(demo_db)
    statement = select(literal(Decimal("12.50"), Numeric(5, 2)).label("rate"))
    assert not reads.eligible(statement)
    assert (await reads.read(statement, {})).scalar_one() == Decimal("12.50")
    assert not reads.eligible(select(ChatUser).where(ChatUser.id == bindparam("id")).subquery())


async def test_a_broken_connection_is_discarded_and_the_read_still_answers(
    demo_db: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    reads = PostgresReads(demo_db)
    national_id = REZA_NID
    parameters = {"national_id": national_id}
    assert (await reads.read(_person_query(), parameters)).one().national_id == national_id
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
        row = (await reads.read(_person_query(), parameters)).one()
        assert row.national_id == national_id
    assert "direct read failed; retrying through SQLAlchemy" in caplog.text
    assert demo_db.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_failing_statement_raises_sqlalchemys_error_and_keeps_the_pool(
    demo_db: AsyncEngine,
) -> None:
    reads = PostgresReads(demo_db)
    statement = select(cast(bindparam("value", type_=String), Integer).label("x"))
    assert reads.eligible(statement)
    with pytest.raises(DBAPIError, match="invalid input syntax for type integer"):
        await reads.read(statement, {"value": "یک"})
    assert demo_db.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert (await reads.read(statement, {"value": "1"})).scalar_one() == 1


async def test_a_cancelled_read_gives_its_connection_up(demo_db: AsyncEngine) -> None:
    reads = PostgresReads(demo_db)
    statement = select(func.pg_sleep(bindparam("seconds")))
    assert reads.eligible(statement)
    task = asyncio.create_task(reads.read(statement, {"seconds": 5}))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert demo_db.pool.checkedout() == 0  # type: ignore[attr-defined]
    national_id = REZA_NID
    row = (await reads.read(_person_query(), {"national_id": national_id})).one()
    assert row.national_id == national_id


async def test_statements_made_per_call_do_not_grow_the_plans(demo_db: AsyncEngine) -> None:
    from services.db import pg_reads

    reads = PostgresReads(demo_db)
    for n in range(pg_reads.CACHE_SIZE + 20):
        statement = select(literal(n).label("n"))
        assert (await reads.read(statement, {})).scalar_one() == n
    assert len(reads._plans) == pg_reads.CACHE_SIZE
