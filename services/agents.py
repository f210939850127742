"""1420 agents and supervisors: accounts, argon2 passwords, throttled sign-in, console sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation);
sign-in failures are counted per username and per client address in the database, so the
throttle holds across workers and restarts. A console session is a random token: the cookie
carries it, the table keeps only its SHA-256, so a copy of the database opens no session. An
agent counts as online while their console was seen recently and they have not set "away".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import Clock
from services.common import audit
from services.db.handoff_models import Agent, AgentSession, LoginAttempt
from services.errors import DomainError
from services.settings import AgentsConfig, Settings

logger = logging.getLogger(__name__)

USERNAME_MAX = 64
# One address waits after this many times ``login_max_failures`` across all names.
ADDRESS_FACTOR = 4
# How far back a streak of failed sign-ins is looked for, and at most how many rows.
STREAK_LOOKBACK = dt.timedelta(days=1)
STREAK_ROWS = 64
# ASVS V2.1.1: at least 12 characters.
PASSWORD_MIN = 12


def password_hasher(config: AgentsConfig) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
    )


class AgentRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class AgentPublic:
    """What the console and other services may know of an agent (never the hash)."""

    id: int
    username: str
    display_name: str
    role: AgentRole
    is_active: bool
    available: bool
    last_seen_at: dt.datetime | None

    @property
    def is_supervisor(self) -> bool:
        return self.role is AgentRole.SUPERVISOR

    @property
    def actor(self) -> str:
        """How the audit log names this agent."""
        return f"agent:{self.username}"


@dataclass(frozen=True, slots=True)
class AgentPresence:
    agent: AgentPublic
    online: bool


# --- errors ---------------------------------------------------------------------------------


class AgentExists(DomainError):
    code: ClassVar[str] = "agent_exists"


class InvalidAgentData(DomainError):
    """``problem`` is ``username``, ``display_name``, ``password_too_short`` or ``role``."""

    code: ClassVar[str] = "invalid_agent_data"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class InvalidCredentials(DomainError):
    """Unknown username, wrong password or a disabled account: one answer for all three."""

    code: ClassVar[str] = "invalid_credentials"


class LoginThrottled(DomainError):
    """Too many failed sign-ins: refused until ``until`` (aware)."""

    code: ClassVar[str] = "login_throttled"

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


class AgentNotFound(DomainError):
    code: ClassVar[str] = "agent_not_found"


# --- passwords ------------------------------------------------------------------------------


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    return (hasher or PasswordHasher()).hash(password)


def verify_password(
    password_hash: str, password: str, hasher: PasswordHasher | None = None
) -> bool:
    try:
        return (hasher or PasswordHasher()).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _public(agent: Agent) -> AgentPublic:
    return AgentPublic(
        id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=AgentRole(agent.role),
        is_active=agent.is_active,
        available=agent.available,
        last_seen_at=agent.last_seen_at,
    )


def normalize_username(username: str) -> str:
    return username.strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@functools.cache
def _dummy_hash(config: AgentsConfig) -> str:
    """A hash of a random password, verified against when the username is unknown, so that
    the answer takes as long as for a real account (no username probing by timing)."""
    return hash_password(secrets.token_urlsafe(16), password_hasher(config))


class AgentService:
    """Agent accounts, sign-in and console sessions (the caller's unit of work commits)."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self.config = settings.config.agents
        self._hasher = password_hasher(self.config)

    # --- accounts ---------------------------------------------------------------------------

    async def create(
        self,
        *,
        username: str,
        display_name: str,
        password: str,
        role: AgentRole | str = AgentRole.AGENT,
        actor: str = "cli",
    ) -> AgentPublic:
        """Create an agent account."""
        name = normalize_username(username)
        if (
            not name
            or len(name) > USERNAME_MAX
            or not all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
        ):
            raise InvalidAgentData("username")
        if not display_name.strip() or len(display_name.strip()) > 128:
            raise InvalidAgentData("display_name")
        if len(password) < PASSWORD_MIN:
            raise InvalidAgentData("password_too_short")
        try:
            agent_role = AgentRole(role)
        except ValueError:
            raise InvalidAgentData("role") from None
        exists = await self._session.scalar(select(Agent.id).where(Agent.username == name))
        if exists is not None:
            raise AgentExists(name)
        agent = Agent(
            username=name,
            display_name=display_name.strip(),
            password_hash=await asyncio.to_thread(hash_password, password, self._hasher),
            role=agent_role.value,
            is_active=True,
            available=True,
            created_at=self._clock.now(),
        )
        self._session.add(agent)
        await self._session.flush()
        audit(
            self._session,
            self._clock,
            actor=actor,
            action="agent.create",
            subject=f"agent:{name}",
            details={"role": agent_role.value},
        )
        await self._session.flush()
        return _public(agent)

    async def ensure(
        self, *, username: str, display_name: str, password: str, role: AgentRole | str
    ) -> AgentPublic:
        """Create the agent unless the username exists (demo data: idempotent)."""
        agent = await self._session.scalar(
            select(Agent).where(Agent.username == normalize_username(username))
        )
        if agent is not None:
            return _public(agent)
        return await self.create(
            username=username,
            display_name=display_name,
            password=password,
            role=role,
            actor="demo-data",
        )

    async def set_password(self, agent_id: int, password: str, *, actor: str) -> None:
        """Change a password; every open session of the account ends."""
        if len(password) < PASSWORD_MIN:
            raise InvalidAgentData("password_too_short")
        agent = await self._get(agent_id)
        agent.password_hash = await asyncio.to_thread(hash_password, password, self._hasher)
        await self._session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
        audit(
            self._session,
            self._clock,
            actor=actor,
            action="agent.password",
            subject=f"agent:{agent.username}",
        )
        await self._session.flush()

    async def set_active(self, agent_id: int, active: bool, *, actor: str) -> None:
        """Enable or disable an account; disabling ends its sessions."""
        agent = await self._get(agent_id)
        agent.is_active = active
        if not active:
            await self._session.execute(
                delete(AgentSession).where(AgentSession.agent_id == agent_id)
            )
        audit(
            self._session,
            self._clock,
            actor=actor,
            action="agent.enable" if active else "agent.disable",
            subject=f"agent:{agent.username}",
        )
        await self._session.flush()

    async def set_available(self, agent: AgentPublic, available: bool) -> None:
        """The agent's own online/away switch."""
        row = await self._get(agent.id)
        row.available = available
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="agent.available" if available else "agent.away",
        )
        await self._session.flush()

    async def _get(self, agent_id: int) -> Agent:
        agent = await self._session.get(Agent, agent_id)
        if agent is None:
            raise AgentNotFound(str(agent_id))
        return agent

    async def get(self, agent_id: int) -> AgentPublic:
        return _public(await self._get(agent_id))

    async def by_username(self, username: str) -> AgentPublic | None:
        agent = await self._session.scalar(
            select(Agent).where(Agent.username == normalize_username(username))
        )
        return None if agent is None else _public(agent)

    async def list_agents(self) -> list[AgentPresence]:
        """Every account, supervisors first, with whether each is online now."""
        rows = (
            await self._session.scalars(select(Agent).order_by(Agent.role.desc(), Agent.username))
        ).all()
        now = self._clock.now()
        return [AgentPresence(_public(a), self._is_online(a, now)) for a in rows]

    def _is_online(self, agent: Agent, now: dt.datetime) -> bool:
        if not (agent.is_active and agent.available and agent.last_seen_at is not None):
            return False
        return now - agent.last_seen_at <= dt.timedelta(seconds=self.config.online_window_seconds)

    async def count_online(self) -> int:
        """How many agents (supervisors included) can take a chat right now."""
        since = self._clock.now() - dt.timedelta(seconds=self.config.online_window_seconds)
        count = await self._session.scalar(
            select(func.count())
            .select_from(Agent)
            .where(Agent.is_active, Agent.available, Agent.last_seen_at >= since)
        )
        return int(count or 0)

    # --- sign-in ----------------------------------------------------------------------------

    async def _throttled_until(
        self, now: dt.datetime, username: str, ip: str
    ) -> dt.datetime | None:
        """Return when this username may try again from this address, if not now.

        Failures count per username *and* address together: someone guessing from elsewhere
        cannot lock an agent out of their own desk (a per-name lock once let anyone do that for
        15 minutes). From the ``login_max_failures``-th failure of a streak on, each
        further try waits ``login_delay_seconds``, doubling with every failure of the streak up
        to ``login_lockout_minutes``: a growing delay rather than a hard lock. One address also
        waits after four times as many failures across all names (password spraying). A
        success does not erase earlier failures.
        """
        config = self.config
        window = dt.timedelta(minutes=config.login_window_minutes)
        longest = dt.timedelta(minutes=config.login_lockout_minutes)
        until: dt.datetime | None = None
        for condition, limit in (
            (
                and_(LoginAttempt.username == username, LoginAttempt.ip == ip),
                config.login_max_failures,
            ),
            (LoginAttempt.ip == ip, config.login_max_failures * ADDRESS_FACTOR),
        ):
            times = (
                await self._session.scalars(
                    select(LoginAttempt.at)
                    .where(
                        condition,
                        LoginAttempt.succeeded.is_(False),
                        LoginAttempt.at >= now - STREAK_LOOKBACK,
                    )
                    .order_by(LoginAttempt.at.desc())
                    .limit(STREAK_ROWS)
                )
            ).all()
            # The streak: failures each following the one before within the window (or the
            # longest delay, if longer), so waiting out every delay does not reset the count.
            gap = max(window, longest)
            recent = 0
            for newer, older in zip((None, *times), times, strict=False):
                if newer is not None and newer - older > gap:
                    break
                recent += 1
            if recent < limit:
                continue
            last = times[0]
            delay = min(
                dt.timedelta(seconds=config.login_delay_seconds * 2 ** min(recent - limit, 30)),
                longest,
            )
            ends = last + delay
            if ends > now and (until is None or ends > until):
                until = ends
        return until

    def _verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password (in a worker thread); an unknown name costs as much as a known."""
        return verify_password(password_hash or _dummy_hash(self.config), password, self._hasher)

    async def authenticate(self, *, username: str, password: str, ip: str) -> AgentPublic:
        """Check a sign-in and record the attempt, whether it succeeds or not.

        A refused sign-in raises after recording: the unit of work commits what a service
        recorded before a :class:`DomainError`, so the throttle counts it.
        """
        now = self._clock.now()
        name = normalize_username(username)[:USERNAME_MAX]
        ip = ip[:64]
        until = await self._throttled_until(now, name, ip)
        if until is not None:
            raise LoginThrottled(until)
        agent = await self._session.scalar(select(Agent).where(Agent.username == name))
        # argon2 takes tens of milliseconds of CPU by design: in a worker thread, or twenty
        # sign-ins at once hold up every chat the bot answers on this event loop.
        ok = await asyncio.to_thread(
            self._verify, agent.password_hash if agent else None, password
        )
        self._session.add(LoginAttempt(username=name, ip=ip, succeeded=ok, at=now))
        if not ok or agent is None or not agent.is_active:
            audit(
                self._session,
                self._clock,
                actor="console",
                action="agent.login_failed",
                subject=f"agent:{name}",
            )
            await self._session.flush()
            until = await self._throttled_until(now, name, ip)
            if until is not None:
                raise LoginThrottled(until)
            raise InvalidCredentials()
        if self._hasher.check_needs_rehash(agent.password_hash):
            agent.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        agent.last_seen_at = now
        audit(self._session, self._clock, actor=f"agent:{agent.username}", action="agent.login")
        await self._session.flush()
        return _public(agent)

    async def open_session(self, agent: AgentPublic) -> str:
        """Start a console session and return its token (for the cookie; never stored)."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        self._session.add(
            AgentSession(
                token_hash=_token_hash(token),
                agent_id=agent.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + dt.timedelta(hours=self.config.session_hours),
            )
        )
        # Expired sessions and old sign-in attempts are swept here rather than by a timer:
        # sign-ins are rare, and the throttle never looks further back than a day.
        await self._session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
        await self._session.execute(
            delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=1))
        )
        await self._session.flush()
        return token

    async def session_agent(self, token: str) -> AgentPublic | None:
        """Return the agent of a live session token and mark them seen."""
        now = self._clock.now()
        row = (
            await self._session.execute(
                select(AgentSession, Agent)
                .join(Agent, Agent.id == AgentSession.agent_id)
                .where(AgentSession.token_hash == _token_hash(token))
            )
        ).first()
        if row is None:
            return None
        agent_session, agent = row
        if agent_session.expires_at <= now or not agent.is_active:
            return None
        # Written at most every touch interval, so pages that poll do not write each time.
        touch = dt.timedelta(seconds=self.config.touch_interval_seconds)
        dirty = False
        if now - agent_session.last_seen_at >= touch:
            agent_session.last_seen_at = now
            dirty = True
        if agent.last_seen_at is None or now - agent.last_seen_at >= touch:
            agent.last_seen_at = now
            dirty = True
        if dirty:
            await self._session.flush()
        return _public(agent)

    async def close_session(self, token: str) -> None:
        """End a console session (sign-out); with no other session the agent goes offline."""
        row = (
            await self._session.execute(
                select(AgentSession, Agent)
                .join(Agent, Agent.id == AgentSession.agent_id)
                .where(AgentSession.token_hash == _token_hash(token))
            )
        ).first()
        if row is None:
            return
        agent_session, agent = row
        await self._session.delete(agent_session)
        others = await self._session.scalar(
            select(func.count())
            .select_from(AgentSession)
            .where(AgentSession.agent_id == agent.id, AgentSession.id != agent_session.id)
        )
        if not others:
            agent.last_seen_at = None
        audit(self._session, self._clock, actor=f"agent:{agent.username}", action="agent.logout")
        await self._session.flush()
