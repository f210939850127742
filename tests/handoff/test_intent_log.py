"""The batching intent-log writer: rows reach the database in order, within the interval, and
survive a database that refuses them for a while; nothing waits in memory without bound."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.clock import FixedClock
from services.db.handoff_models import IntentLogEntry
from services.intent_log import MAX_LOGGED_TEXT, IntentLogWriter
from tests.services.helpers import unique_platform_id


def record(writer: IntentLogWriter, chat_id: int, text: str, *, fallback: bool = False) -> None:
    writer.record(
        platform="telegram",
        chat_id=chat_id,
        text=text,
        intent=None if fallback else "greet",
        confidence=0.9,
        fallback=fallback,
    )


async def texts_of(session_factory: async_sessionmaker[AsyncSession], chat_id: int) -> list[str]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(IntentLogEntry.text)
            .where(IntentLogEntry.chat_id == chat_id)
            .order_by(IntentLogEntry.id)
        )
        return [r or "" for r in rows]


class FlakySessions:
    """A session factory whose first ``failures`` sessions use a database that cannot open."""

    def __init__(
        self, real: async_sessionmaker[AsyncSession], tmp_path: Path, failures: int
    ) -> None:
        self.real = real
        self.failures = failures
        broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
        self.broken = async_sessionmaker(broken)

    def __call__(self) -> AsyncSession:
        if self.failures > 0:
            self.failures -= 1
            return self.broken()
        return self.real()


async def test_rows_wait_for_a_flush_and_arrive_in_order(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    writer = IntentLogWriter(session_factory, clock, interval=60)
    chat = unique_platform_id()
    record(writer, chat, "سلام")
    record(writer, chat, "ب" * (MAX_LOGGED_TEXT + 10), fallback=True)
    assert writer.pending == 2
    assert await texts_of(session_factory, chat) == []

    assert await writer.flush() == 2
    assert writer.pending == 0
    assert await texts_of(session_factory, chat) == ["سلام", "ب" * MAX_LOGGED_TEXT]
    async with session_factory() as session:
        fallback = await session.scalar(
            select(IntentLogEntry.is_fallback).where(
                IntentLogEntry.chat_id == chat, IntentLogEntry.intent.is_(None)
            )
        )
    assert fallback is True
    await writer.close()


async def test_the_background_task_writes_within_the_interval_and_then_ends(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    writer = IntentLogWriter(session_factory, clock, interval=0.05)
    chat = unique_platform_id()
    for n in range(30):
        record(writer, chat, f"پیام {n}")
    for _ in range(500):  # bounded: 10 s at most
        if not writer.pending:
            break
        await asyncio.sleep(0.02)
    assert await texts_of(session_factory, chat) == [f"پیام {n}" for n in range(30)]
    # Nothing left to write: the task ends by itself (an idle bot keeps no task).
    await asyncio.sleep(0.2)
    assert writer._task is not None and writer._task.done()
    record(writer, chat, "دوباره")
    await writer.close()
    assert (await texts_of(session_factory, chat))[-1] == "دوباره"


async def test_a_refused_batch_is_kept_and_written_later(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> None:
    flaky = FlakySessions(session_factory, tmp_path, failures=1)
    writer = IntentLogWriter(flaky, clock, interval=60)  # type: ignore[arg-type]
    chat = unique_platform_id()
    record(writer, chat, "اول")
    assert await writer.flush() == 0  # the database refused: nothing lost
    assert writer.pending == 1
    record(writer, chat, "دوم")
    assert await writer.flush() == 2
    assert await texts_of(session_factory, chat) == ["اول", "دوم"]
    await writer.close()


async def test_while_the_database_is_down_only_the_newest_rows_are_kept(
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = FlakySessions(session_factory, tmp_path, failures=1)
    writer = IntentLogWriter(flaky, clock, interval=60, limit=3)  # type: ignore[arg-type]
    chat = unique_platform_id()
    for n in range(5):
        record(writer, chat, f"پیام {n}")
    assert writer.pending == 3 and writer.dropped == 2
    assert "oldest rows dropped" in caplog.text
    assert await writer.flush() == 0
    await writer.close()
    assert await texts_of(session_factory, chat) == ["پیام 2", "پیام 3", "پیام 4"]


async def test_close_writes_what_is_left(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    writer = IntentLogWriter(session_factory, clock, interval=60)
    chat = unique_platform_id()
    record(writer, chat, "آخرین")
    await writer.close()
    assert writer.pending == 0
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(IntentLogEntry).where(IntentLogEntry.chat_id == chat)
        )
    assert count == 1


async def test_interval_and_limit_must_be_positive(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    with pytest.raises(ValueError):
        IntentLogWriter(session_factory, clock, interval=0)
    with pytest.raises(ValueError):
        IntentLogWriter(session_factory, clock, limit=0)


async def test_a_nul_byte_is_stripped_and_a_refused_row_does_not_hold_back_the_others(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    # Issue 17, finding 3: on PostgreSQL one U+0000 made every batch fail for good.
    writer = IntentLogWriter(session_factory, clock, interval=60)
    chat = unique_platform_id()
    record(writer, chat, "قبل")
    record(writer, chat, "سلام\x00\x07 دنیا\nخط دوم")
    writer.record(
        platform="telegram",
        chat_id=chat,
        text="نیت بسیار بلند",
        # Longer than the column: PostgreSQL refuses the row (SQLite stores it).
        intent="x" * 200,
        confidence=0.5,
        fallback=False,
    )
    record(writer, chat, "بعد")
    written = await writer.flush()
    assert writer.pending == 0
    logged = await texts_of(session_factory, chat)
    async with session_factory() as session:
        assert session.bind is not None
        dialect = session.bind.dialect.name
    if dialect == "postgresql":
        assert written == 3 and writer.refused == 1
        assert logged == ["قبل", "سلام دنیا\nخط دوم", "بعد"]
    else:
        assert written == 4 and writer.refused == 0
        assert logged == ["قبل", "سلام دنیا\nخط دوم", "نیت بسیار بلند", "بعد"]
    await writer.close()
