"""Routing-test harness: the real dispatcher, services, SQLite database and NLU model.

- ``db_settings`` is overridden to SQLite only: the services' own tests cover PostgreSQL, and
  routing tests run every flow and must stay fast.
- ``nlu_model`` (tests/conftest.py) is trained at most once per session.
- ``fsm`` runs a test with aiogram's MemoryStorage and, when Redis is reachable (started if
  installed but stopped), again with RedisStorage under a per-test key prefix.
- ``harness`` builds one dispatcher with a Telegram and a Bale bot on recording sessions;
  ``harness.chat(user_id)`` drives a private chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.types import Chat, User
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import BotDeps, build_bot, build_dispatcher
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.platform import Platform, PlatformBot
from nlu import NluModel
from services.clock import FixedClock
from services.db.migrate import upgrade_database
from services.knowledge.store import KnowledgeStore
from services.settings import Settings
from tests.bot import fakes
from tests.bot.fakes import Call, RecordingSession

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]

# The personas of the foundation issue.
MARYAM = ("6508124226", "09121234567")
REZA = ("2739897952", "09351112233")
HASSAN = ("3486477986", "09131112233")
ZAHRA = ("8332279291", "09191234567")
NOBODY_MOBILE = "09390000000"

_user_ids = itertools.count(810_000_000)


@pytest.fixture(scope="session")
def db_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A fresh, migrated SQLite database for the routing tests (one per session)."""
    path: Path = tmp_path_factory.mktemp("botdb") / "bot-test.db"
    db = settings.model_copy(
        update={
            "env": settings.env.model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"})
        }
    )
    asyncio.run(upgrade_database(db))
    return db


def _redis_reachable() -> bool:
    client = SyncRedis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except (OSError, RedisError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_available() -> bool:
    """Whether Redis answers on 127.0.0.1:6379 (started here if installed but stopped)."""
    if _redis_reachable():
        return True
    if shutil.which("redis-server") is None:
        return False
    subprocess.run(REDIS_START, check=False, capture_output=True, timeout=30)
    for _ in range(20):
        if _redis_reachable():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def fsm(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Redis | None, str]]:
    """(redis client or None, key prefix): where FSM state and update dedupe live."""
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    if request.param == "memory":
        yield None, prefix
        return
    if not request.getfixturevalue("redis_available"):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    async with redis_keys(prefix) as client:
        yield client, prefix


@pytest.fixture
async def redis_fsm(redis_available: bool) -> AsyncIterator[tuple[Redis, str]]:
    """(redis client, key prefix) on the real Redis only; the test's keys are removed after."""
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    async with redis_keys(prefix) as client:
        yield client, prefix


@contextlib.asynccontextmanager
async def redis_keys(prefix: str) -> AsyncIterator[Redis]:
    """A client on the test Redis that removes ``prefix:*`` and closes when done."""
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await delete_prefixed(client, prefix)
        await client.aclose()


async def delete_prefixed(client: Redis, prefix: str) -> None:
    """Remove a test's Redis keys (``prefix:*``)."""
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


NO_ISOLATES = dict.fromkeys(range(0x2066, 0x206A))


