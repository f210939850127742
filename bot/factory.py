"""Build the bot side from one settings object: the Bots, the FSM storage and the Dispatcher.

Telegram and Bale are both reached through aiogram with ``TelegramAPIServer.from_base``; each
``PlatformBot`` records its platform so the middlewares and the renderer can tell them apart.
One Dispatcher serves every Bot.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.methods import Response, SendMessage, TelegramMethod
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.context import BotContext
from bot.deps import ServicesFactory
from bot.fsm_storage import DbStorage
from bot.handlers import build_handlers
from bot.intent_log_flush import IntentLogFlushChannel
from bot.middlewares.context import ContextMiddleware
from bot.middlewares.db import UnitOfWorkMiddleware, update_session
from bot.middlewares.dedupe import (
    DedupeMiddleware,
    RedisLedger,
    UpdateLedger,
)
from bot.middlewares.ledger_db import DatabaseLedger
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import ChatUserMiddleware
from bot.nlu import NluModel, Understander
from bot.pacing import (
    ChatPacer,
    MemoryPacer,
    Overflow,
    PacingMiddleware,
    RedisPacer,
    placeholder_message,
    prepared_payload,
)
from bot.platform import Platform, PlatformBot, platform_of
from bot.redis_batch import BatchedRedisStorage, RedisBatcher, RenewingRedisIsolation
from bot.send_ledger import RedisSendStore, SendLedgerMiddleware, SendStore, SqliteSendStore
from bot.session import JsonAiohttpSession
from services.clock import Clock
from services.db.engine import sqlite_path
from services.eligibility_store import GroupCommitInquiryStore
from services.intent_log import IntentLogWriter
from services.knowledge.store import KnowledgeStore
from services.outbox import enqueue, hold_chat
from services.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

SessionMaker = Callable[[TelegramAPIServer], BaseSession]

# How long an update waits for a free Redis connection before failing (the error router then
# apologises): long enough for any burst to drain, short enough to notice a stuck server.
REDIS_POOL_TIMEOUT_S = 20


# aiogram validates every Bot API answer with ``Response[method.__returning__]``. Pydantic keeps
# parametrised generic models in a *weak* cache, so once the garbage collector frees the class the
# next call builds its schema again, a visible share of the bot's CPU under load (figures in the
# README's benchmark section). Holding one strong reference per return type keeps them cached
# for the life of the process, for the one-off cost of building each once.
_PINNED_RESPONSE_MODELS: dict[str, type] = {}


def pin_response_models() -> None:
    """Build ``Response[T]`` once for every Bot API return type and keep it alive."""
    if _PINNED_RESPONSE_MODELS:
        return
    for name in methods.__all__:
        method = getattr(methods, name)
        if (
            isinstance(method, type)
            and issubclass(method, TelegramMethod)
            and method is not TelegramMethod
        ):
            returning = getattr(method, "__returning__", None)
            if returning is not None and repr(returning) not in _PINNED_RESPONSE_MODELS:
                _PINNED_RESPONSE_MODELS[repr(returning)] = Response[returning]  # type: ignore[valid-type]


def _aiohttp_session(api: TelegramAPIServer) -> BaseSession:
    return JsonAiohttpSession(api=api)


def build_bot(
    platform: Platform,
    token: str,
    api_base: str,
    *,
    make_session: SessionMaker = _aiohttp_session,
) -> PlatformBot:
    """Return a Bot for ``platform`` talking to the Bot API at ``api_base``."""
    pin_response_models()
    api = TelegramAPIServer.from_base(api_base)
    # Link previews would turn every portal address into a large card; nobody needs them here.
    default = DefaultBotProperties(link_preview_is_disabled=True)
    return PlatformBot(token, platform=platform, session=make_session(api), default=default)


def build_bots(
    settings: Settings, *, make_session: SessionMaker = _aiohttp_session
) -> list[PlatformBot]:
    """Return one Bot per platform whose token is configured (both when both are set)."""
    env = settings.env
    bots: list[PlatformBot] = []
    if env.telegram_bot_token is not None:
        bots.append(
            build_bot(
                Platform.TELEGRAM,
                env.telegram_bot_token.get_secret_value(),
                env.telegram_api_base,
                make_session=make_session,
            )
        )
    if env.bale_bot_token is not None:
        bots.append(
            build_bot(
                Platform.BALE,
                env.bale_bot_token.get_secret_value(),
                env.bale_api_base,
                make_session=make_session,
            )
        )
    return bots


def build_redis(settings: Settings) -> Redis | None:
    """Return the Redis client of ``REDIS_URL`` (None without it).

    The pool blocks when all ``REDIS_POOL_SIZE`` connections are busy: redis-py's default pool
    raises ``MaxConnectionsError`` past 100 connections instead, which under a burst of
    concurrent updates failed many of them (the bot benchmark on PostgreSQL + Redis).
    """
    env = settings.env
    if env.redis_url is None:
        return None
    pool = BlockingConnectionPool.from_url(
        env.redis_url, max_connections=env.redis_pool_size, timeout=REDIS_POOL_TIMEOUT_S
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it too


def build_fsm(
    redis: Redis | None,
    *,
    prefix: str = "tamin:fsm",
    polling: bool = False,
    batcher: RedisBatcher | None = None,
    ttl: int | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    now: Callable[[], dt.datetime] | None = None,
    lock_seconds: float = 10.0,
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Return the FSM storage and event isolation: in Redis, else in the database.

    In Redis the key carries the bot id (several bots, and several workers sharing one Redis,
    must not see each other's conversations), and the reads of concurrent updates share a
    pipeline (``bot.redis_batch``; give the dispatcher's ``batcher`` so the dedupe joins it).
    With webhooks, where a load balancer spreads a user's updates over the workers, a Redis
    lock isolates them across workers. By ``polling`` this process is the only one receiving
    the bot's updates (Telegram refuses a second ``getUpdates`` with 409 Conflict), so an
    in-process lock isolates them as well, without the lock's two Redis round trips per
    update.

    Without Redis, the steps live in the database (``bot.fsm_storage``) so that a restart
    resumes every flow (issue 17, finding 9); in memory only when no database is given.

    ``ttl``: seconds after which a conversation step left half-way expires (its data holds
    dependants' national IDs and complaint texts; the retention section of config.yml).
    ``lock_seconds``: the cross-worker chat lock's expiry, renewed while held
    (``bot.update_lease_seconds``).
    """
    if redis is None:
        if session_factory is None:
            return MemoryStorage(), SimpleEventIsolation()
        storage = DbStorage(
            session_factory,
            now or (lambda: dt.datetime.now(dt.UTC)),
            ttl=dt.timedelta(seconds=ttl or 24 * 3600),
            key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True),
        )
        # Without Redis this process is the only one answering its chats (several workers
        # share Redis): the in-process lock isolates a chat's updates and the storage's
        # cache stays right.
        return storage, SimpleEventIsolation()
    redis_storage = BatchedRedisStorage(
        redis,
        batcher,
        key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True),
        state_ttl=ttl,
        data_ttl=ttl,
    )
    if polling:
        return redis_storage, SimpleEventIsolation()
    # Across workers a Redis lock per chat, renewed while held: a killed worker's lock lapses
    # within lock_seconds (aiogram's own lasts a fixed 60 s; bot/redis_batch.py).
    return redis_storage, RenewingRedisIsolation(
        redis,
        key_builder=redis_storage.key_builder,
        lock_seconds=lock_seconds,
        batcher=redis_storage.batcher,
    )


