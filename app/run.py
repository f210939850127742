"""``tamin-bot run``: build everything from the settings and serve until SIGINT/SIGTERM.

The parts (``Stack``, ``load_models``, ``start_console``, ``start_sender``,
``start_retention``, ``_serve_webhooks``) are also what the roles of :mod:`app.roles`
(``tamin-bot webhook``, ``console``, ``sender``) are composed from.

1. Migrate the database and load (or train) the NLU model.
2. One Bot per configured platform; with no token at all, start the local sandbox (a
   Telegram- and Bale-compatible Bot API with a web chat, :mod:`app.sandbox_launch`) on
   127.0.0.1 and use its demo bots. Only then is the ``sandbox`` package imported: it is an
   optional extra (``pip install '.[sandbox]'``) that production processes never load.
3. Polling by default. With ``PUBLIC_BASE_URL`` set (and a real token), webhook mode: one ASGI
   app (FastAPI on uvicorn) serves the platforms' webhook routes and, with ``NLU_TOKEN`` set,
   the NLU's ``/model/parse`` to callers that present it; bodies are limited to 1 MB and slow
   connections closed (:mod:`console.http_guard`).
4. The agents' console on HOST:PORT (PORT + 1 in webhook mode) and the one outbound sender,
   which delivers agent replies and ticket answers from the outbox, supervised
   (:mod:`services.supervision`: restarted with backoff, reported by ``/readyz``).
5. On SIGINT/SIGTERM: stop taking updates, let the ones in hand finish within
   ``bot.shutdown_grace_seconds`` (an unfinished webhook update is answered 503, an unfinished
   polled one left unconfirmed, so the platform sends it again), close sessions, the Redis
   client, the database engine and the sandbox. Updates are confirmed only once handled
   (:mod:`bot.polling`, :mod:`bot.webhook`, :mod:`bot.middlewares.dedupe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hmac
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.log_setup import configure_logging
from app.task_dump import task_dump_on_signals
from bot.factory import BotDeps, build_bots, build_dispatcher, build_redis, install_pacing
from bot.handlers.commands import set_commands
from bot.outbound import OutboundSender
from bot.platform import PlatformBot
from bot.polling import poll
from bot.webhook import WebhookGate, create_webhook_router, set_webhooks
from console.app import create_console_app
from console.http_guard import server_config
from console.probes import add_probes, create_probe_app
from console.server import ConsoleServer
from services.clock import product_clock
from services.db import create_engine, create_session_factory, upgrade_database
from services.knowledge.store import KnowledgeStore
from services.notices import NoticeScheduler
from services.observability import run_queue_sampler
from services.retention import run_retention
from services.settings import Settings
from services.supervision import Supervisor

if TYPE_CHECKING:
    from aiogram import Dispatcher

    from nlu import NluModel
    from sandbox import SandboxServer

logger = logging.getLogger(__name__)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM while the block runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in _SIGNALS:
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def build_web_app(
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    nlu_model: NluModel,
    secret: str,
    supervisor: Supervisor | None = None,
    nlu_token: str | None = None,
    gate: WebhookGate | None = None,
    *,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    redis: Redis | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """The one ASGI app of webhook mode: webhook routes, ``/healthz``, ``/readyz`` and, with
    their tokens, the NLU's ``/model/parse`` and the metrics' ``/metrics``.

    This app faces the internet. The parse answers with the national IDs it finds in any text,
    so it is served only to callers that present ``Authorization: Bearer <NLU_TOKEN>``, and
    not at all without a token; ``/metrics`` likewise with ``METRICS_TOKEN``
    (:mod:`console.probes`); no OpenAPI schema is published. ``/readyz`` checks the database
    and Redis when given them.
    """
    from nlu.server import create_nlu_router

    app = FastAPI(title="دستیار تأمین اجتماعی", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_webhook_router(dp, bots, secret, gate))
    if nlu_token:
        expected = f"Bearer {nlu_token}".encode()

        async def require_token(request: Request) -> None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise HTTPException(status_code=401)

        app.include_router(create_nlu_router(nlu_model), dependencies=[Depends(require_token)])

    add_probes(
        app,
        supervisor=supervisor,
        session_factory=session_factory,
        redis=redis,
        model_loaded=nlu_model is not None,
        metrics_token=metrics_token,
    )
    return app


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: SIGINT/SIGTERM are the run loop's to handle."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_webhooks(
    settings: Settings,
    dp: Dispatcher,
    bots: Sequence[PlatformBot],
    nlu_model: NluModel,
    workflow: dict[str, Any],
    stop: asyncio.Event,
    supervisor: Supervisor,
    *,
    register: Callable[[str], Awaitable[None]] | None = None,
    redis: Redis | None = None,
) -> None:
    """Serve the webhook app until ``stop``; ``register(secret)`` replaces setting the webhooks
    (the webhook role sets them only when they changed, :mod:`app.roles`)."""
    env = settings.env
    assert env.public_base_url is not None
    secret = (
        env.webhook_secret.get_secret_value() if env.webhook_secret else secrets.token_urlsafe(32)
    )
    nlu_token = env.nlu_token.get_secret_value() if env.nlu_token else None
    gate = WebhookGate()
    app = build_web_app(
        dp,
        bots,
        nlu_model,
        secret,
        supervisor,
        nlu_token,
        gate,
        session_factory=workflow.get("session_factory"),
        redis=redis,
        metrics_token=env.metrics_token.get_secret_value() if env.metrics_token else None,
    )
    # Webhook updates are a few kilobytes: 1 MB bodies at most, read within 10 s.
    config = server_config(app, host=env.host, port=env.port)
    server = QuietServer(config)
    await dp.emit_startup(bots=bots, **workflow)
    serving = asyncio.create_task(server.serve(), name="webhook-http")
    try:
        if register is None:
            await set_webhooks(
                dp, bots, env.public_base_url, secret, max_connections=env.max_concurrent_updates
            )
        else:
            await register(secret)
        logger.info("webhook mode: listening on %s:%s", env.host, env.port)
        await stop.wait()
    finally:
        # New updates are answered 503 from here on (the platform sends them again); the
        # requests in hand get their grace, then the server stops.
        await gate.close(settings.config.bot.shutdown_grace_seconds)
        server.should_exit = True
        await serving
        await dp.emit_shutdown(bots=bots, **workflow)


async def _poll(
    settings: Settings, dp: Dispatcher, bots: Sequence[PlatformBot], stop: asyncio.Event
) -> None:
    for bot in bots:
        # A webhook left from an earlier webhook-mode run would make getUpdates fail.
        await bot.delete_webhook(drop_pending_updates=False)
    # At most ``max_concurrent_updates`` at once: past that, polling stops fetching and the
    # rest wait at the platform. An update is confirmed (the offset moved past it) only once it
    # is handled, so a crash loses none of those in hand (bot.polling).
    await poll(
        dp,
        bots,
        stop,
        concurrency=settings.env.max_concurrent_updates,
        grace=settings.config.bot.shutdown_grace_seconds,
    )


# The collector's thresholds once startup is frozen (CPython's defaults are 700, 10, 10). An
# update allocates a few thousand objects (aiogram's models, SQLAlchemy's and redis-py's
# bookkeeping) that are freed by reference counting the moment it ends; at 700 a young
# collection ran every few hundred allocations, in the middle of most updates, walking the
# updates in flight, and every hundredth of them was a full one. Measured with the bot
# benchmark on PostgreSQL + Redis (the README's benchmark section, 2026-12-07, second entry):
# counted after the freeze over the same run, young collections 2 243 → 48 and full ones
# 18 → 0; the collector's time fell to 0.36 s from well over a second. What waits for a
# collection is a few MiB at most.
GC_THRESHOLDS = (10_000, 20, 100)


def _freeze_startup_heap() -> None:
    """Keep the garbage collector away from what startup built (``gc.freeze``), and make
    its collections of what updates leave behind rarer (``GC_THRESHOLDS``).

    The libraries, the NLU model and the app leave hundreds of thousands of long-lived
    objects; every full collection walked all of them, a long pause in the middle of answering
    (the bot benchmark's worst latencies; the README's benchmark section has the figures).
    Frozen, they are never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def needs_sandbox(settings: Settings) -> bool:
    """True when no platform token is configured: the assistant then runs against the sandbox."""
    return settings.env.telegram_bot_token is None and settings.env.bale_bot_token is None


