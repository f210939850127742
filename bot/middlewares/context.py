"""Per-update context: the platform, its renderer, a ``reply`` for the chat, logging, metrics.

Runs first among our outer middlewares, so that everything after it (throttling notices, the
error router) can answer in the right format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.pii import scrub
from bot.platform import platform_of
from bot.render import Renderer
from bot.reply import Reply
from services.metrics import metrics

logger = logging.getLogger(__name__)


class ContextMiddleware(BaseMiddleware):
    """Outer update middleware: put ``platform``, ``render`` and ``reply`` into the data."""

    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}
        # The (counter, histogram) children per (platform, kind): a dictionary look-up per
        # update instead of prometheus-client's locked ``labels()`` twice.
        self._meters: dict[tuple[str, str], tuple[Any, Any]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot = data["bot"]
        platform = platform_of(bot)
        render = self._renderers.get(platform)
        if render is None:
            render = self._renderers[platform] = Renderer(platform)
        data["platform"] = platform
        data["render"] = render
        chat = data.get("event_chat")
        if chat is not None:
            # The bot's answers join the intent log (batched) so the transcript shows them.
            factory = data.get("services_factory")
            log = getattr(factory, "intent_log", None)
            data["reply"] = Reply(bot, chat.id, render, log=log, platform=str(platform))
        started = time.perf_counter()
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        if logger.isEnabledFor(logging.DEBUG) and isinstance(event, Update) and event.message:
            # Masked explicitly: what people type is full of national IDs and mobiles.
            logger.debug("%s text: %s", platform, scrub((event.message.text or "")[:200]))
        meters = self._meters.get((platform, kind))
        if meters is None:
            m = metrics()
            meters = self._meters[(platform, kind)] = (
                m.updates.labels(str(platform), kind),
                m.update_seconds.labels(str(platform), kind),
            )
        meters[0].inc()
        try:
            return await handler(event, data)
        finally:
            meters[1].observe(time.perf_counter() - started)
            # Only the kind and timing: message texts can hold national IDs and mobiles.
            logger.debug(
                "%s update %s (%s) handled in %.1f ms",
                platform,
                getattr(event, "update_id", "?"),
                kind,
                (time.perf_counter() - started) * 1000,
            )
