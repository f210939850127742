"""Fixtures of the handoff tests: agents who are online, verified chat users, services.

Builds on the root conftest (a migrated database on SQLite and on PostgreSQL, a fixed clock at
Saturday 10:00 Tehran time, inside the contact centre's hours).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.agents import AgentPublic, AgentRole, AgentService
from services.clock import FixedClock
from services.handoff import HandoffService
from services.identity import ChatUserInfo
from services.settings import Settings
from tests.services.helpers import chat_user, verified_user

PASSWORD = "a-long-test-password"
# Cheap argon2 for tests (each real hash costs half a second on a small machine).
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


def with_extra(settings: Settings, section: str, **values: Any) -> Settings:
    """Return ``settings`` with values of one of our own ``config.yml`` sections replaced."""
    extra = dict(settings.config.model_extra or {})
    extra[section] = {**(extra.get(section) or {}), **values}
    return settings.model_copy(update={"config": settings.config.model_copy(update=extra)})


@pytest.fixture(scope="session")
def db_settings(db_settings: Settings) -> Settings:
    """The root fixture's database settings, with cheap password hashing."""
    return with_extra(db_settings, "agents", **FAST_ARGON2)


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
    async with session_factory() as session:
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


@pytest.fixture
def handoff(session: AsyncSession, db_settings: Settings, clock: FixedClock) -> HandoffService:
    return HandoffService(session, db_settings, clock)


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
