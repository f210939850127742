"""The console's unit of work per request (``console/deps.py``), on SQLite and PostgreSQL.

A route's writes are committed once when it returns; a route that fails leaves nothing; a
refusal (a ``DomainError``, shown as a page) keeps what was recorded before it.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console.deps import ClockDep, SessionDep
from services.common import audit
from services.db.models import AuditLog
from services.errors import InvalidLabel


async def _actions(session_factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_factory() as session:
        rows = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        return list(rows)


async def test_one_commit_per_request_and_none_for_a_failure(
    app: FastAPI, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    @app.get("/test/writes")
    async def writes(session: SessionDep, clock: ClockDep) -> dict[str, int]:
        audit(session, clock, actor="test", action="uow.written")  # not even flushed
        return {"pending": len(session.new)}

    @app.get("/test/fails")
    async def fails(session: SessionDep, clock: ClockDep) -> None:
        audit(session, clock, actor="test", action="uow.failed")
        await session.flush()
        raise RuntimeError("the route failed")

    @app.get("/test/refuses")
    async def refuses(session: SessionDep, clock: ClockDep) -> None:
        audit(session, clock, actor="test", action="uow.refused")
        await session.flush()
        raise InvalidLabel("x")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        written = await client.get("/test/writes")
        assert written.status_code == 200 and written.json() == {"pending": 1}
        assert await _actions(session_factory) == ["uow.written"]

        assert (await client.get("/test/fails")).status_code == 500
        assert await _actions(session_factory) == ["uow.written"]

        refused = await client.get("/test/refuses")
        assert refused.status_code == 400
        assert await _actions(session_factory) == ["uow.written", "uow.refused"]
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog)) == 2
