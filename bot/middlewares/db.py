"""One database session per update: the unit of work of everything the update does.

The session is opened lazily-cheap (SQLAlchemy connects on first use), committed when the
handlers finish and rolled back when they fail, so an update never leaves a half-written record.
Services only flush: this is the one commit of an update. A refusal (a ``DomainError``) is an
answer, not a failure: what the service recorded before refusing stays (a failed verification
attempt counts even though the user is told no), so it is committed too.

When the dedupe ledger is this database (no Redis), the update's *done* mark is written in this
same transaction (:mod:`bot.middlewares.dedupe`): the update's records and the mark that it was
handled commit together or not at all.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deps import ServicesFactory
from bot.middlewares.dedupe import Lease
from services.db.session_hooks import ON_ROLLBACK, has_work
from services.errors import DomainError

# The session of the update being handled, for what must join its transaction from outside the
# handlers' parameters: an answer that ``bot.pacing`` hands to the outbox.
update_session: contextvars.ContextVar[AsyncSession | None] = contextvars.ContextVar(
    "update_session", default=None
)

__all__ = ["ON_ROLLBACK", "UnitOfWorkMiddleware", "update_session"]


class UnitOfWorkMiddleware(BaseMiddleware):
    """Outer update middleware: ``session`` and ``services`` for the handlers."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], services: ServicesFactory
    ) -> None:
        self.session_factory = session_factory
        self.services = services

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            data["services"] = self.services(session)
            token = update_session.set(session)
            try:
                try:
                    result = await handler(event, data)
                except DomainError:
                    await self._commit(session, data)
                    raise
                except BaseException:
                    await session.rollback()
                    raise
                finally:
                    update_session.reset(token)
                await self._commit(session, data)
            except BaseException:
                # What kept a copy of this update's writes (the FSM storage's cache) drops it.
                for forget in session.info.pop(ON_ROLLBACK, ()):
                    forget()
                raise
            return result

    @staticmethod
    async def _commit(session: AsyncSession, data: dict[str, Any]) -> None:
        lease: Lease | None = data.get("update_lease")
        marked = lease is not None and await lease.complete_in(session)
        # Nothing begun and nothing pending (an update that only read: its reads ran
        # outside any transaction, services.common.read; a done mark written here begins
        # one): no commit to make, and the session's empty one cost CPU on every such update.
        if has_work(session):
            await session.commit()
        if marked and lease is not None:
            lease.done = True
