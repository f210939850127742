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
from aiogram.types import Update
from fastapi import APIRouter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bot.platform import Platform, PlatformBot

logger = logging.getLogger(__name__)

TELEGRAM_PATH = "/webhook/telegram"
BALE_PATH_PREFIX = "/webhook/bale/"
SECRET_HEADER = "x-telegram-bot-api-secret-token"


def webhook_url(base_url: str, platform: Platform, secret: str) -> str:
    """The public URL a platform should post to."""
    base = base_url.rstrip("/")
    if platform is Platform.TELEGRAM:
        return base + TELEGRAM_PATH
    return base + BALE_PATH_PREFIX + secret


async def _feed(dp: Dispatcher, bot: PlatformBot, body: bytes) -> Response:
    # Parsed by pydantic-core straight from the bytes, into the Update aiogram would build
    # from a dict (bound to this bot, as aiogram's feed_raw_update does).
    try:
        update = Update.model_validate_json(body, context={"bot": bot})
    except ValidationError:
        logger.warning(
            "%s webhook: a body that is not an update (%d bytes)", bot.platform, len(body)
        )
        return Response(status_code=400)
    result: TelegramMethod[Any] | None = await dp.feed_webhook_update(bot, update)
    if isinstance(result, TelegramMethod):
        await bot(result)
    return Response(_OK_BODY, media_type="application/json")


# Plain Starlette routes, not FastAPI's: a webhook route has no parameters to validate or
# document. FastAPI's dependency solving and response serialisation, with the body parsed
# twice (json, then pydantic from the dict), were a large share of the bot's CPU per update in
# webhook mode (the figures are in the README's benchmark section).
_OK_BODY = b'{"ok":true}'


def create_webhook_router(dp: Dispatcher, bots: Sequence[PlatformBot], secret: str) -> APIRouter:
    """Routes for each configured platform's webhook.

    Each request is answered once its update is handled (200), so the platform's own
    connection limit bounds the updates in flight and an update lost in a crash is posted
    again. A wrong secret gets 403, a body that is not an update 400.
    """
    router = APIRouter(tags=["webhook"])
    by_platform = {bot.platform: bot for bot in bots}
    expected = secret.encode()

    if Platform.TELEGRAM in by_platform:
        telegram = by_platform[Platform.TELEGRAM]

        async def telegram_update(request: Request) -> Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=403)
            return await _feed(dp, telegram, await request.body())

        router.add_route(TELEGRAM_PATH, telegram_update, methods=["POST"])

    if Platform.BALE in by_platform:
        bale = by_platform[Platform.BALE]

        async def bale_update(request: Request) -> Response:
            given = str(request.path_params["path_secret"]).encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=403)
            return await _feed(dp, bale, await request.body())

        router.add_route(BALE_PATH_PREFIX + "{path_secret}", bale_update, methods=["POST"])

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
