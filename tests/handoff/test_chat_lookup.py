"""The bot's per-update look-up: the chat user and the chat's live handoff in one query.

Counted at the database: a known user's update must cost exactly one SQL statement, whatever
the handoff state, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.chat import ChatLookup
from services.clock import FixedClock
from services.db import direct_reads
from services.enums import ConversationStatus
from services.handoff import Queued
from services.identity import ChatUserInfo
from services.settings import Settings
from tests.handoff.conftest import AgentFactory, Handoff
from tests.services.helpers import unique_platform_id


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """Collect the SQL statements sent through ``engine`` inside the block, with their
    parameters: SQLAlchemy's, and those the driver runs itself (services/db/direct_reads.py logs
    each at DEBUG, without its parameters: None here)."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    class Direct(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg == "ran directly: %s":
                args = record.args if isinstance(record.args, tuple) else ()
                seen.append((str(args[0] if args else ""), None))

    direct_logger = logging.getLogger(direct_reads.__name__)
    handler, level = Direct(logging.DEBUG), direct_logger.level
    direct_logger.addHandler(handler)
    direct_logger.setLevel(logging.DEBUG)
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        direct_logger.removeHandler(handler)
        direct_logger.setLevel(level)


async def test_first_contact_creates_the_user_then_one_query_per_update(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    lookup = ChatLookup(session, db_settings, clock)
    uid = unique_platform_id()
    first = await lookup.arrive("telegram", uid, "علی")
    assert first.user.platform_user_id == uid and first.user.first_name == "علی"
    assert first.handoff is None and not first.user.is_verified

    with statements(engine) as seen:
        again = await lookup.arrive("telegram", uid, "علی")
    assert len(seen) == 1
    assert again.user == first.user and again.handoff is None
    # Telegram and Bale ids collide: the same number on Bale is someone else.
    assert (await lookup.arrive("bale", uid, "علی")).user.id != first.user.id


async def test_a_new_first_name_is_stored_and_a_long_one_is_not_rewritten(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    lookup = ChatLookup(session, db_settings, clock)
    uid = unique_platform_id()
    await lookup.arrive("telegram", uid, "علی")
    renamed = await lookup.arrive("telegram", uid, "علیرضا")
    assert renamed.user.first_name == "علیرضا"

    long_name = "ن" * 100
    stored = await lookup.arrive("telegram", uid, long_name)
    assert stored.user.first_name == long_name[:64]
    with statements(engine) as seen:
        unchanged = await lookup.arrive("telegram", uid, long_name)
    assert len(seen) == 1, "a name longer than the column must not be written on every update"
    assert unchanged.user.first_name == long_name[:64]


async def test_the_handoff_state_comes_with_the_user(
    engine: AsyncEngine,
    session: AsyncSession,
    maryam: ChatUserInfo,
    handoff: Handoff,
    agent_factory: AgentFactory,
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    sara = await agent_factory("sara")
    lookup = ChatLookup(session, db_settings, clock)
    chat = maryam.platform_user_id
    assert (await lookup.arrive("telegram", chat, "کاربر")).handoff is None

    outcome = await handoff.escalation.escalate(
        platform="telegram", chat_id=chat, chat_user_id=maryam.id, ticket_text="گفتگو"
    )
    assert isinstance(outcome, Queued)
    with statements(engine) as seen:
        pending = await lookup.arrive("telegram", chat, "کاربر")
    assert len(seen) == 1
    assert pending.user.id == maryam.id and pending.user.is_verified
    assert pending.handoff is not None
    assert pending.handoff.status is ConversationStatus.QUEUED
    assert pending.handoff.agent_id is None

    await handoff.desk.take(sara, pending.handoff.id)
    taken = await lookup.arrive("telegram", chat, "کاربر")
    assert taken.handoff is not None and taken.handoff.status is ConversationStatus.OPEN
    assert taken.handoff.agent_id == sara.id

    await handoff.escalation.leave("telegram", chat)
    assert (await lookup.arrive("telegram", chat, "کاربر")).handoff is None


async def test_the_look_up_uses_the_index_of_active_conversations(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    """The statement as the bot sends it, planned as the database plans it: the statuses are
    SQL literals, so the partial unique index of a chat's active conversation serves the join.
    With them as bound parameters SQLite searched every active conversation by status, and a
    PostgreSQL generic plan (prepared statements) could not use the partial index."""
    lookup = ChatLookup(session, db_settings, clock)
    uid = unique_platform_id()
    await lookup.arrive("telegram", uid, "علی")
    with statements(engine) as sent:
        await lookup.arrive("telegram", uid, "علی")
    ((statement, parameters),) = sent
    if parameters is None:  # run by the driver: the platform, the user, LIMIT (SQLite: OFFSET)
        parameters = ("telegram", uid, 1) + ((0,) if engine.dialect.name == "sqlite" else ())
    connection = await session.connection()
    if engine.dialect.name == "sqlite":
        explain = f"EXPLAIN QUERY PLAN {statement}"
        plan = (await connection.exec_driver_sql(explain, parameters)).all()
    else:
        await connection.exec_driver_sql(f"PREPARE arrival AS {statement}")
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        # On the test's few rows a scan would win; forbidding it shows which index can serve.
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        values = ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in parameters)
        plan = (await connection.exec_driver_sql(f"EXPLAIN EXECUTE arrival({values})")).all()
        await connection.exec_driver_sql("DEALLOCATE arrival")
    details = " ".join(str(row[-1]) for row in plan)
    assert "uq_conversations_active_chat" in details, details
