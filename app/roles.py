"""The roles: ``tamin-bot webhook``, ``console``, ``sender`` and ``migrate``.

``tamin-bot run`` (:mod:`app.run`) is everything in one process. The same parts run apart, each
role in any number of processes on any number of machines, against one PostgreSQL and one
Redis (the README's "Production shape" section draws it):

- ``migrate`` upgrades the schema (and trains the NLU model if it is missing or stale) and
  exits: the one step that changes them. The other roles
  check that the database is exactly at this code's head and refuse to start otherwise, so
  workers never race to migrate and an old worker never runs on a new schema unnoticed.
- ``webhook``: a stateless update worker (webhook mode only) on HOST:PORT. Conversation state,
  dedupe and the event isolation live in Redis, data in PostgreSQL; an escalation asks every
  worker to write its intent-log buffer (:mod:`bot.intent_log_flush`). Each worker sets the
  platform's webhook only when it differs from ``PUBLIC_BASE_URL`` (a rolling restart must
  not re-register, which restarts the platform's delivery).
- ``console``: the agents' console on HOST:PORT. Sessions are signed cookies, so every console
  process must share ``CONSOLE_SECRET_KEY`` (the role refuses to start without it).
- ``sender``: the outbox's sender (and retention). Several may run: a claim takes a lease in
  the database, so each message goes out once (``services/outbox.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiogram import Dispatcher

from app.log_setup import configure_logging
from app.run import (
    Stack,
    _freeze_startup_heap,
    _serve_webhooks,
    _stop_on_signals,
    load_models,
    start_console,
    start_observability,
    start_retention,
    start_sender,
)
from app.task_dump import task_dump_on_signals
from bot.platform import PlatformBot
from bot.webhook import set_webhooks, webhook_url
from services.db import upgrade_database
from services.db.migrate import SchemaNotAtHead, require_schema_at_head
from services.knowledge.store import KnowledgeStore
from services.settings import Settings

logger = logging.getLogger(__name__)

ROLES = ("webhook", "console", "sender", "migrate")


class RoleRefused(RuntimeError):
    """A role cannot start with these settings; the message says what to set."""


def check_settings(role: str, settings: Settings) -> None:
    """Raise :class:`RoleRefused` when ``role`` cannot run as configured."""
    env = settings.env
    has_token = env.telegram_bot_token is not None or env.bale_bot_token is not None
    problems: list[str] = []
    if role == "webhook":
        if not env.public_base_url:
            problems.append("PUBLIC_BASE_URL (the address the platforms post updates to)")
        if env.webhook_secret is None:
            problems.append("WEBHOOK_SECRET (the same in every worker)")
        if env.redis_url is None:
            problems.append("REDIS_URL (conversation state and dedupe shared by the workers)")
    if role in ("webhook", "sender") and not has_token:
        problems.append("TELEGRAM_BOT_TOKEN or BALE_BOT_TOKEN (roles never start the sandbox)")
    if role == "console" and env.console_secret_key is None:
        problems.append("CONSOLE_SECRET_KEY (the same in every console process)")
    if problems:
        raise RoleRefused(f"`tamin-bot {role}` needs " + "; ".join(problems))


async def run_role(role: str, settings: Settings) -> int:
    """Run one role until SIGINT/SIGTERM (``migrate``: until the schema is at head)."""
    configure_logging(settings.env.log_level)
    check_settings(role, settings)
    if role == "migrate":
        await upgrade_database(settings)
        print("tamin-bot migrate: the database schema is at head", flush=True)
        # The NLU model too, when missing or stale: trained once here rather than by every
        # worker at once (each would spend seconds of CPU on the same model).
        from nlu import load_or_train

        await asyncio.to_thread(load_or_train, settings.config.nlu)
        print("tamin-bot migrate: the NLU model is ready", flush=True)
        return 0
    await require_schema_at_head(settings)
    with _stop_on_signals() as stop, task_dump_on_signals():
        if role == "webhook":
            return await _webhook(settings, stop)
        if role == "console":
            return await _console(settings, stop)
        if role == "sender":
            return await _sender(settings, stop)
    raise ValueError(f"unknown role {role!r}")


async def ensure_webhooks(
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    base_url: str,
    secret: str,
    max_connections: int,
) -> bool:
    """Set the webhooks unless every bot's already points at ``base_url``; True if it set them.

    Several workers start with the same address: the first sets it, the others find it set.
    (Telegram takes a repeated setWebhook, but a new registration restarts its delivery.)
    """
    for bot in bots:
        info = await bot.get_webhook_info()
        if info.url != webhook_url(base_url, bot.platform, secret):
            await set_webhooks(dp, bots, base_url, secret, max_connections=max_connections)
            return True
    logger.info("webhooks already set to this address")
    return False


async def _webhook(settings: Settings, stop: asyncio.Event) -> int:
    knowledge, nlu_model = await load_models(settings)
    stack = Stack(settings, knowledge=knowledge)
    try:
        dp = stack.dispatcher(nlu_model, polling=False)
        await stack.set_commands()
        env = settings.env
        assert env.public_base_url is not None

        async def register(secret: str) -> None:
            assert env.public_base_url is not None
            await ensure_webhooks(
                dp, stack.bots, env.public_base_url, secret, env.max_concurrent_updates
            )

        _freeze_startup_heap()
        await _serve_webhooks(
            settings,
            dp,
            stack.bots,
            nlu_model,
            dict(dp.workflow_data),
            stop,
            stack.supervisor,
            register=register,
            redis=stack.redis,
        )
        logger.info("stopped")
        return 0
    finally:
        await stack.close()


async def _console(settings: Settings, stop: asyncio.Event) -> int:
    knowledge = await asyncio.to_thread(KnowledgeStore.load, settings.config.knowledge)
    stack = Stack(settings, knowledge=knowledge, with_bots=False, with_redis=False)
    try:
        console = await start_console(
            settings, stack, port=settings.env.port, fallback_to_free_port=False
        )
        try:
            await stop.wait()
        finally:
            await console.stop()
        logger.info("stopped")
        return 0
    finally:
        await stack.close()


async def _sender(settings: Settings, stop: asyncio.Event) -> int:
    stack = Stack(settings, with_redis=False)
    try:
        start_sender(settings, stack)
        # Retention is idempotent (it clears rows older than their time): several senders
        # running it at once clear the same rows, which costs nothing but a few statements.
        start_retention(settings, stack)
        # The sender has no HTTP of its own: its metrics and probes on METRICS_PORT, if set.
        probes = await start_observability(settings, stack, model_loaded=True)
        print("tamin-bot sender: delivering from the outbox", flush=True)
        try:
            await stop.wait()
        finally:
            if probes is not None:
                await probes.stop()
        logger.info("stopped")
        return 0
    finally:
        await stack.close()


__all__ = ["ROLES", "RoleRefused", "SchemaNotAtHead", "check_settings", "run_role"]
