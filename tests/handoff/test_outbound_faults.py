"""The outbound sender survives a database outage (issue 17, finding 1).

Connection errors are injected into the real sender's sessions for a few seconds (a database
that stopped: sessions fail to connect), while agent replies wait in the outbox. Before the
fix, the sender's claim raised and the task died silently: nothing was delivered any more and
``/healthz`` still said ok. Now every queued reply reaches the user within seconds of the
database's return, and ``/readyz`` reports the supervised sender.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.factory import build_bot
from bot.outbound import OutboundSender
from bot.platform import Platform
from console.app import create_console_app
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN
from sandbox.server import SandboxServer
from services.clock import FixedClock, SystemClock
from services.db.models import Outbox
from services.outbox import enqueue
from services.settings import OutboxConfig, Settings
from services.supervision import Supervisor

OUTAGE_SECONDS = 3.0
REPLIES = 5


class Outage:
    """A session factory that fails to connect while ``down`` (like a stopped database)."""

    def __init__(self, real: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
        self.real = real
        self.down = False
        self.refused = 0
        bind = real.kw["bind"]
        if bind.dialect.name == "postgresql":
            # Nothing listens on port 1: connecting fails as it does with PostgreSQL stopped.
            url = bind.url.set(port=1)
        else:
            url = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db"
        self.broken_engine = create_async_engine(url)
        self.broken = async_sessionmaker(self.broken_engine)

    def __call__(self) -> AsyncSession:
        if self.down:
            self.refused += 1
            return self.broken()
        return self.real()


@pytest.mark.e2e
async def test_replies_queued_during_an_outage_are_delivered_after_it(
    sandbox: SandboxServer,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    outage = Outage(session_factory, tmp_path)
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    sender = OutboundSender(
        session_factory=outage,  # type: ignore[arg-type]
        bots={"telegram": bot},
        clock=SystemClock(),
        settings=db_settings,
        config=OutboxConfig(per_chat_interval_seconds=0.05),
    )
    supervisor = Supervisor(first_delay=0.2, max_delay=2)
    console = create_console_app(db_settings, session_factory, clock, supervisor)
    transport = httpx.ASGITransport(app=console)
    async with (
        SandboxClient(sandbox.url) as control,
        httpx.AsyncClient(transport=transport, base_url="http://console") as http,
    ):
        user = await control.create_user("کاربر")
        await control.send_command(user["id"], "start")
        outage.down = True
        supervisor.start("outbound", sender.run)
        for n in range(REPLIES):
            enqueue(
                session,
                clock,
                platform="telegram",
                chat_id=user["id"],
                payload={"kind": "agent_reply", "agent": "سارا", "text": f"پاسخ {n}"},
            )
        await session.commit()
        await asyncio.sleep(OUTAGE_SECONDS)
        assert outage.refused > 0
        assert await control.messages(user["id"]) == []
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["tasks"]["outbound"]["running"]
        outage.down = False
        back = asyncio.get_running_loop().time()
        while len(await control.messages(user["id"])) < REPLIES:
            assert asyncio.get_running_loop().time() - back < 10, "not delivered in 10 s"
            await asyncio.sleep(0.1)
        await supervisor.stop()
        assert (await http.get("/readyz")).status_code == 503
    await bot.session.close()
    await outage.broken_engine.dispose()
    seen = [str(m["text"]) for m in await control_messages(sandbox, user["id"])]
    assert [s.split("\n")[-1] for s in seen] == [f"پاسخ {n}" for n in range(REPLIES)]
    statuses = (await session.scalars(select(Outbox.status))).all()
    assert statuses == ["sent"] * REPLIES


async def control_messages(sandbox: SandboxServer, user_id: int) -> list[dict[str, object]]:
    async with SandboxClient(sandbox.url) as control:
        return await control.messages(user_id)