@dataclass
class BotDeps:
    """The long-lived objects the bot side is built from."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    nlu: NluModel
    redis: Redis | None = None
    # Loaded at start by the composition root (an invalid folder stops it there); loaded here
    # from the settings when not given.
    knowledge: KnowledgeStore | None = None

    _batcher: RedisBatcher | None = field(default=None, init=False, repr=False)

    @property
    def batcher(self) -> RedisBatcher | None:
        """The one :class:`RedisBatcher` of these deps (None without Redis): the dispatcher's
        commands (dedupe, FSM, flood counter, chat lock), the pace's bucket script and the send
        ledger's look-up of a loop turn go in one pipeline, not one each.

        Made for the current ``redis``: deps given another client (tests build a second
        dispatcher, without Redis, from the same deps) get a batcher of that one, not the
        first's."""
        if self.redis is None:
            return None
        if self._batcher is None or self._batcher.redis is not self.redis:
            self._batcher = RedisBatcher(self.redis)
        return self._batcher


def build_dispatcher(
    deps: BotDeps,
    *,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    ledger: UpdateLedger | None = None,
    throttling: ThrottlingMiddleware | None = None,
    key_prefix: str = "tamin",
    polling: bool = False,
) -> Dispatcher:
    """Return the one Dispatcher: workflow data, outer middlewares and routers in order.

    ``polling``: the dispatcher will get its updates by polling (see :func:`build_fsm`).
    """
    batcher = deps.batcher
    if storage is None:
        storage, isolation = build_fsm(
            deps.redis,
            prefix=f"{key_prefix}:fsm",
            polling=polling,
            batcher=batcher,
            ttl=deps.settings.config.retention.flow_state_hours * 3600,
            session_factory=deps.session_factory,
            now=deps.clock.now,
            lock_seconds=deps.settings.config.bot.update_lease_seconds,
        )
        events_isolation = events_isolation or isolation
    if ledger is None:
        # Durable either way (issue 17, finding 2): Redis when configured, else the database.
        bot_config = deps.settings.config.bot
        ledger = (
            DatabaseLedger(deps.session_factory)
            if batcher is None
            else RedisLedger(
                batcher,
                lease_seconds=bot_config.update_lease_seconds,
                done_ttl=bot_config.processed_updates_hours * 3600,
                prefix=f"{key_prefix}:update",
            )
        )
    routers = build_handlers()
    handoff = deps.settings.config.handoff
    intent_log = IntentLogWriter(
        deps.session_factory, deps.clock, interval=handoff.intent_log_batch_seconds
    )
    inquiries = GroupCommitInquiryStore(deps.session_factory)
    knowledge = deps.knowledge or KnowledgeStore.load(deps.settings.config.knowledge)
    services_factory = ServicesFactory(
        deps.settings, deps.clock, intent_log, inquiries, knowledge_store=knowledge
    )
    context: BotContext = {
        "settings": deps.settings,
        "session_factory": deps.session_factory,
        "clock": deps.clock,
        "understander": Understander(deps.nlu, texts.MENU),
        "services_factory": services_factory,
    }
    dp = Dispatcher(storage=storage, events_isolation=events_isolation, **context)

    # Order matters: context first (so later steps can answer in the platform's format), then
    # the cheap refusals (duplicates, floods) before any database work.
    dp.update.outer_middleware(ContextMiddleware())
    dp.update.outer_middleware(DedupeMiddleware(ledger))
    dp.update.outer_middleware(
        throttling
        or ThrottlingMiddleware(
            deps.settings.config.bot.flood_limit,
            deps.settings.config.bot.flood_window_seconds,
            # By polling this process alone receives the bots' updates (see build_fsm): the
            # flood windows live in its memory, as the chat lock and the pace do, and cost no
            # Redis commands (two per update). Webhook workers share them in Redis.
            batcher=None if polling else batcher,
            prefix=f"{key_prefix}:flood",
        )
    )
    dp.update.outer_middleware(UnitOfWorkMiddleware(deps.session_factory, services_factory))
    dp.update.outer_middleware(ChatUserMiddleware())
    # Every callback query is answered, even when a handler forgets or fails.
    dp.callback_query.middleware(CallbackAnswerMiddleware())

    dp.include_routers(*routers)
    if deps.redis is not None:
        # Workers sharing Redis may share chats: an escalation makes every one of them write
        # its intent-log buffer before the transcript is read (bot/intent_log_flush.py).
        flush_channel = IntentLogFlushChannel(
            deps.redis,
            intent_log,
            prefix=key_prefix,
            timeout=handoff.intent_log_flush_timeout_seconds,
        )
        dp.startup.register(flush_channel.start)
        dp.shutdown.register(flush_channel.stop)
    # What the intent log and the eligibility store still hold is written when it stops.
    dp.shutdown.register(inquiries.close)
    dp.shutdown.register(intent_log.close)
    if isinstance(ledger, DatabaseLedger):  # its done marks still queued
        dp.shutdown.register(ledger.close)
    return dp


