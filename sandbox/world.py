"""The sandbox's whole state, in memory: bots, users, chats, updates, files, faults, events.

One :class:`SandboxWorld` per sandbox. The Bot API (``botapi``) is the bot's door into it and the
control API (``control``) and the web chat are the person's; both call the methods here, and
in-process callers (a benchmark injecting load) may call them directly. Everything runs on one
event loop, so no locks are needed: state changes only between awaits.

The methods come in three parts: the stores and look-ups (:mod:`sandbox.state`), what a person
does (:mod:`sandbox.user_side`) and what a bot sends with the policing of its calls
(:mod:`sandbox.bot_side`); this module joins them and adds reset, close and stats.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from sandbox.bot_side import BotSide
from sandbox.state import BotState
from sandbox.user_side import UserSide

__all__ = ["BotState", "SandboxWorld"]


class SandboxWorld(UserSide, BotSide):
    """All sandbox state and the operations on it (see the module docstring)."""

    # ----------------------------------------------------------------------------- admin

    def reset(self, *, bot_settings: bool = False) -> None:
        """Forget users, chats, files, faults, floods and queued updates.

        Bots keep their webhook, allowed updates and commands (a running bot set them at start)
        unless ``bot_settings`` is true: then every bot is as on the first day, and any
        getUpdates still waiting from an earlier bot ends with 409.
        """
        self.users.clear()
        self.files.clear()
        self.files_by_path.clear()
        self.faults.clear()
        self.flood = self.config.flood_limits
        self._buckets.clear()
        self.calls.clear()
        for bot in self.bots.values():
            bot.clear_updates()
            bot.chats.clear()
            bot.callbacks.clear()
            bot.stats.clear()
            if bot_settings:
                if bot.webhook is not None and bot.webhook.task is not None:
                    bot.webhook.task.cancel()
                bot.webhook = None
                bot.allowed_updates = None
                bot.commands.clear()
                bot.properties.clear()
                bot.has_consumer = False
                bot.poll_generation += 1
            bot.arrived.notify()
        self.touch()

    def http(self) -> aiohttp.ClientSession:
        """The client that delivers webhook requests (aiohttp: it keeps up with a bot under load,
        where httpx's connection pool spent more time than the bot did)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout_s),
                connector=aiohttp.TCPConnector(limit=200),
                trust_env=False,
            )
        return self._http

    async def close(self) -> None:
        """Wake every long poll and waiter, stop webhook deliveries and close the HTTP client."""
        self.closing = True
        tasks = []
        for bot in self.bots.values():
            bot.arrived.notify()
            if bot.webhook and bot.webhook.task:
                bot.webhook.task.cancel()
                tasks.append(bot.webhook.task)
        self.changed.notify()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()
            self._http = None

    def stats(self) -> dict[str, Any]:
        return {
            "bots": [bot.snapshot() for bot in self.bots.values()],
            "users": len(self.users),
            "files": len(self.files),
            "in_flight": self.in_flight,
            "event_seq": self.seq,
            "faults": [fault.snapshot() for fault in self.faults],
            "flood_limits": self.flood.model_dump() if self.flood else None,
        }
