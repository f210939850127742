"""Two outbox senders at once (``tamin-bot sender`` twice, or on two machines): the leases in
the database keep each message to one of them, and a chat's messages in order, over real HTTP
through the sandbox Bot API."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_bot
from bot.outbound import OutboundSender
from bot.platform import Platform
from bot.render import visible_text
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN
from sandbox.server import SandboxServer
from services.clock import FixedClock, SystemClock
from services.db.handoff_models import OutboxDelivery
from services.db.models import Outbox
from services.outbox import enqueue
from services.settings import OutboxConfig, Settings

USERS = 20
PER_USER = 3


@pytest.mark.e2e
async def test_two_senders_deliver_each_message_once_in_order(
    sandbox: SandboxServer,
    control: SandboxClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    users = [await control.create_user(f"کاربر {i}") for i in range(USERS)]
    for user in users:
        await control.send_command(user["id"], "start")
    for n in range(1, PER_USER + 1):
        for user in users:
            enqueue(
                session,
                clock,
                platform="telegram",
                chat_id=user["id"],
                payload={
                    "kind": "agent_reply",
                    "agent": "سارا",
                    "text": f"پاسخ {n}",
                    "conversation_id": 1,
                },
            )
    await session.commit()

    bots = [build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base) for _ in "ab"]
    # Small claims, so that both senders keep coming back to the same pending rows.
    config = OutboxConfig(batch_size=4)
    senders = [
        OutboundSender(
            session_factory=session_factory,
            bots={"telegram": bot},
            clock=SystemClock(),
            settings=db_settings,
            config=config,
            owner=f"sender-{name}",
        )
        for bot, name in zip(bots, "ab", strict=True)
    ]
    try:
        await asyncio.gather(*(sender.drain(within=120) for sender in senders))
    finally:
        for bot in bots:
            await bot.session.close()

    for user in users:
        messages = await control.messages(user["id"])
        seen = [visible_text(m["rendered_text"] or "") for m in messages]
        assert seen == [f"👤 سارا، کارشناس ۱۴۲۰:\nپاسخ {n}" for n in range(1, PER_USER + 1)]
    statuses = dict(
        (await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
    )
    assert statuses == {"sent": USERS * PER_USER}
    assert (
        len((await session.scalars(select(OutboxDelivery.message_id))).all()) == USERS * PER_USER
    )
    # Both took part, and together sent each message exactly once.
    assert all(sender.sent > 0 for sender in senders), [s.sent for s in senders]
    assert sum(sender.sent for sender in senders) == USERS * PER_USER
