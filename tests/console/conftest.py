"""Fixtures of the console tests: the real app over ASGI, signed-in clients, queued chats.

The console runs on the root conftest's migrated database (SQLite and PostgreSQL) with the
fixed clock (Saturday 10:00 Tehran, inside working hours).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from console.app import create_console_app
from services.agents import AgentPublic, AgentRole
from services.clock import FixedClock
from services.handoff import Queued
from services.identity import ChatUserInfo
from services.knowledge.store import KnowledgeStore
from services.settings import Settings
from tests.conftest import with_config
from tests.handoff.conftest import FAST_ARGON2, MARYAM, PASSWORD, Handoff, make_agent
from tests.services.helpers import verified_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def db_settings(db_settings: Settings) -> Settings:
    return with_config(db_settings, "agents", **FAST_ARGON2)


@pytest.fixture
def app(
    db_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    knowledge_store: KnowledgeStore,
) -> FastAPI:
    return create_console_app(db_settings, session_factory, clock, knowledge=knowledge_store)


class Console:
    """An HTTP client of the console that remembers the page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self.csrf = ""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(url, **kwargs)
        match = CSRF.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response

    async def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf
        return await self.http.post(url, data=form, **kwargs)

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        response = await self.post("/login", {"username": username, "password": password})
        if response.status_code == 303:
            await self.get(response.headers["location"])
        return response


ConsoleFactory = Callable[..., Coroutine[Any, Any, Console]]


@pytest.fixture
async def console_factory(app: FastAPI) -> AsyncIterator[ConsoleFactory]:
    clients: list[httpx.AsyncClient] = []

    async def factory(username: str | None = None) -> Console:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        console = Console(client)
        if username is not None:
            response = await console.login(username)
            assert response.status_code == 303, response.text
        return console

    yield factory
    for client in clients:
        await client.aclose()


AgentFactory = Callable[..., Coroutine[Any, Any, AgentPublic]]


@pytest.fixture
def agent_factory(
    session_factory: async_sessionmaker[AsyncSession], db_settings: Settings, clock: FixedClock
) -> AgentFactory:
    async def factory(
        username: str, role: AgentRole = AgentRole.AGENT, *, online: bool = True
    ) -> AgentPublic:
        return await make_agent(session_factory, db_settings, clock, username, role, online=online)

    return factory


@pytest.fixture
async def maryam(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> ChatUserInfo:
    return await verified_user(session, db_settings, clock, *MARYAM)


@pytest.fixture
async def queued(
    maryam: ChatUserInfo,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    agent_factory: AgentFactory,
) -> int:
    """Sara and Reza (agents) and Boss (supervisor) exist; Maryam waits in the queue."""
    await agent_factory("sara")
    await agent_factory("reza")
    await agent_factory("boss", AgentRole.SUPERVISOR)
    outcome = await Handoff(session, db_settings, clock).escalation.escalate(
        platform=maryam.platform,
        chat_id=maryam.platform_user_id,
        chat_user_id=maryam.id,
        ticket_text="درخواست گفتگو با کارشناس",
    )
    await session.commit()
    assert isinstance(outcome, Queued)
    return outcome.conversation_id
