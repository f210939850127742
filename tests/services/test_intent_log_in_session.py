"""The intent log flushed in the escalating update's own session (services/intent_log.py).

On SQLite an update that has written holds the one write lock until it commits; a flush on the
writer's own connection waited for it until the 30 s busy timeout. ``flush_all(session)`` writes
in that session on SQLite, and puts the rows back in the queue if the update does not commit.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clock import FixedClock
from services.db.handoff_models import IntentLogEntry
from services.db.session_hooks import ON_ROLLBACK
from services.intent_log import IntentLogWriter


async def _texts(factory: async_sessionmaker[AsyncSession], chat_id: int) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(IntentLogEntry.text)
            .where(IntentLogEntry.chat_id == chat_id)
            .order_by(IntentLogEntry.id)
        )
        return [r or "" for r in rows]


def _record(writer: IntentLogWriter, chat_id: int, text: str) -> None:
    writer.record(
        platform="telegram",
        chat_id=chat_id,
        text=text,
        intent="greet",
        confidence=0.9,
        fallback=False,
    )


def _a_write(chat_id: int, clock: FixedClock) -> IntentLogEntry:
    return IntentLogEntry(
        platform="telegram",
        chat_id=chat_id,
        text="نوشته‌ی خود به‌روزرسانی",
        intent=None,
        confidence=None,
        is_fallback=False,
        from_bot=True,
        created_at=clock.now(),
    )


async def test_a_flush_while_the_update_holds_the_write_lock_does_not_wait(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    chat_id = 600_000 + uuid.uuid4().int % 100_000
    writer = IntentLogWriter(session_factory, clock, interval=60.0)
    try:
        _record(writer, chat_id, "سلام")
        async with session_factory() as update:
            # The update writes first (on SQLite: it now holds the write lock), then escalates.
            update.add(_a_write(chat_id, clock))
            await update.flush()
            started = time.monotonic()
            await writer.flush_all(update)
            elapsed = time.monotonic() - started
            # The escalation reads the transcript in its own session: the line is there.
            seen = await update.scalars(
                select(IntentLogEntry.text).where(
                    IntentLogEntry.chat_id == chat_id, IntentLogEntry.from_bot.is_(False)
                )
            )
            assert list(seen) == ["سلام"]
            await update.commit()
        assert elapsed < 5.0, f"the flush took {elapsed:.1f} s"
        assert writer.pending == 0
        assert sorted(await _texts(session_factory, chat_id)) == sorted(
            ["سلام", "نوشته‌ی خود به‌روزرسانی"]
        )
    finally:
        await writer.close()


async def test_rows_flushed_in_an_update_that_rolls_back_go_back_to_the_queue(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    chat_id = 650_000 + uuid.uuid4().int % 100_000
    writer = IntentLogWriter(session_factory, clock, interval=60.0)
    try:
        _record(writer, chat_id, "سلام")
        async with session_factory() as update:
            update.add(_a_write(chat_id, clock))
            await update.flush()
            await writer.flush_all(update)
            on_sqlite = update.get_bind().dialect.name == "sqlite"
            await update.rollback()
            # What bot.middlewares.db.UnitOfWorkMiddleware does when the update fails.
            for undo in update.info.pop(ON_ROLLBACK, ()):
                undo()
        # On SQLite the row was in the update's transaction: back in the queue, nothing lost.
        # Elsewhere it was written in a transaction of its own, the rollback did not touch it.
        assert writer.pending == (1 if on_sqlite else 0)
        await writer.flush()
        assert await _texts(session_factory, chat_id) == ["سلام"]
    finally:
        await writer.close()
