"""What a running process is waiting on: ``kill -USR1 <pid>`` writes every asyncio task's stack
to its log, ``kill -USR2 <pid>`` every thread's (Python's ``faulthandler``), without stopping it.

Written for the stall after a kill -9 in the cluster (issue 19): handlers on the surviving
workers hung, and only their stacks said on what. An operator uses it the same way on a
worker that stops answering. The dump names code locations only, never a variable's value, so
no token, national ID or mobile can reach the log this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import io
import logging
import signal
import sys
from collections.abc import Iterator

logger = logging.getLogger(__name__)

# Frames per task: enough to see the middleware chain down to the awaited call.
STACK_LIMIT = 40


def _await_chain(task: asyncio.Task[object]) -> Iterator[str]:
    """The task's coroutine and what each awaits in turn, outermost first.

    ``Task.get_stack`` gives only the task's own frame for a suspended coroutine; the frames
    below it are reached through ``cr_await`` (``gi_yieldfrom``, ``ag_await``). The chain ends
    at what the innermost one waits on: a future, a lock, a socket read (named by type only).
    """
    link: object = task.get_coro()
    for _ in range(STACK_LIMIT):
        if link is None:
            return
        frame = getattr(link, "cr_frame", None) or getattr(link, "gi_frame", None)
        frame = frame or getattr(link, "ag_frame", None)
        if frame is None:
            yield f"    awaits {type(link).__qualname__}"
            return
        code = frame.f_code
        yield f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}"
        link = (
            getattr(link, "cr_await", None)
            or getattr(link, "gi_yieldfrom", None)
            or getattr(link, "ag_await", None)
        )


def format_tasks(tasks: set[asyncio.Task[object]] | None = None) -> str:
    """Every task's name, state and await chain (innermost last), as text."""
    tasks = asyncio.all_tasks() if tasks is None else tasks
    out = io.StringIO()
    out.write(f"{len(tasks)} asyncio tasks\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- task {task.get_name()} ({'done' if task.done() else 'pending'})\n")
        for line in _await_chain(task):
            out.write(line + "\n")
    return out.getvalue()


@contextlib.contextmanager
def task_dump_on_signals() -> Iterator[None]:
    """While the block runs: SIGUSR1 logs every task's stack, SIGUSR2 every thread's."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    with contextlib.suppress(NotImplementedError, AttributeError):  # not on Windows
        loop.add_signal_handler(signal.SIGUSR1, lambda: logger.warning("%s", format_tasks()))
        installed.append(signal.SIGUSR1)
    # faulthandler writes to a file descriptor: none when stderr is captured (tests, embedding).
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True)
        installed.append(signal.SIGUSR2)
    try:
        yield
    finally:
        if signal.SIGUSR1 in installed:
            loop.remove_signal_handler(signal.SIGUSR1)
        if signal.SIGUSR2 in installed:
            faulthandler.unregister(signal.SIGUSR2)
