"""What joins a session's transaction and must be undone in memory when it does not commit,
and whether a session has anything to commit at all.

A writer that keeps a copy of what it wrote in a session it does not own (the FSM storage's
cache, the intent log's queue) registers a callable with :func:`on_rollback`; the owner of the
session (``bot.middlewares.db.UnitOfWorkMiddleware``, one session per update) calls each of them
when the transaction is rolled back or its commit fails.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

# ``session.info`` key: callables to run when the session's transaction is not committed.
ON_ROLLBACK = "on_rollback"


def on_rollback(session: AsyncSession, undo: Callable[[], None]) -> None:
    """Run ``undo`` if ``session``'s transaction is not committed."""
    session.info.setdefault(ON_ROLLBACK, []).append(undo)


def has_work(session: AsyncSession) -> bool:
    """Whether ``session`` began a transaction or holds changes not yet flushed: something to
    commit. An update that only read has neither (its reads ran outside any transaction,
    ``services.common.read``), and needs no commit."""
    return bool(session.in_transaction() or session.new or session.dirty or session.deleted)