def outbox_overflow(session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> Overflow:
    """Return what ``PacingMiddleware`` does with a text answer that must wait: outbox it."""

    async def overflow(bot: Bot, method: SendMessage, rest: float, flood: bool) -> Message:
        platform, chat_id = str(platform_of(bot)), int(method.chat_id)
        now = clock.now()
        until = now + dt.timedelta(seconds=rest)

        async def add(session: AsyncSession) -> None:
            payload = prepared_payload(method)
            enqueue(session, clock, platform=platform, chat_id=chat_id, payload=payload)
            await hold_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                until=until,
                now=None if flood else now,
            )

        # In the update's own transaction when there is one, as every outbox message is
        # written: on SQLite a second one would wait for the write lock this update may hold.
        # (An answer sent after the update, e.g. by the error router, commits on its own.)
        session = update_session.get()
        if session is not None:
            await add(session)
        else:
            async with session_factory() as own:
                await add(own)
                await own.commit()
        return placeholder_message(method)

    return overflow


def sent_calls_path(settings: Settings) -> Path:
    """The send ledger's own SQLite file without Redis: beside a SQLite database, else in var/."""
    database = sqlite_path(settings.env.database_url)
    if database is None:
        return PROJECT_ROOT / "var" / "sent.db"
    return database.with_name(f"{database.stem}.sent.db")