async def run(settings: Settings) -> int:
    """Run the assistant until SIGINT/SIGTERM; return the process exit code."""
    configure_logging(settings.env.log_level, settings.env.tamin_log_format)
    with _stop_on_signals() as stop, task_dump_on_signals():
        return await _run(settings, stop)


async def start_metrics_server(settings: Settings, **probes: Any) -> ConsoleServer | None:
    """``/metrics``, ``/healthz`` and ``/readyz`` on ``METRICS_HOST:METRICS_PORT`` when the port
    is set (None otherwise): for a role without HTTP of its own (the sender, the scheduler), or
    to keep the metrics on an internal address. ``probes``: what ``/readyz`` checks
    (:func:`console.probes.add_probes`)."""
    env = settings.env
    if env.metrics_port is None:
        return None
    server = await ConsoleServer(
        create_probe_app(**probes), host=env.metrics_host, port=env.metrics_port
    ).start()
    logger.info("metrics on %s/metrics", server.url)
    return server


async def start_console(
    settings: Settings,
    stack: Stack,
    *,
    port: int | None = None,
    fallback_to_free_port: bool = True,
) -> ConsoleServer:
    """Serve the agents' console on HOST and ``port``.

    ``tamin-bot run`` gives PORT (PORT + 1 in webhook mode, where the webhooks hold PORT) and
    takes any free port when that one is taken; the console role listens on exactly PORT.
    """
    env = settings.env
    if port is None:
        port = env.port + 1 if env.public_base_url else env.port
    app = create_console_app(
        settings, stack.session_factory, stack.clock, stack.supervisor, knowledge=stack.knowledge
    )
    proxies = settings.config.console.trusted_proxies
    try:
        console = await ConsoleServer(
            app, host=env.host, port=port, trusted_proxies=proxies
        ).start()
    except OSError:
        if not fallback_to_free_port:
            raise
        # The usual port is taken (another run?): any free port will do.
        console = await ConsoleServer(app, host=env.host, port=0, trusted_proxies=proxies).start()
    print(f"Agents' console: {console.url}", flush=True)
    return console


