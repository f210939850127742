"""Agent accounts: argon2 hashes, throttled sign-in, sessions, who is online."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.agents import (
    ADDRESS_FACTOR,
    PASSWORD_MIN,
    AgentExists,
    AgentRole,
    AgentService,
    InvalidAgentData,
    InvalidCredentials,
    LoginThrottled,
    hash_password,
    verify_password,
)
from services.clock import FixedClock
from services.db.handoff_models import Agent, AgentSession
from services.db.models import AuditLog
from services.settings import Settings
from tests.handoff.conftest import PASSWORD, AgentFactory


@pytest.fixture
def agents(session: AsyncSession, db_settings: Settings, clock: FixedClock) -> AgentService:
    return AgentService(session, db_settings, clock)


def test_argon2_hash_round_trip() -> None:
    digest = hash_password("correct horse")
    assert digest.startswith("$argon2id$")
    assert verify_password(digest, "correct horse")
    assert not verify_password(digest, "wrong horse")
    assert not verify_password("not a hash", "correct horse")


async def test_create_stores_only_the_hash_and_audits(
    agents: AgentService, session: AsyncSession
) -> None:
    agent = await agents.create(
        username="  Sara ", display_name="سارا", password=PASSWORD, role="supervisor"
    )
    assert agent.username == "sara" and agent.role is AgentRole.SUPERVISOR
    stored = await session.scalar(select(Agent.password_hash).where(Agent.id == agent.id))
    assert stored is not None and PASSWORD not in stored and stored.startswith("$argon2")
    actions = (await session.scalars(select(AuditLog.action))).all()
    assert "agent.create" in actions


@pytest.mark.parametrize(
    ("username", "name", "password", "role", "problem"),
    [
        ("", "x", PASSWORD, "agent", "username"),
        ("سارا", "x", PASSWORD, "agent", "username"),
        ("has space", "x", PASSWORD, "agent", "username"),
        ("sara", " ", PASSWORD, "agent", "display_name"),
        ("sara", "x", "short", "agent", "password_too_short"),
        ("sara", "x", PASSWORD, "boss", "role"),
    ],
)
async def test_create_validates(
    agents: AgentService, username: str, name: str, password: str, role: str, problem: str
) -> None:
    with pytest.raises(InvalidAgentData) as error:
        await agents.create(username=username, display_name=name, password=password, role=role)
    assert error.value.problem == problem


async def test_duplicate_username(agents: AgentService) -> None:
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    with pytest.raises(AgentExists):
        await agents.create(username="SARA", display_name="سارا", password=PASSWORD)


async def test_authenticate(agents: AgentService) -> None:
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    agent = await agents.authenticate(username="Sara", password=PASSWORD, ip="1.1.1.1")
    assert agent.username == "sara" and agent.last_seen_at is not None
    with pytest.raises(InvalidCredentials):
        await agents.authenticate(username="sara", password="wrong-password", ip="1.1.1.1")
    with pytest.raises(InvalidCredentials):
        await agents.authenticate(username="nobody", password=PASSWORD, ip="1.1.1.1")


async def test_someone_elsewhere_cannot_lock_an_agent_out(agents: AgentService) -> None:
    # Issue 17, finding 7: failures counted per name locked the agent out for 15 minutes.
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    limit = agents.config.login_max_failures
    for _ in range(limit - 1):
        with pytest.raises(InvalidCredentials):
            await agents.authenticate(username="sara", password="bad", ip="6.6.6.6")
    for _ in range(3):
        with pytest.raises(LoginThrottled):
            await agents.authenticate(username="sara", password="bad", ip="6.6.6.6")
    # Throttled from the guessing address even with the right password …
    with pytest.raises(LoginThrottled):
        await agents.authenticate(username="sara", password=PASSWORD, ip="6.6.6.6")
    # … but Sara at her own desk signs in.
    agent = await agents.authenticate(username="sara", password=PASSWORD, ip="10.0.0.7")
    assert agent.username == "sara"


async def test_the_delay_grows_with_every_failure_up_to_the_longest(
    agents: AgentService, clock: FixedClock
) -> None:
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    config = agents.config
    for _ in range(config.login_max_failures - 1):
        with pytest.raises(InvalidCredentials):
            await agents.authenticate(username="sara", password="bad", ip="1.1.1.1")
    delays = []
    for _ in range(8):
        with pytest.raises(LoginThrottled) as error:
            await agents.authenticate(username="sara", password="bad", ip="1.1.1.1")
        delays.append(error.value.until - clock.now())
        # Waiting: even the right password is refused, and the refusal is not a failure.
        clock.set(error.value.until - dt.timedelta(seconds=1))
        with pytest.raises(LoginThrottled):
            await agents.authenticate(username="sara", password=PASSWORD, ip="1.1.1.1")
        clock.set(error.value.until)
    first = dt.timedelta(seconds=config.login_delay_seconds)
    longest = dt.timedelta(minutes=config.login_lockout_minutes)
    assert delays == [min(first * 2**n, longest) for n in range(8)]
    assert delays[-1] == longest
    agent = await agents.authenticate(username="sara", password=PASSWORD, ip="1.1.1.1")
    assert agent.username == "sara"


async def test_throttle_per_address(agents: AgentService) -> None:
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    limit = agents.config.login_max_failures * ADDRESS_FACTOR
    for i in range(limit - 1):
        with pytest.raises(InvalidCredentials):
            await agents.authenticate(username=f"guess{i}", password="bad", ip="6.6.6.6")
    with pytest.raises(LoginThrottled):
        await agents.authenticate(username="guess-last", password="bad", ip="6.6.6.6")
    with pytest.raises(LoginThrottled):
        await agents.authenticate(username="sara", password=PASSWORD, ip="6.6.6.6")
    # Another address is not affected.
    assert (await agents.authenticate(username="sara", password=PASSWORD, ip="7.7.7.7")).id


async def test_hashing_runs_off_the_event_loop(agents: AgentService) -> None:
    # Issue 17, finding 7: argon2 on the event loop stalled the bot's replies.
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    loop = asyncio.get_running_loop()
    threads: list[bool] = []
    real = agents._verify

    def spy(password_hash: str | None, password: str) -> bool:
        threads.append(threading.get_ident() != loop_thread)
        return real(password_hash, password)

    loop_thread = threading.get_ident()
    agents._verify = spy  # type: ignore[method-assign]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = loop.create_task(ticker())
    with pytest.raises(InvalidCredentials):
        await agents.authenticate(username="sara", password="bad", ip="1.1.1.1")
    beat.cancel()
    assert threads == [True]
    assert ticks > 1  # the loop kept turning while the hash was checked


def test_passwords_have_at_least_twelve_characters() -> None:
    assert PASSWORD_MIN == 12


async def test_an_eleven_character_password_is_refused(agents: AgentService) -> None:
    with pytest.raises(InvalidAgentData) as error:
        await agents.create(username="sara", display_name="سارا", password="a" * 11)
    assert error.value.problem == "password_too_short"
    agent = await agents.create(username="sara", display_name="سارا", password="a" * 12)
    with pytest.raises(InvalidAgentData):
        await agents.set_password(agent.id, "b" * 11, actor="agent:boss")


async def test_failures_outside_the_window_do_not_lock(
    agents: AgentService, clock: FixedClock
) -> None:
    await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    limit = agents.config.login_max_failures
    for _ in range(limit - 1):
        with pytest.raises(InvalidCredentials):
            await agents.authenticate(username="sara", password="bad", ip="1.1.1.1")
    clock.advance(dt.timedelta(minutes=agents.config.login_window_minutes, seconds=1))
    with pytest.raises(InvalidCredentials):
        await agents.authenticate(username="sara", password="bad", ip="1.1.1.1")


async def test_disabled_agent_cannot_sign_in_and_loses_sessions(
    agents: AgentService, session: AsyncSession
) -> None:
    agent = await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    token = await agents.open_session(agent)
    assert await agents.session_agent(token) is not None
    await agents.set_active(agent.id, False, actor="agent:boss")
    assert await agents.session_agent(token) is None
    assert await session.scalar(select(func.count()).select_from(AgentSession)) == 0
    with pytest.raises(InvalidCredentials):
        await agents.authenticate(username="sara", password=PASSWORD, ip="1.1.1.1")


async def test_sessions_expire_and_close(agents: AgentService, clock: FixedClock) -> None:
    agent = await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    token = await agents.open_session(agent)
    found = await agents.session_agent(token)
    assert found is not None and found.id == agent.id
    assert await agents.session_agent(token + "x") is None
    clock.advance(dt.timedelta(hours=agents.config.session_hours))
    assert await agents.session_agent(token) is None
    token = await agents.open_session(agent)
    await agents.close_session(token)
    assert await agents.session_agent(token) is None


async def test_new_password_ends_sessions(agents: AgentService) -> None:
    agent = await agents.create(username="sara", display_name="سارا", password=PASSWORD)
    token = await agents.open_session(agent)
    await agents.set_password(agent.id, "another-long-password", actor="cli")
    assert await agents.session_agent(token) is None
    assert await agents.authenticate(username="sara", password="another-long-password", ip="x")


async def test_who_is_online(
    agents: AgentService, agent_factory: AgentFactory, clock: FixedClock
) -> None:
    sara = await agent_factory("sara")
    await agent_factory("reza", online=False)
    assert await agents.count_online() == 1
    await agents.set_available(sara, False)
    assert await agents.count_online() == 0
    await agents.set_available(sara, True)
    assert await agents.count_online() == 1
    clock.advance(dt.timedelta(seconds=agents.config.online_window_seconds + 1))
    assert await agents.count_online() == 0
    presence = {p.agent.username: p.online for p in await agents.list_agents()}
    assert presence == {"sara": False, "reza": False}


async def test_signing_out_of_the_last_session_goes_offline(
    agents: AgentService, agent_factory: AgentFactory
) -> None:
    sara = await agent_factory("sara")
    token = await agents.open_session(sara)
    assert await agents.count_online() == 1
    await agents.close_session(token)
    assert await agents.count_online() == 0


async def test_demo_agents_are_created_once(agents: AgentService) -> None:
    from demo import ensure_demo_agents

    first = await ensure_demo_agents(agents)
    again = await ensure_demo_agents(agents)
    assert [a.id for a in first] == [a.id for a in again]
    assert [(a.username, a.role) for a in first] == [
        ("agent", AgentRole.AGENT),
        ("supervisor", AgentRole.SUPERVISOR),
    ]