def build_send_store(deps: BotDeps, *, key_prefix: str = "tamin") -> SendStore:
    """The send ledger's store (``bot.send_ledger``): Redis when configured, else its file.

    Marks live as long as an update may come again (``bot.processed_updates_hours``).
    """
    ttl = deps.settings.config.bot.processed_updates_hours * 3600
    if deps.redis is not None:
        return RedisSendStore(
            deps.redis, ttl=ttl, prefix=f"{key_prefix}:sent", batcher=deps.batcher
        )
    return SqliteSendStore(sent_calls_path(deps.settings), ttl=ttl)


def install_pacing(
    bots: list[PlatformBot],
    deps: BotDeps,
    *,
    polling: bool,
    key_prefix: str = "tamin",
    send_store: SendStore | None = None,
) -> PacingMiddleware:
    """Pace the bots' direct answers per chat and honour 429s (``bot.pacing``), and keep a
    re-run update from sending again what it sent (``bot.send_ledger``).

    The buckets are in Redis in webhook mode (several workers answer one chat); in memory
    when polling (this process alone receives the bots' updates) or without Redis.
    """
    config = deps.settings.config.pacing
    pacer: ChatPacer
    if deps.redis is not None and not polling:
        pacer = RedisPacer(
            deps.redis,
            config.per_chat_per_second,
            config.per_chat_burst,
            prefix=f"{key_prefix}:pace",
            batcher=deps.batcher,
        )
    else:
        pacer = MemoryPacer(config.per_chat_per_second, config.per_chat_burst)
    middleware = PacingMiddleware(
        pacer,
        max_wait=config.max_wait_seconds,
        max_flood_retries=config.max_flood_retries,
        overflow=outbox_overflow(deps.session_factory, deps.clock),
    )
    ledger = SendLedgerMiddleware(send_store or build_send_store(deps, key_prefix=key_prefix))
    for bot in bots:
        # The ledger around the pace: a re-run's sent reply is answered before the pace is
        # asked, and only a request that leaves is recorded (bot/send_ledger.py).
        ledger.install(bot.session, middleware)
    return middleware
