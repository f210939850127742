"""Supervision of the long-running background tasks (the outbound sender and its housekeeping).

A task that dies silently stops what it does for good: a 3-second database outage once killed
the outbound sender, and agent replies stayed pending until the process was restarted while
``/healthz`` still said ok. Every long-running task therefore runs under a :class:`Supervisor`:

- a task that raises is logged (its exception's type only: SQLAlchemy's messages carry the
  statement's parameters, personal data among them) and restarted after a delay that doubles
  from ``first_delay`` up to ``max_delay``, and falls back to ``first_delay`` once a run has
  lasted ``stable_after`` seconds;
- a task that returns by itself is restarted the same way (a service task has no reason to end);
- :meth:`Supervisor.report` says which tasks are running, how often they were restarted and the
  last failure, for ``/readyz`` (not ready while any task is down) and ``/healthz`` (unhealthy
  when a task has been down for longer than ``stuck_after`` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)

# How long /readyz waits for the database's answer before calling it not ready.
PROBE_SECONDS = 2.0


@dataclass(slots=True)
class TaskReport:
    """One supervised task as ``/readyz`` shows it."""

    name: str
    running: bool
    restarts: int
    last_error: str | None
    down_for: float | None  # seconds since it stopped, while it is down

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "down_for": None if self.down_for is None else round(self.down_for, 1),
        }


@dataclass(slots=True)
class _State:
    running: bool = False
    restarts: int = 0
    last_error: str | None = None
    down_since: float | None = None


class Supervisor:
    """Runs named tasks and keeps them running until :meth:`stop`."""

    def __init__(
        self,
        *,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        stuck_after: float = 120.0,
    ) -> None:
        if not 0 < first_delay <= max_delay:
            raise ValueError("0 < first_delay <= max_delay expected")
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.stuck_after = stuck_after
        self._states: dict[str, _State] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run ``run()`` as the task ``name``, again after every failure."""
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already supervised")
        state = _State(down_since=asyncio.get_running_loop().time())
        self._states[name] = state
        self._tasks[name] = asyncio.create_task(self._keep(name, state, run), name=name)

    async def _keep(self, name: str, state: _State, run: Callable[[], Awaitable[None]]) -> None:
        loop = asyncio.get_running_loop()
        delay = self.first_delay
        while True:
            started = loop.time()
            state.running, state.down_since = True, None
            try:
                await run()
                error = "ended by itself"
                logger.error(
                    "background task %s ended by itself; restarting in %.1fs", name, delay
                )
            except asyncio.CancelledError:
                state.running, state.down_since = False, loop.time()
                raise
            except Exception as exc:
                error = type(exc).__name__
                logger.error(
                    "background task %s failed (%s); restarting in %.1fs", name, error, delay
                )
            state.running, state.down_since = False, loop.time()
            state.restarts += 1
            state.last_error = error
            if loop.time() - started >= self.stable_after:
                delay = self.first_delay
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    def report(self) -> list[TaskReport]:
        """Every supervised task, in the order they were started."""
        now = asyncio.get_running_loop().time()
        return [
            TaskReport(
                name=name,
                running=state.running,
                restarts=state.restarts,
                last_error=state.last_error,
                down_for=None if state.down_since is None else now - state.down_since,
            )
            for name, state in self._states.items()
        ]

    @property
    def ready(self) -> bool:
        """Every task is running."""
        return all(state.running for state in self._states.values())

    @property
    def healthy(self) -> bool:
        """No task has been down for longer than ``stuck_after`` seconds."""
        return all(r.down_for is None or r.down_for <= self.stuck_after for r in self.report())

    async def stop(self) -> None:
        """Cancel every task and wait for it (a task's own ``finally`` still runs)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


class Pingable(Protocol):
    """What ``/readyz`` needs of a Redis client (``redis.asyncio.Redis``)."""

    def ping(self, **kwargs: Any) -> Awaitable[Any]: ...


async def readiness(
    supervisor: Supervisor | None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    *,
    redis: Pingable | None = None,
    model_loaded: bool | None = None,
) -> tuple[bool, dict[str, object]]:
    """``/readyz``: every supervised task running, the database and Redis answering (each
    within ``PROBE_SECONDS``) and the NLU model loaded; what was not given is not checked."""
    body: dict[str, object] = {}
    ready = True
    if supervisor is not None:
        body["tasks"] = {r.name: r.as_dict() for r in supervisor.report()}
        ready = supervisor.ready
    if session_factory is not None:
        try:
            async with asyncio.timeout(PROBE_SECONDS), session_factory() as session:
                await session.execute(text("SELECT 1"))
            body["database"] = "ok"
        except Exception as exc:
            body["database"] = type(exc).__name__
            ready = False
    if redis is not None:
        try:
            async with asyncio.timeout(PROBE_SECONDS):
                await redis.ping()
            body["redis"] = "ok"
        except Exception as exc:
            body["redis"] = type(exc).__name__
            ready = False
    if model_loaded is not None:
        body["model"] = "loaded" if model_loaded else "not loaded"
        ready = ready and model_loaded
    body["status"] = "ready" if ready else "not ready"
    return ready, body


def health(supervisor: Supervisor | None) -> tuple[bool, dict[str, object]]:
    """``/healthz``: the process is alive and no supervised task is stuck down."""
    healthy = supervisor is None or supervisor.healthy
    body: dict[str, object] = {"status": "ok" if healthy else "stuck"}
    if supervisor is not None:
        body["tasks"] = {r.name: r.as_dict() for r in supervisor.report()}
    return healthy, body
