"""Fixtures of the handoff tests: agents who are online, verified chat users, services.

Builds on the root conftest (a migrated database on SQLite and on PostgreSQL, a fixed clock at
Saturday 10:00 Tehran time, inside the contact centre's hours).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sandbox.client import SandboxClient
from sandbox.config import demo_config
from sandbox.server import SandboxServer
from services.agents import AgentPublic, AgentRole, AgentService
from services.clock import FixedClock
from services.handoff import (
    AgentDesk,
    Catalogue,
    ConversationViews,
    EscalationService,
    TicketDesk,
)
from services.identity import ChatUserInfo
from services.settings import Settings
from tests.bot.conftest import redis_available  # noqa: F401 (the fixture, shared)
from tests.conftest import with_config
from tests.services.helpers import chat_user, verified_user

PASSWORD = "a-long-test-password"
# Cheap argon2 for tests (each real hash costs half a second on a small machine).
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="session")
def db_settings(db_settings: Settings) -> Settings:
    """The root fixture's database settings, with cheap password hashing."""
    return with_config(db_settings, "agents", **FAST_ARGON2)


MARYAM = ("6508124226", "09121234567")


async def make_agent(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FixedClock,
    username: str,
    role: AgentRole = AgentRole.AGENT,
    *,
    online: bool = True,
) -> AgentPublic:
    """Create an agent; ``online`` signs them in (which marks them seen now)."""
    async with session_factory() as session, session.begin():
        agents = AgentService(session, settings, clock)
        agent = await agents.create(
            username=username, display_name=f"کارشناس {username}", password=PASSWORD, role=role
        )
        if online:
            agent = await agents.authenticate(username=username, password=PASSWORD, ip="10.0.0.1")
        return agent


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


class Handoff:
    """The handoff's services on one session: the bot's side and the console's."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: FixedClock) -> None:
        self.escalation = EscalationService(session, settings, clock)
        self.desk = AgentDesk(session, settings, clock)
        self.views = ConversationViews(session, settings, clock)
        self.catalogue = Catalogue(session, settings, clock)
        self.tickets = TicketDesk(session, settings, clock)


@pytest.fixture
def handoff(session: AsyncSession, db_settings: Settings, clock: FixedClock) -> Handoff:
    return Handoff(session, db_settings, clock)


@pytest.fixture
async def maryam(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> ChatUserInfo:
    """مریم رضایی, verified on Telegram."""
    return await verified_user(session, db_settings, clock, *MARYAM)


@pytest.fixture
async def stranger(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> ChatUserInfo:
    """A chat user who has not verified."""
    return await chat_user(session, db_settings, clock)


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    """The Bot API sandbox (Telegram only) the outbound sender delivers to."""
    async with SandboxServer(demo_config(bale_token=None)) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url) as client:
        yield client