def start_sender(settings: Settings, stack: Stack) -> OutboundSender:
    """The outbound sender (agent replies, ticket answers), supervised: restarted with backoff
    if it ever fails, and reported by ``/readyz``. Several may run: the outbox's leases keep
    each message to one of them (:mod:`services.outbox`)."""
    sender = OutboundSender(
        session_factory=stack.session_factory,
        bots={str(bot.platform): bot for bot in stack.bots},
        clock=stack.clock,
        settings=settings,
        # Several senders (one per machine) keep one global pace between them.
        redis=stack.redis,
    )
    stack.supervisor.start("outbound", sender.run)
    return sender


def start_retention(settings: Settings, stack: Stack) -> None:
    """The retention task (clears what people typed after its time), supervised."""
    stack.supervisor.start(
        "retention",
        functools.partial(run_retention, stack.session_factory, settings, stack.clock),
    )


def start_notices(settings: Settings, stack: Stack) -> None:
    """The proactive notices' scheduler (``services.notices``), supervised; safe beside any
    number of ``tamin-bot scheduler`` processes (each notice is claimed by one)."""
    stack.supervisor.start(
        "notices", NoticeScheduler(stack.session_factory, settings, stack.clock).run
    )


async def start_observability(
    settings: Settings, stack: Stack, *, model_loaded: bool
) -> ConsoleServer | None:
    """The queue sampler (the handoff queue's and the outbox's length, read from the database,
    for the metrics) and, when METRICS_PORT is set, the internal metrics server."""
    stack.supervisor.start(
        "queue-sampler", functools.partial(run_queue_sampler, stack.session_factory, stack.clock)
    )
    return await start_metrics_server(
        settings,
        supervisor=stack.supervisor,
        session_factory=stack.session_factory,
        redis=stack.redis,
        model_loaded=model_loaded,
    )


async def load_models(settings: Settings) -> tuple[KnowledgeStore, NluModel]:
    """The knowledge base (validated: an invalid folder raises KnowledgeBaseError naming every
    bad file) and the NLU model (trained when missing or stale), both off the event loop."""
    from nlu import load_or_train

    knowledge = await asyncio.to_thread(KnowledgeStore.load, settings.config.knowledge)
    nlu_model = await asyncio.to_thread(load_or_train, settings.config.nlu)
    return knowledge, nlu_model


