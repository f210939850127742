"""``kill -USR1`` on a running role logs what every task awaits (app/task_dump.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from app.task_dump import format_tasks, task_dump_on_signals


async def _waits_on_a_lock(lock: asyncio.Lock) -> None:
    async with lock:
        pass


async def _handler(lock: asyncio.Lock) -> None:
    await _waits_on_a_lock(lock)


async def test_the_dump_follows_a_task_down_to_what_it_awaits() -> None:
    lock = asyncio.Lock()
    await lock.acquire()
    task = asyncio.create_task(_handler(lock), name="stuck-update")
    await asyncio.sleep(0)
    try:
        text = format_tasks({task})
    finally:
        lock.release()
        await task
    lines = text.splitlines()
    assert lines[0] == "1 asyncio tasks"
    assert lines[1] == "--- task stuck-update (pending)"
    # Task.get_stack alone stops at _handler: the chain goes on through cr_await.
    assert "in _handler" in lines[2] and "in _waits_on_a_lock" in lines[3], text
    assert any("locks.py" in line and "in acquire" in line for line in lines), text


async def test_sigusr1_logs_the_tasks_and_the_process_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="app.task_dump")
    with task_dump_on_signals():
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(50):
            await asyncio.sleep(0.01)
            if caplog.records:
                break
    assert "asyncio tasks" in caplog.text
    assert "test_sigusr1_logs_the_tasks_and_the_process_goes_on" in caplog.text
    # Outside the block SIGUSR1 is no longer ours.
    assert signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, signal.default_int_handler)
