"""Polling that confirms an update only once it is handled (issue 17, finding 2).

``getUpdates`` confirms every update below its ``offset``: aiogram's own polling moves the
offset past each update as soon as it starts handling it, so a kill -9 lost every update in
hand (2–51 of 300–600 users were never answered). Here the offset is the lowest update still
in hand (or one past the last taken, when none is), so an update is confirmed only after its
handler finished; after a crash the platform sends the unconfirmed ones again and the dedupe
ledger (:mod:`bot.middlewares.dedupe`) drops those already done. No inbox is needed: the
platform keeps unconfirmed updates for 24 hours and is the inbox.

The loop, per bot:

- take at most ``concurrency`` updates at once, in order; a fetch returns the ones in hand
  again (they are not confirmed yet): they are skipped, and so is every update below the
  highest taken (in hand or finished);
- when a fetch brought nothing new while updates are in hand, wait for one of them to finish
  (or ``pause`` seconds) before fetching again: with updates pending, ``getUpdates`` answers at
  once, and fetching again at once would spin;
- an update another worker holds (the ledger says busy: a killed process's lease that has not
  run out yet) is tried again every ``busy_retry`` seconds;
- on stop: take nothing more, give the updates in hand ``grace`` seconds, cancel the rest (their
  leases are released, they stay unconfirmed and come again on the next start), then confirm
  what finished with one last ``getUpdates``.

The price: an update that takes long holds the offset, and the updates after it that finished
are fetched again (and skipped) until it is done; at most a ``getUpdates`` window of 100.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Dispatcher
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update

from bot.middlewares.dedupe import BUSY
from bot.platform import PlatformBot

logger = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 10  # aiogram's long-poll default
MAX_BACKOFF_SECONDS = 5.0


class UpdatePoller:
    """One bot's polling loop (see the module docstring)."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: PlatformBot,
        stop: asyncio.Event,
        *,
        concurrency: int,
        grace: float,
        poll_timeout: int = POLL_TIMEOUT_SECONDS,
        pause: float = 0.5,
        busy_retry: float = 1.0,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.stop = stop
        self.concurrency = concurrency
        self.grace = grace
        self.poll_timeout = poll_timeout
        self.pause = pause
        self.busy_retry = busy_retry
        self.allowed_updates = dp.resolve_used_update_types()
        # Taken and not finished (in hand, or cancelled at stop): the offset stays below them.
        self.pending: set[int] = set()
        self.in_hand: dict[int, asyncio.Task[None]] = {}
        # One past the highest update taken. Updates come in order and are taken in order, so
        # every update below it was taken: pending, or finished (and then skipped when a fetch
        # whose offset was still below it returns it again).
        self.next_id: int | None = None

    def offset(self) -> int | None:
        """What ``getUpdates`` may confirm: everything below the lowest update not finished."""
        if self.pending:
            return min(self.pending)
        return self.next_id

    async def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            if len(self.in_hand) >= self.concurrency:
                await self._wait_for_one(None)
                continue
            try:
                updates = await self._fetch()
            except Exception as exc:  # the platform unreachable, 5xx, 409 (another instance)
                logger.warning("%s getUpdates failed: %s", self.bot.platform, exc)
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.5
            if updates is None:
                break
            if not self._take(updates) and self.in_hand:
                await self._wait_for_one(self.pause)
        await self._finish()

    def _take(self, updates: Sequence[Update]) -> int:
        """Start the new updates of a fetch, in order, while there is room; how many."""
        started = 0
        for update in updates:
            update_id = update.update_id
            if update_id in self.pending or (
                self.next_id is not None and update_id < self.next_id
            ):
                continue
            if len(self.in_hand) >= self.concurrency:
                break  # fetched again later: the offset has not passed it
            self.pending.add(update_id)
            task = asyncio.create_task(self._handle(update), name=f"update-{update_id}")
            self.in_hand[update_id] = task
            task.add_done_callback(functools.partial(self._done, update_id))
            self.next_id = max(self.next_id or 0, update_id + 1)
            started += 1
        return started

    async def _handle(self, update: Update) -> None:
        while True:
            try:
                result = await self.dp.feed_update(self.bot, update)
            except Exception:
                # Not answered by the error handlers: logged, and confirmed all the same (an
                # update that fails every time must not hold the offset for ever).
                logger.exception("update %s failed", update.update_id)
                return
            if result is not BUSY:
                break
            await asyncio.sleep(self.busy_retry)
        if isinstance(result, TelegramMethod):
            with contextlib.suppress(Exception):
                await self.bot(result)

    def _done(self, update_id: int, task: asyncio.Task[None]) -> None:
        del self.in_hand[update_id]
        if task.cancelled():
            return  # stays pending: not confirmed, sent again on the next start
        self.pending.discard(update_id)

    async def _fetch(self) -> list[Update] | None:
        """One ``getUpdates``, or None when stopped while waiting for it."""
        # Long poll only when nothing is in hand (with updates pending it answers at once).
        timeout = 0 if self.in_hand else self.poll_timeout
        method = GetUpdates(
            offset=self.offset(), timeout=timeout, allowed_updates=self.allowed_updates
        )
        request_timeout = int((self.bot.session.timeout or 60) + timeout)
        fetch = asyncio.ensure_future(self.bot(method, request_timeout=request_timeout))
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            return None
        return fetch.result()

    async def _wait_for_one(self, limit: float | None) -> None:
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait(
                {stopped, *self.in_hand.values()},
                timeout=limit,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopped.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _finish(self) -> None:
        """Let the updates in hand finish within the grace, cancel the rest, confirm."""
        tasks = list(self.in_hand.values())
        if tasks:
            logger.info("%s: finishing %d updates in hand", self.bot.platform, len(tasks))
            _, late = await asyncio.wait(tasks, timeout=self.grace)
            for task in late:
                task.cancel()
            if late:
                logger.warning(
                    "%s: %d updates not finished in %s s; they will come again",
                    self.bot.platform,
                    len(late),
                    self.grace,
                )
                await asyncio.gather(*late, return_exceptions=True)
        offset = self.offset()
        if offset is not None:
            with contextlib.suppress(Exception):
                await self.bot(GetUpdates(offset=offset, timeout=0, limit=1))


async def poll(
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    stop: asyncio.Event,
    *,
    concurrency: int,
    grace: float,
    **kwargs: Any,
) -> None:
    """Poll every bot until ``stop`` is set, then finish (see :class:`UpdatePoller`)."""
    pollers = [
        UpdatePoller(dp, bot, stop, concurrency=concurrency, grace=grace, **kwargs) for bot in bots
    ]
    workflow = dict(dp.workflow_data)
    await dp.emit_startup(bots=bots, **workflow)
    try:
        await asyncio.gather(*(poller.run() for poller in pollers))
    finally:
        await dp.emit_shutdown(bots=bots, **workflow)
