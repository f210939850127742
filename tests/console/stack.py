"""The whole product in one event loop for end-to-end tests: the sandbox Bot API, the real bot
polling it, the outbound sender, and the console served over HTTP — all on one fresh SQLite
database with the demo personas, on the real clock, with the contact centre always open."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import texts as bot_texts
from bot.factory import BotDeps, build_bot, build_dispatcher
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.outbound import OutboundSender
from bot.platform import Platform, PlatformBot
from console.app import create_console_app
from console.files import BotApi, BotFiles
from console.server import ConsoleServer
from demo import load_personas
from nlu import NluModel
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN, demo_config
from sandbox.server import SandboxServer
from services.agents import AgentRole, AgentService
from services.clock import SystemClock
from services.db import create_engine, create_session_factory, upgrade_database
from services.db.models import ChatUser
from services.settings import Settings
from tests.conftest import with_config
from tests.handoff.conftest import FAST_ARGON2, PASSWORD

MARYAM = ("6508124226", "09121234567")


def stack_settings(settings: Settings, db_path: Path) -> Settings:
    env = settings.env.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db_path}"})
    centre = settings.config.contact_centre.model_copy(update={"always_open": True})
    config = settings.config.model_copy(update={"contact_centre": centre})
    out = settings.model_copy(update={"env": env, "config": config})
    out = with_config(out, "agents", **FAST_ARGON2)
    # The stack runs on the wall clock: no quiet hours (start == end), or a decision's notice
    # made after 22:00 Tehran would wait for 08:00. The quiet hours have their own tests
    # (tests/services/test_notices.py, tests/console/test_requests.py).
    midnight = dt.time(0, 0)
    out = with_config(out, "notices", quiet_start=midnight, quiet_end=midnight)
    return with_config(out, "console", poll_seconds=1)


@dataclass
class Stack:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    sandbox: SandboxServer
    control: SandboxClient
    bot: PlatformBot
    dp: Dispatcher
    sender: OutboundSender
    console_url: str
    _tasks: list[asyncio.Task[Any]]
    _console: ConsoleServer

    async def add_agent(self, username: str, role: AgentRole = AgentRole.AGENT) -> None:
        async with self.session_factory() as session, session.begin():
            await AgentService(session, self.settings, SystemClock()).create(
                username=username,
                display_name=f"کارشناس {username}",
                password=PASSWORD,
                role=role,
            )

    async def verified_user(self, name: str = "مریم") -> int:
        """A sandbox user who started the bot and verified as مریم رضایی."""
        user = await self.control.create_user(name)
        uid = int(user["id"])
        await self.control.reaction(uid, await self.control.send_command(uid, "start"))
        await self.control.share_contact(uid, MARYAM[1])
        reaction = await self.control.say(uid, MARYAM[0])
        # The bot's confirmation, not just any reply (a refusal is a reply too) …
        confirmed = bot_texts.VERIFIED.split("{name}")[0]
        assert any(text.startswith(confirmed) for text in reaction.texts), reaction.text
        # … and the chat user is verified as Maryam in the database.
        async with self.session_factory() as session:
            national_id = await session.scalar(
                select(ChatUser.national_id).where(
                    ChatUser.platform_user_id == uid, ChatUser.verified_at.is_not(None)
                )
            )
        assert national_id == MARYAM[0]
        return uid

    async def stop(self) -> None:
        polling, outbound = self._tasks
        with contextlib.suppress(Exception):
            await self.dp.stop_polling()
        outbound.cancel()
        for task in (polling, outbound):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=10)
        await self._console.stop()
        await self.control.close()
        await self.bot.session.close()
        await self.sandbox.stop()
        await self.engine.dispose()


async def start_stack(settings: Settings, nlu_model: NluModel) -> Stack:
    await upgrade_database(settings)
    # The model's first parse pays for lazy set-up; do it now, not inside a user's turn.
    nlu_model.parse("سلام")
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    clock = SystemClock()
    async with engine.begin() as conn:
        await load_personas(conn, settings, clock.today())
    sandbox = await SandboxServer(demo_config(bale_token=None)).start()
    control = SandboxClient(sandbox.url, quiet_ms=300)
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    dp = build_dispatcher(
        BotDeps(settings=settings, session_factory=session_factory, clock=clock, nlu=nlu_model),
        throttling=ThrottlingMiddleware(limit=10_000, window=1.0),
    )
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False), name="polling"
        )
    ]
    sender = OutboundSender(
        session_factory=session_factory, bots={"telegram": bot}, clock=clock, settings=settings
    )
    tasks.append(asyncio.create_task(sender.run(), name="outbound"))

    # The console fetches files kept as a file_id through the sandbox's Bot API, as `run` does
    # with the sandbox's demo token.
    files = BotFiles({"telegram": BotApi(DEMO_TELEGRAM_TOKEN, sandbox.api_base)})
    console = await ConsoleServer(
        create_console_app(settings, session_factory, clock, files=files), port=0
    ).start()
    return Stack(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        sandbox=sandbox,
        control=control,
        bot=bot,
        dp=dp,
        sender=sender,
        console_url=console.url,
        _tasks=tasks,
        _console=console,
    )