@dataclass
class ChatDriver:
    """One private chat with the bot, as a user would drive it."""

    harness: Harness
    bot: PlatformBot
    user: User
    last: list[Call] = field(default_factory=list)

    @property
    def session(self) -> RecordingSession:
        session = self.bot.session
        assert isinstance(session, RecordingSession)
        return session

    @property
    def chat(self) -> Chat:
        return fakes.private_chat(self.user.id)

    async def feed(self, **event: Any) -> list[Call]:
        self.session.take()
        await self.harness.dp.feed_update(self.bot, fakes.update(**event))
        self.last = self.session.take()
        return self.last

    async def send(self, text: str | None = None, **content: Any) -> list[Call]:
        return await self.feed(message=fakes.message(self.user, text=text, **content))

    async def share_contact(self, phone: str, *, owner: int | str | None = "self") -> list[Call]:
        user_id = self.user.id if owner == "self" else owner
        contact = fakes.contact(phone, user_id=user_id if isinstance(user_id, int) else None)
        return await self.send(contact=contact)

    async def press(self, data: str) -> list[Call]:
        on = fakes.message(self.user, text="…")
        return await self.feed(callback_query=fakes.callback(self.user, data, on=on))

    async def click(self, label: str) -> list[Call]:
        """Press the inline button labelled ``label`` from the latest message that had it."""
        for call in reversed(self.harness.history(self.bot)):
            for text, data in zip(call.buttons(), call.callback_data(), strict=False):
                if text == label and data:
                    return await self.press(data)
        raise AssertionError(f"no inline button {label!r} was sent")

    async def verify(self, national_id: str, mobile: str) -> list[Call]:
        await self.share_contact(mobile)
        return await self.send(national_id)

    # --- reading the answers ---------------------------------------------------------
    def texts(self, calls: list[Call] | None = None) -> list[str]:
        """The words sent; the invisible isolates around codes (U+2066 … U+2069) are left out
        here and checked where they matter (tests/bot/test_notice_settings.py)."""
        chosen = self.last if calls is None else calls
        return [c.text.translate(NO_ISOLATES) for c in chosen if c.name == "sendMessage"]

    def joined(self, calls: list[Call] | None = None) -> str:
        return "\n".join(self.texts(calls))


@dataclass
class Harness:
    """The dispatcher under test with a Telegram and a Bale bot."""

    dp: Dispatcher
    telegram: PlatformBot
    bale: PlatformBot
    clock: FixedClock
    deps: BotDeps
    _history: dict[int, list[Call]] = field(default_factory=dict)

    def chat(
        self,
        user_id: int | None = None,
        *,
        platform: Platform = Platform.TELEGRAM,
        first_name: str = "مریم",
    ) -> ChatDriver:
        bot = self.telegram if platform is Platform.TELEGRAM else self.bale
        return ChatDriver(self, bot, fakes.user(user_id or next(_user_ids), first_name))

    def history(self, bot: PlatformBot) -> list[Call]:
        session = bot.session
        assert isinstance(session, RecordingSession)
        return session.history


def make_bots() -> tuple[PlatformBot, PlatformBot]:
    telegram = build_bot(
        Platform.TELEGRAM,
        "1234567:TEST-telegram-token-0000000000",
        "https://api.telegram.org",
        make_session=RecordingSession,
    )
    bale = build_bot(
        Platform.BALE,
        "7654321:TEST-bale-token-00000000000000",
        "https://tapi.bale.ai",
        make_session=RecordingSession,
    )
    return telegram, bale


def make_harness(
    deps: BotDeps,
    fsm: tuple[Redis | None, str],
    *,
    throttling: ThrottlingMiddleware | None = None,
    clock: FixedClock,
) -> Harness:
    redis, prefix = fsm
    deps.redis = redis
    dp = build_dispatcher(
        deps,
        key_prefix=prefix,
        # Tests type faster than any person; the throttling test sets its own limit.
        throttling=throttling or ThrottlingMiddleware(limit=10_000, window=1.0),
    )
    telegram, bale = make_bots()
    return Harness(dp=dp, telegram=telegram, bale=bale, clock=clock, deps=deps)


@pytest.fixture
def bot_deps(
    demo_db: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
    nlu_model: NluModel,
    knowledge_store: KnowledgeStore,
) -> BotDeps:
    return BotDeps(
        settings=db_settings,
        session_factory=session_factory,
        clock=clock,
        nlu=nlu_model,
        knowledge=knowledge_store,
    )


@pytest.fixture
def harness(
    bot_deps: BotDeps, fsm: tuple[Redis | None, str], clock: FixedClock
) -> Iterator[Harness]:
    yield make_harness(bot_deps, fsm, clock=clock)


@pytest.fixture
def memory_harness(bot_deps: BotDeps, clock: FixedClock) -> Harness:
    """A harness on MemoryStorage only (for tests about rendering, not state)."""
    return make_harness(bot_deps, (None, f"tamin-test-{uuid.uuid4().hex[:10]}"), clock=clock)