class Stack:
    """The long-lived parts a process is built from: engine, Redis, bots and the bot's deps.

    ``async with Stack.open(...)`` closes them in the right order whatever happens (sessions,
    Redis, then the engine).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        knowledge: KnowledgeStore | None = None,
        with_bots: bool = True,
        with_redis: bool = True,
    ) -> None:
        self.settings = settings
        self.knowledge = knowledge
        self.engine = create_engine(settings)
        self.session_factory = create_session_factory(self.engine)
        self.clock = product_clock(settings)
        self.redis = build_redis(settings) if with_redis else None
        self.bots: list[PlatformBot] = list(build_bots(settings)) if with_bots else []
        self.supervisor = Supervisor()

    def dispatcher(self, nlu_model: NluModel, *, polling: bool) -> Dispatcher:
        """The one Dispatcher of a process that takes updates."""
        deps = BotDeps(
            settings=self.settings,
            session_factory=self.session_factory,
            clock=self.clock,
            nlu=nlu_model,
            redis=self.redis,
            knowledge=self.knowledge,
        )
        dp = build_dispatcher(deps, polling=polling)
        # Direct answers keep about one a second per chat and honour 429s (bot/pacing.py);
        # an answer held up too long goes through the outbox, so a sender must run too.
        install_pacing(self.bots, deps, polling=polling)
        return dp

    async def set_commands(self) -> None:
        for bot in self.bots:
            try:
                await set_commands(bot)
            except Exception as exc:  # a platform without setMyCommands must not stop the bot
                logger.warning("%s: setMyCommands failed (%s)", bot.platform, type(exc).__name__)

    async def close(self) -> None:
        # The sender lets sends in flight finish, so nothing goes out twice after a restart.
        await self.supervisor.stop()
        for bot in self.bots:
            await bot.session.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def _run(settings: Settings, stop: asyncio.Event) -> int:
    """All in one process: migrate, bots, console, sender, retention, polling or webhooks."""
    await upgrade_database(settings)
    # The knowledge base is validated before anything starts: an invalid folder stops the start
    # here with one error naming every bad file (KnowledgeBaseError).
    knowledge, nlu_model = await load_models(settings)

    sandbox: SandboxServer | None = None
    if needs_sandbox(settings):
        # With no token at all: the local Telegram/Bale-compatible Bot API and its web chat,
        # with tokens and API bases pointing at it. Imported here, never on the token path.
        try:
            from app.sandbox_launch import start_sandbox_for
        except ImportError as exc:
            raise SystemExit(
                "No bot token is set and the sandbox extra is not installed: set "
                "TELEGRAM_BOT_TOKEN or BALE_BOT_TOKEN, or install it (pip install '.[sandbox]')."
            ) from exc

        sandbox, settings = await start_sandbox_for(settings)
        print(
            "No bot token is set: running against the local sandbox.\n"
            f"Web chat: {sandbox.chat_url}",
            flush=True,
        )
    stack = Stack(settings, knowledge=knowledge)
    console: ConsoleServer | None = None
    probes: ConsoleServer | None = None
    try:
        dp = stack.dispatcher(nlu_model, polling=not settings.env.public_base_url)
        await stack.set_commands()
        # The agents' console, and the one outbound sender that delivers what agents write.
        console = await start_console(settings, stack)
        start_sender(settings, stack)
        start_retention(settings, stack)
        start_notices(settings, stack)
        probes = await start_observability(settings, stack, model_loaded=True)
        _freeze_startup_heap()
        if settings.env.public_base_url:
            await _serve_webhooks(
                settings,
                dp,
                stack.bots,
                nlu_model,
                dict(dp.workflow_data),
                stop,
                stack.supervisor,
                redis=stack.redis,
            )
        else:
            await _poll(settings, dp, stack.bots, stop)
        logger.info("stopped")
        return 0
    finally:
        # The sender lets sends in flight finish, so nothing goes out twice after a restart.
        await stack.supervisor.stop()
        if probes is not None:
            await probes.stop()
        if console is not None:
            await console.stop()
        await stack.close()
        if sandbox is not None:
            await sandbox.stop()
