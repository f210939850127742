"""Webhook mode: the routes Telegram and Bale post updates to, and registering them.

Telegram sends the ``secret_token`` given at setWebhook in the ``X-Telegram-Bot-Api-Secret-Token``
header; Bale's setWebhook has no secret, so Bale's route carries the secret in its path. Both
compare in constant time and answer 403 otherwise. The routes live on an ``APIRouter`` that the
composition root mounts in the one ASGI app that also serves ``/model/parse``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Dispatcher
from aiogram.methods import TelegramMethod
from fastapi import APIRouter, Header, HTTPException, Request

from bot.platform import Platform, PlatformBot

logger = logging.getLogger(__name__)

TELEGRAM_PATH = "/webhook/telegram"
BALE_PATH_PREFIX = "/webhook/bale/"


def webhook_url(base_url: str, platform: Platform, secret: str) -> str:
    """The public URL a platform should post to."""
    base = base_url.rstrip("/")
    if platform is Platform.TELEGRAM:
        return base + TELEGRAM_PATH
    return base + BALE_PATH_PREFIX + secret


async def _feed(dp: Dispatcher, bot: PlatformBot, update: dict[str, Any]) -> None:
    result: TelegramMethod[Any] | None = await dp.feed_webhook_update(bot, update)
    if isinstance(result, TelegramMethod):
        await bot(result)


def create_webhook_router(dp: Dispatcher, bots: Sequence[PlatformBot], secret: str) -> APIRouter:
    """Routes for each configured platform's webhook."""
    router = APIRouter(tags=["webhook"])
    by_platform = {bot.platform: bot for bot in bots}
    expected = secret.encode()

    if Platform.TELEGRAM in by_platform:
        telegram = by_platform[Platform.TELEGRAM]

        @router.post(TELEGRAM_PATH)
        async def telegram_update(
            request: Request,
            x_telegram_bot_api_secret_token: str | None = Header(default=None),
        ) -> dict[str, bool]:
            given = (x_telegram_bot_api_secret_token or "").encode()
            if not hmac.compare_digest(given, expected):
                raise HTTPException(status_code=403)
            await _feed(dp, telegram, await request.json())
            return {"ok": True}

    if Platform.BALE in by_platform:
        bale = by_platform[Platform.BALE]

        @router.post(BALE_PATH_PREFIX + "{path_secret}")
        async def bale_update(path_secret: str, request: Request) -> dict[str, bool]:
            if not hmac.compare_digest(path_secret.encode(), expected):
                raise HTTPException(status_code=403)
            await _feed(dp, bale, await request.json())
            return {"ok": True}

    return router


async def set_webhooks(
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    base_url: str,
    secret: str,
    *,
    max_connections: int | None = None,
) -> None:
    """Point each platform at its route (Telegram also gets the secret token).

    ``max_connections``: how many updates Telegram may post at once (each request is answered
    once its update is handled); it takes 1–100 and defaults to 40.
    """
    allowed = dp.resolve_used_update_types()
    connections = None if max_connections is None else max(1, min(max_connections, 100))
    for bot in bots:
        url = webhook_url(base_url, bot.platform, secret)
        if bot.platform is Platform.TELEGRAM:
            await bot.set_webhook(
                url, secret_token=secret, allowed_updates=allowed, max_connections=connections
            )
        else:
            # Bale's setWebhook documents only the address.
            await bot.set_webhook(url, allowed_updates=allowed)
        logger.info("%s webhook set", bot.platform)
