"""The outbound path under a burst, over real HTTP: 200 agent replies to 50 users through the
real aiogram Bot and the sandbox Bot API, with the sandbox answering some calls with 429 and
``retry_after`` and enforcing Telegram-like flood limits. All delivered, in order per chat,
none twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.factory import build_bot
from bot.outbound import OutboundSender
from bot.platform import Platform
from bot.render import visible_text
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN, demo_config
from sandbox.server import SandboxServer
from services.clock import FixedClock, SystemClock
from services.db.handoff_models import OutboxDelivery
from services.db.models import Outbox
from services.metrics import metrics
from services.outbox import enqueue
from services.settings import OutboxConfig, Settings

USERS = 50
PER_USER = 4


@pytest.mark.e2e
async def test_burst_of_agent_replies_is_delivered_in_order_once(
    sandbox: SandboxServer,
    control: SandboxClient,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    users = [await control.create_user(f"کاربر {i}") for i in range(USERS)]
    for user in users:
        # As on Telegram, a bot may only write to someone who has started it.
        await control.send_command(user["id"], "start")
    # Interleaved as agents would write: everyone's first reply, then everyone's second …
    for n in range(1, PER_USER + 1):
        for user in users:
            enqueue(
                session,
                clock,
                platform="telegram",
                chat_id=user["id"],
                payload={
                    "kind": "agent_reply",
                    "agent": "سارا <کارشناس>",
                    "text": f"پاسخ {n} از {PER_USER} & <ادامه>",
                    "conversation_id": 1,
                },
            )
    await session.commit()
    # Telegram's limits, plus one call in six refused outright with 429 and retry_after.
    await control.set_flood(per_chat_rate=1.0, per_chat_burst=2, global_rate=30, global_burst=30)
    await control.add_fault(method="sendMessage", probability=1 / 6, count=None, retry_after=1)

    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    sender = OutboundSender(
        session_factory=session_factory,
        bots={"telegram": bot},
        clock=SystemClock(),
        settings=db_settings,
        config=OutboxConfig(max_flood_waits=50),
    )
    before = _outbox_metrics()
    try:
        await sender.drain(within=120)
    finally:
        await bot.session.close()

    for user in users:
        messages = await control.messages(user["id"])
        seen = [visible_text(m["rendered_text"] or "") for m in messages]
        expected = [
            f"👤 سارا <کارشناس>، کارشناس ۱۴۲۰:\nپاسخ {n} از {PER_USER} & <ادامه>"
            for n in range(1, PER_USER + 1)
        ]
        assert seen == expected, user["id"]
    statuses = dict(
        (await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
    )
    assert statuses == {"sent": USERS * PER_USER}
    # Each delivery is recorded with the platform's message id.
    ids = (await session.scalars(select(OutboxDelivery.message_id))).all()
    assert len(ids) == USERS * PER_USER and None not in ids
    refused = sum(f["fired"] for f in await control.faults())
    waits = await session.scalar(select(func.sum(OutboxDelivery.flood_waits)))
    assert refused > 0 and waits is not None and waits >= refused
    assert sender.sent == USERS * PER_USER and sender.failed == 0
    # The metrics saw every 429 and every delivery with its lag.
    after = _outbox_metrics()
    assert after[0] - before[0] == refused
    assert after[1] - before[1] == USERS * PER_USER
    assert after[2] - before[2] == USERS * PER_USER


def _outbox_metrics() -> tuple[float, float, float]:
    """429s, deliveries and lag observations to Telegram counted so far by this process."""
    registry = metrics().registry
    telegram = {"platform": "telegram"}
    return (
        registry.get_sample_value("tamin_outbox_rate_limited_total", telegram) or 0.0,
        registry.get_sample_value("tamin_outbox_sends_total", {**telegram, "outcome": "sent"})
        or 0.0,
        registry.get_sample_value("tamin_outbox_lag_seconds_count", telegram) or 0.0,
    )


@pytest.fixture
async def both_platforms() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(demo_config()) as server:
        yield server


async def test_bale_rendering_and_unknown_kinds(
    both_platforms: SandboxServer,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    db_settings: Settings,
    clock: FixedClock,
) -> None:
    """Bale has no parse_mode: an agent's «*۱۴۲۰*۴#» and underscores must arrive as typed."""
    from sandbox.config import DEMO_BALE_TOKEN

    async with SandboxClient(both_platforms.url, bot="bale") as bale_control:
        user = await bale_control.create_user("کاربر بله")
        await bale_control.send_command(user["id"], "start")
        text = "کد *1420*4# را بگیرید؛ پرونده_۱۲ [مهم]"
        for payload in (
            {"kind": "agent_reply", "agent": "سارا", "text": text, "conversation_id": 1},
            {"kind": "no_such_kind"},
            {"kind": "ticket_answer", "tracking_code": "1420-123456", "text": "پاسخ <i> & x"},
        ):
            enqueue(session, clock, platform="bale", chat_id=user["id"], payload=payload)
        await session.commit()
        bale = build_bot(Platform.BALE, DEMO_BALE_TOKEN, both_platforms.api_base)
        sender = OutboundSender(
            session_factory=session_factory,
            bots={"bale": bale},
            clock=SystemClock(),
            settings=db_settings,
            config=OutboxConfig(per_chat_interval_seconds=0.1),
        )
        try:
            await sender.drain(within=30)
        finally:
            await bale.session.close()
        seen = [
            visible_text(m["rendered_text"] or "") for m in await bale_control.messages(user["id"])
        ]
    assert seen == [
        f"👤 سارا، کارشناس ۱۴۲۰:\n{text}",
        # The code isolated left-to-right (issue 18), and the notice's who-and-how-to-stop line.
        "📬 پاسخ کارشناس ۱۴۲۰ به درخواست شما با کد رهگیری \u2066۱۴۲۰-۱۲۳۴۵۶\u2069:\n"
        "پاسخ <i> & x\n\n" + texts.NOTICE_FOOTER,
    ]
    statuses = (await session.scalars(select(Outbox.status).order_by(Outbox.id))).all()
    assert statuses == ["sent", "failed", "sent"]
