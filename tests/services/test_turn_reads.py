"""``services/db/turn_reads.py``: the look-ups of one loop turn in one select, on SQLite and
PostgreSQL — each caller gets its own rows, a lone look-up takes the single-key statement, a
failed select fails its batch only, a cancelled caller leaves the others their answers; the
arrival and the registry's person and household read so give what they gave one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Select, bindparam, literal_column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.middlewares.ledger_db import _done_query
from demo import MARYAM_NID, PERSONA_MOBILES, PERSONA_NIDS, REZA_NID
from services.chat import ChatLookup, _arrival_query, _arrivals_query
from services.clock import FixedClock
from services.common import direct_reads, read
from services.db.models import ChatUser
from services.db.turn_reads import TurnReads, turn_reads
from services.identity import ChatUserInfo
from services.registry import (
    SqlRegistryGateway,
    _household_query,
    _households_query,
    _person_query,
    _persons_query,
)
from services.settings import Settings
from tests.services.helpers import chat_user, verified_user


async def _users(
    session: AsyncSession, settings: Settings, clock: FixedClock
) -> list[ChatUserInfo]:
    return [
        await verified_user(session, settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]),
        await verified_user(session, settings, clock, REZA_NID, PERSONA_MOBILES[REZA_NID]),
        await chat_user(session, settings, clock),
        await chat_user(session, settings, clock, platform="bale"),
    ]


def _arrivals(engine: AsyncEngine) -> TurnReads:
    many = _arrivals_query(engine.dialect.name)
    return TurnReads(engine, _arrival_query(), many, key="platform_user_id")


async def _one_by_one(session: AsyncSession, user: ChatUserInfo) -> list[tuple[Any, ...]]:
    parameters = {"platform": user.platform, "platform_user_id": user.platform_user_id}
    return [tuple(row) for row in await read(session, _arrival_query(), parameters)]


async def test_a_turns_look_ups_are_one_select_per_platform(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    engine = demo_db
    users = await _users(session, db_settings, clock)
    reads = _arrivals(engine)
    answers = await asyncio.gather(
        *(reads.rows({"platform": u.platform}, u.platform_user_id) for u in users),
        reads.rows({"platform": "telegram"}, -1),  # nobody
    )
    # Three Telegram users and the unknown id in one select, the Bale user in another.
    assert reads.selects == 2
    for user, rows in zip(users, answers, strict=False):
        assert rows == await _one_by_one(session, user)
        assert rows[0][0] == user.id
    assert answers[-1] == []


async def test_a_lone_look_up_takes_the_single_key_statement(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    engine = demo_db
    user = (await _users(session, db_settings, clock))[0]
    reads = _arrivals(engine)
    statements: list[str] = []
    original = reads._read

    async def spy(wanted: Any) -> Any:
        statements.append("one" if len(wanted) == 1 else "many")
        return await original(wanted)

    reads._read = spy  # type: ignore[method-assign]
    rows = await reads.rows({"platform": user.platform}, user.platform_user_id)
    assert rows == await _one_by_one(session, user)
    assert (statements, reads.selects) == (["one"], 1)


async def test_a_failed_select_fails_its_batch_only(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    engine = demo_db
    user = (await _users(session, db_settings, clock))[0]
    # A statement the database refuses (no such column) for several keys: both callers fail.
    broken: Select[*tuple[Any, ...]] = select(literal_column("1"), ChatUser.id).where(
        literal_column("no_such_column").in_(bindparam("ids", expanding=True))
    )
    reads = TurnReads(engine, _arrival_query(), broken, key="id")
    outcomes = await asyncio.gather(reads.rows({}, 1), reads.rows({}, 2), return_exceptions=True)
    assert all(isinstance(o, DBAPIError) for o in outcomes), outcomes
    # The next turn's look-up is read afresh.
    arrivals = _arrivals(engine)
    assert await arrivals.rows({"platform": user.platform}, user.platform_user_id)


async def test_a_cancelled_caller_leaves_the_others_their_rows(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    engine = demo_db
    first, second = (await _users(session, db_settings, clock))[:2]
    reads = _arrivals(engine)
    gone = asyncio.create_task(reads.rows({"platform": "telegram"}, first.platform_user_id))
    kept = asyncio.create_task(reads.rows({"platform": "telegram"}, second.platform_user_id))
    await asyncio.sleep(0)  # both queued in this turn
    gone.cancel()
    assert await kept == await _one_by_one(session, second)
    assert gone.cancelled()


async def test_chat_lookups_of_one_turn_share_a_select(
    demo_db: AsyncEngine, db_settings: Settings, clock: FixedClock
) -> None:
    """The bot's arrival: concurrent updates' look-ups, each in its own unit of work."""
    engine = demo_db
    async with AsyncSession(engine, expire_on_commit=False) as session:
        users = await _users(session, db_settings, clock)
    reads = turn_reads(
        engine, "arrival", _arrival_query(), _arrivals_query, key="platform_user_id"
    )
    before = reads.selects

    async def arrive(user: ChatUserInfo) -> ChatUserInfo:
        async with AsyncSession(engine) as own:
            arrival = await ChatLookup(own, db_settings, clock).arrive(
                user.platform, user.platform_user_id, "کاربر"
            )
            assert not own.in_transaction()  # the unit of work began nothing
            return arrival.user

    telegram = [u for u in users if u.platform == "telegram"]
    found = await asyncio.gather(*(arrive(u) for u in telegram))
    assert [f.id for f in found] == [u.id for u in telegram]
    assert [f.national_id for f in found] == [u.national_id for u in telegram]
    assert reads.selects - before == 1


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
async def test_a_session_in_a_transaction_reads_on_its_own(
    demo_db: AsyncEngine, db_settings: Settings, clock: FixedClock
) -> None:
    engine = demo_db
    async with AsyncSession(engine, expire_on_commit=False) as session:
        user = (await _users(session, db_settings, clock))[0]
        await session.execute(select(1))  # the session's transaction has begun
        reads = turn_reads(
            engine, "arrival", _arrival_query(), _arrivals_query, key="platform_user_id"
        )
        before = reads.selects
        arrival = await ChatLookup(session, db_settings, clock).arrive(
            user.platform, user.platform_user_id, "کاربر"
        )
        assert arrival.user.id == user.id
        assert reads.selects == before


async def test_registry_look_ups_of_one_turn_share_a_select(demo_db: AsyncEngine) -> None:
    """The registry's person and household, each update in its own unit of work: the same
    records as read one at a time, a household's dependants in their order."""
    engine = demo_db

    async def look_up(national_id: str) -> tuple[Any, Any]:
        async with AsyncSession(engine) as own:
            gateway = SqlRegistryGateway(own)
            return await gateway.person(national_id), await gateway.household(national_id)

    alone = [await look_up(nid) for nid in sorted(PERSONA_NIDS)] + [await look_up("0000000000")]
    persons = turn_reads(engine, "person", _person_query(), _persons_query, key="national_id")
    households = turn_reads(
        engine, "household", _household_query(), _households_query, key="national_id"
    )
    before = persons.selects, households.selects
    together = await asyncio.gather(*(look_up(n) for n in [*sorted(PERSONA_NIDS), "0000000000"]))
    assert together == alone
    assert alone[-1] == (None, None)
    assert any(len(household.dependants) > 1 for _, household in alone[:-1] if household)
    assert (persons.selects - before[0], households.selects - before[1]) == (1, 1)


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
async def test_on_postgresql_the_driver_runs_the_many_key_statements(demo_db: AsyncEngine) -> None:
    """``= ANY(array)``: one statement text for any number of keys, run by asyncpg itself (an
    unnamed statement behind PgBouncer, tests/cluster/test_pgbouncer.py), not prepared by
    SQLAlchemy outside a transaction; the update ledger's done-mark reads too."""
    reads = direct_reads(demo_db)
    assert reads is not None
    for many in (_arrivals_query, _persons_query, _households_query, _done_query):
        assert reads.eligible(many("postgresql")), many.__name__
