"""Webhook mode: the sandbox POSTs each update to the bot's URL, as Telegram does.

One delivery loop per bot with a webhook. Up to ``max_connections`` requests run at once, but a
chat's updates go one at a time and in order, so a conversation is never reordered. A request
that fails (no connection, timeout, a status other than 2xx) is retried after a short back-off
and the failure shows in getWebhookInfo's ``last_error_*``, as on Telegram. The header
``X-Telegram-Bot-Api-Secret-Token`` carries the secret set with setWebhook (never for Bale).

A bot may answer a webhook request with a method call in the response body (JSON with a
``method`` field, or aiogram's multipart form); Telegram executes it, and so does the sandbox.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import aiohttp
from starlette.datastructures import UploadFile
from starlette.requests import Request

from sandbox.models import PendingUpdate, Upload

if TYPE_CHECKING:
    from sandbox.botapi import BotApi
    from sandbox.world import BotState, SandboxWorld

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_ChatKey = tuple[str, int]


def start_delivery(world: SandboxWorld, bot: BotState, api: BotApi) -> asyncio.Task[None]:
    """Start delivering the bot's pending and future updates to its webhook."""
    bot.webhook_inbox = deque(u for u in bot.updates if u.delivered_at is None)
    return asyncio.create_task(_deliver_loop(world, bot, api), name=f"sandbox-webhook-{bot.id}")


def _chat_key(update: PendingUpdate) -> _ChatKey:
    if update.chat_id is not None:
        return ("chat", update.chat_id)
    return ("update", update.update_id)


class _Scheduler:
    """Per-chat queues: a chat's next update goes out only when its previous one is through."""

    def __init__(self) -> None:
        self.queues: dict[_ChatKey, deque[PendingUpdate]] = {}
        self.ready: deque[_ChatKey] = deque()
        self.busy: set[_ChatKey] = set()
        self.retries: list[tuple[float, int, _ChatKey]] = []
        self._retry_seq = 0

    def add(self, update: PendingUpdate) -> None:
        key = _chat_key(update)
        queue = self.queues.setdefault(key, deque())
        queue.append(update)
        if len(queue) == 1 and key not in self.busy:
            self.ready.append(key)

    def next_ready(self) -> tuple[_ChatKey, PendingUpdate] | None:
        while self.ready:
            key = self.ready.popleft()
            queue = self.queues.get(key)
            if queue:
                self.busy.add(key)
                return key, queue[0]
        return None

    def succeeded(self, key: _ChatKey) -> None:
        queue = self.queues[key]
        queue.popleft()
        self.busy.discard(key)
        if queue:
            self.ready.append(key)
        else:
            del self.queues[key]

    def failed(self, key: _ChatKey, when: float) -> None:
        self._retry_seq += 1
        heapq.heappush(self.retries, (when, self._retry_seq, key))

    def release_due(self, now: float) -> float | None:
        """Make chats whose retry time has come ready; seconds until the next retry, if any."""
        while self.retries and self.retries[0][0] <= now:
            _, _, key = heapq.heappop(self.retries)
            self.busy.discard(key)
            self.ready.append(key)
        return self.retries[0][0] - now if self.retries else None


async def _deliver_loop(world: SandboxWorld, bot: BotState, api: BotApi) -> None:
    webhook = bot.webhook
    assert webhook is not None
    scheduler = _Scheduler()
    running: set[asyncio.Task[bool]] = set()

    def finished(key: _ChatKey, update: PendingUpdate, task: asyncio.Task[bool]) -> None:
        if task.cancelled():
            return
        if task.exception() is None and task.result():
            scheduler.succeeded(key)
        else:
            scheduler.failed(key, update.not_before)
        bot.arrived.notify()

    try:
        while not world.closing and bot.webhook is webhook:
            while bot.webhook_inbox:
                update = bot.webhook_inbox.popleft()
                if update.delivered_at is None:
                    scheduler.add(update)
            wait = scheduler.release_due(time.monotonic())
            while len(running) < webhook.max_connections:
                found = scheduler.next_ready()
                if found is None:
                    break
                key, update = found
                task = asyncio.create_task(_deliver_one(world, bot, api, update))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(functools.partial(finished, key, update))
            await bot.arrived.wait(None if wait is None else max(wait, 0.001))
    finally:
        for task in running:
            task.cancel()


async def _deliver_one(
    world: SandboxWorld, bot: BotState, api: BotApi, update: PendingUpdate
) -> bool:
    """POST one update; True when the bot took it (2xx)."""
    webhook = bot.webhook
    if webhook is None:
        return False
    headers = {"Content-Type": "application/json"}
    if webhook.secret_token:
        headers[SECRET_HEADER] = webhook.secret_token
    update.attempts += 1
    world.begin_call()
    error: str | None = None
    reply: tuple[str, bytes] | None = None
    try:
        async with world.http().post(
            webhook.url, data=json.dumps(update.to_api(), ensure_ascii=False), headers=headers
        ) as response:
            if 200 <= response.status < 300:
                reply = (response.headers.get("Content-Type", ""), await response.read())
            else:
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
    except TimeoutError:
        error = "Read timeout expired"
    except aiohttp.ClientError as exc:
        error = f"Connection refused ({type(exc).__name__})"
    finally:
        world.end_call()
    if error is not None or reply is None:
        webhook.last_error_date = int(time.time())
        webhook.last_error_message = error
        bot.stats["webhook_failures"] += 1
        delays = world.config.webhook_retry_delays_s or (1.0,)
        delay = delays[min(update.attempts - 1, len(delays) - 1)]
        update.not_before = time.monotonic() + delay
        logger.info("webhook delivery of update %s failed: %s", update.update_id, error)
        return False
    world.mark_delivered(bot, [update])
    # A delivered update is confirmed; forget those at the head of the queue.
    while bot.updates and bot.updates[0].delivered_at is not None:
        bot.drop_first()
    await _run_reply_method(bot, api, *reply)
    return True


async def _run_reply_method(bot: BotState, api: BotApi, content_type: str, body: bytes) -> None:
    """Execute a method the bot put in its webhook answer, as Telegram does."""
    params: dict[str, Any] = {}
    files: dict[str, Upload] = {}
    if content_type.lower().startswith("application/json"):
        try:
            decoded = json.loads(body)
        except ValueError:
            return
        if not isinstance(decoded, dict):
            return
        params = dict(decoded)
    elif content_type.lower().startswith("multipart/form-data"):
        for key, value in await _parse_form(body, content_type):
            if isinstance(value, UploadFile):
                files[key] = Upload(value.filename, value.content_type, await value.read())
            else:
                params[key] = value
    method = params.pop("method", None)
    if not method:
        return
    status, result = await api.call(bot.token, str(method), params, files)
    if status != 200:
        logger.info(
            "method %s from a webhook answer failed: %s", method, result.get("description")
        )


async def _parse_form(body: bytes, content_type: str) -> list[tuple[str, Any]]:
    """Parse a multipart body with Starlette's own parser (the one the Bot API routes use)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", content_type.encode("latin-1"))],
        "query_string": b"",
        "path": "/",
    }
    form = await Request(scope, receive).form()
    return list(form.multi_items())
