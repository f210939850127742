"""The supervisor keeps background tasks running: a failure is logged and the task restarted
after a growing delay, and the report (what /readyz shows) says when one is down."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.supervision import Supervisor, health, readiness


async def wait_for(condition: object, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_a_failing_task_is_logged_restarted_and_reported_down_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    supervisor = Supervisor(first_delay=0.2, max_delay=0.4)
    runs = 0
    steady = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise ConnectionError("database went away")
        steady.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="services.supervision"):
        supervisor.start("outbound", flaky)
        await wait_for(lambda: runs == 1 and not supervisor.ready)
        [report] = supervisor.report()
        assert not report.running and report.last_error == "ConnectionError"
        ready, body = await readiness(supervisor)
        assert not ready and body["status"] == "not ready"
        assert body["tasks"] == {"outbound": report.as_dict()}
        await asyncio.wait_for(steady.wait(), timeout=5)
    [report] = supervisor.report()
    assert report.running and report.restarts == 2 and report.down_for is None
    assert supervisor.ready and (await readiness(supervisor))[0]
    failures = [r for r in caplog.records if "outbound failed (ConnectionError)" in r.getMessage()]
    assert len(failures) == 2
    # Only the exception's type is logged: its message may carry personal data.
    assert all("database went away" not in r.getMessage() for r in caplog.records)
    await supervisor.stop()
    assert not supervisor.ready


async def test_a_task_that_ends_by_itself_is_restarted() -> None:
    supervisor = Supervisor(first_delay=0.05, max_delay=0.05)
    runs = 0

    async def short() -> None:
        nonlocal runs
        runs += 1

    supervisor.start("pruning", short)
    await wait_for(lambda: runs >= 3)
    [report] = supervisor.report()
    assert report.restarts >= 2 and report.last_error == "ended by itself"
    await supervisor.stop()


async def test_health_fails_only_when_a_task_stays_down() -> None:
    supervisor = Supervisor(first_delay=10, max_delay=10, stuck_after=0.1)

    async def broken() -> None:
        raise RuntimeError

    supervisor.start("outbound", broken)
    await wait_for(lambda: supervisor.report()[0].restarts == 1)
    assert health(supervisor)[0]  # down, but not for long yet
    await asyncio.sleep(0.15)
    healthy, body = health(supervisor)
    assert not healthy and body["status"] == "stuck"
    await supervisor.stop()


async def test_delays_must_make_sense() -> None:
    with pytest.raises(ValueError):
        Supervisor(first_delay=0)
    with pytest.raises(ValueError):
        Supervisor(first_delay=2, max_delay=1)
    supervisor = Supervisor()

    async def idle() -> None:
        await asyncio.Event().wait()

    supervisor.start("a", idle)
    with pytest.raises(ValueError):
        supervisor.start("a", idle)
    await supervisor.stop()
