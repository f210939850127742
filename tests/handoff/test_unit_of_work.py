"""The bot's unit of work per update (``bot/middlewares/db.py``) on SQLite and PostgreSQL.

An update that only read commits nothing (its reads began no transaction); one
that added a row commits it even if nothing was flushed; one that failed leaves nothing; one
that was refused (a ``DomainError``) keeps what the service recorded before refusing.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import ServicesFactory
from bot.middlewares.db import UnitOfWorkMiddleware
from services.chat import ChatLookup
from services.clock import FixedClock
from services.common import audit
from services.db.models import AuditLog, ChatUser, VerificationAttempt
from services.errors import IdentityMismatch, NotVerified
from services.identity import IdentityService
from services.intent_log import IntentLogWriter
from services.settings import Settings
from tests.services.helpers import chat_user


def _middleware(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings, clock: FixedClock
) -> UnitOfWorkMiddleware:
    services = ServicesFactory(settings, clock, IntentLogWriter(session_factory, clock))
    return UnitOfWorkMiddleware(session_factory, services)


async def _audit_rows(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditLog)) or 0)


async def test_a_read_only_update_commits_nothing_and_a_written_one_commits(
    demo_db: Any,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    async with session_factory() as setup:
        user = await chat_user(setup, db_settings, clock)
    middleware = _middleware(session_factory, db_settings, clock)
    commits: list[str] = []

    def watch(session: AsyncSession) -> None:
        event.listen(session.sync_session, "after_commit", lambda _s: commits.append("commit"))

    async def only_reads(_event: Any, data: dict[str, Any]) -> str:
        watch(data["session"])
        lookup = ChatLookup(data["session"], db_settings, clock)
        arrival = await lookup.arrive(user.platform, user.platform_user_id, "کاربر")
        return str(arrival.user.id)

    assert await middleware(only_reads, Update(update_id=1), {}) == str(user.id)
    assert commits == []  # nothing was begun, so nothing was committed
    before = await _audit_rows(session_factory)

    async def adds_a_row(_event: Any, data: dict[str, Any]) -> None:
        watch(data["session"])
        audit(data["session"], clock, actor="bot", action="test.unit_of_work")  # not flushed

    commits.clear()
    await middleware(adds_a_row, Update(update_id=1), {})
    assert commits == ["commit"]
    assert await _audit_rows(session_factory) == before + 1

    async def fails(_event: Any, data: dict[str, Any]) -> None:
        audit(data["session"], clock, actor="bot", action="test.unit_of_work")
        await data["session"].flush()
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await middleware(fails, Update(update_id=1), {})
    assert await _audit_rows(session_factory) == before + 1

    async def refuses(_event: Any, data: dict[str, Any]) -> None:
        # What a service records before refusing stays (a failed verification counts).
        audit(data["session"], clock, actor="bot", action="test.refusal_recorded")
        await data["session"].flush()
        raise NotVerified()

    with pytest.raises(NotVerified):
        await middleware(refuses, Update(update_id=1), {})
    assert await _audit_rows(session_factory) == before + 2


async def test_a_refused_verification_counts_through_the_unit_of_work(
    demo_db: Any,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    """The identity service only flushes the failed attempt; the update's commit keeps it."""
    async with session_factory() as setup:
        user = await chat_user(setup, db_settings, clock)
    middleware = _middleware(session_factory, db_settings, clock)

    async def shares_and_types(_event: Any, data: dict[str, Any]) -> None:
        identity = IdentityService(data["session"], db_settings, clock)
        await identity.register_contact(
            user.id, contact_user_id=user.platform_user_id, phone_number="09121234567"
        )
        await identity.verify(user.id, "0499370899")  # valid, but not this mobile's owner

    with pytest.raises(IdentityMismatch):
        await middleware(shares_and_types, Update(update_id=1), {})
    async with session_factory() as session:
        attempts = await session.scalar(
            select(func.count())
            .select_from(VerificationAttempt)
            .where(VerificationAttempt.chat_user_id == user.id)
        )
        mobile = await session.scalar(select(ChatUser.mobile).where(ChatUser.id == user.id))
    assert attempts == 1
    assert mobile == "09121234567"
