"""Webhook mode: the routes Telegram and Bale post updates to, and registering them.

Telegram sends the ``secret_token`` given at setWebhook in the ``X-Telegram-Bot-Api-Secret-Token``
header; Bale's setWebhook has no secret, so Bale's route carries the secret in its path. Both
compare in constant time and answer 403 otherwise. The routes live on an ``APIRouter`` that the
composition root mounts in the one ASGI app that also serves ``/model/parse``.

Delivery (issue 17, finding 2; issue 19, "graceful"): a request is answered 200 only once its
update is handled, so an update lost in a crash is posted again. Telegram repeats a request
answered with any status other than 2xx ("we will repeat the request and give up after a
reasonable amount of attempts", Bot API, setWebhook), and so does Bale. So:

- an update another worker holds (the dedupe ledger's lease) is answered 503: sent again later;
- a handler failure the error handlers did not answer is 500: sent again;
- :class:`WebhookGate` tracks the requests in hand. On SIGTERM it closes (new requests get 503,
  so the platform re-sends them, to another worker or after the restart), gives those in hand
  ``bot.shutdown_grace_seconds`` to finish, then cancels the rest, which are answered 503 (their
  leases released, their records rolled back).
"""

from __future__ import annotations

import asyncio
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

from bot.middlewares.dedupe import BUSY
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


class WebhookGate:
    """The webhook requests in hand, and the shutdown that lets them finish."""

    def __init__(self) -> None:
        self.accepting = True
        self.in_hand: set[asyncio.Task[Response]] = set()

    async def handle(self, dp: Dispatcher, bot: PlatformBot, body: bytes) -> Response:
        if not self.accepting:
            return Response(status_code=503)  # stopping: the platform sends it again
        task = asyncio.get_running_loop().create_task(_feed(dp, bot, body))
        self.in_hand.add(task)
        task.add_done_callback(self.in_hand.discard)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this request itself was cancelled, not only its update
            return Response(status_code=503)  # not finished within the grace

    async def close(self, grace: float) -> int:
        """Take no more updates; let those in hand finish within ``grace`` seconds, cancel the
        rest (answered 503). Returns how many were cancelled."""
        self.accepting = False
        tasks = set(self.in_hand)
        if not tasks:
            return 0
        logger.info("webhook: finishing %d updates in hand", len(tasks))
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            logger.warning(
                "webhook: %d updates not finished in %s s; answered 503", len(late), grace
            )
            await asyncio.gather(*late, return_exceptions=True)
        return len(late)


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
    # feed_update, not feed_webhook_update: the latter answers after 55 s whether the update
    # is handled or not, and the answer must mean "handled".
    try:
        result: Any = await dp.feed_update(bot, update)
    except Exception:
        logger.exception("%s webhook: update %s failed", bot.platform, update.update_id)
        return Response(status_code=500)  # sent again
    if result is BUSY:
        return Response(status_code=503)  # another worker holds it: sent again later
    if isinstance(result, TelegramMethod):
        await bot(result)
    return Response(_OK_BODY, media_type="application/json")


# Plain Starlette routes, not FastAPI's: a webhook route has no parameters to validate or
# document. FastAPI's dependency solving and response serialisation, with the body parsed
# twice (json, then pydantic from the dict), were a large share of the bot's CPU per update in
# webhook mode (the figures are in the README's benchmark section).
_OK_BODY = b'{"ok":true}'


def create_webhook_router(
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    secret: str,
    gate: WebhookGate | None = None,
) -> APIRouter:
    """Routes for each configured platform's webhook.

    Each request is answered once its update is handled (200), so the platform's own
    connection limit bounds the updates in flight and an update lost in a crash is posted
    again. A wrong secret gets 403, a body that is not an update 400, an update held by
    another worker or cut by the shutdown 503 (see the module docstring).
    """
    router = APIRouter(tags=["webhook"])
    gate = gate or WebhookGate()
    by_platform = {bot.platform: bot for bot in bots}
    expected = secret.encode()

    if Platform.TELEGRAM in by_platform:
        telegram = by_platform[Platform.TELEGRAM]

        async def telegram_update(request: Request) -> Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=403)
            return await gate.handle(dp, telegram, await request.body())

        router.add_route(TELEGRAM_PATH, telegram_update, methods=["POST"])

    if Platform.BALE in by_platform:
        bale = by_platform[Platform.BALE]

        async def bale_update(request: Request) -> Response:
            given = str(request.path_params["path_secret"]).encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=403)
            return await gate.handle(dp, bale, await request.body())

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
