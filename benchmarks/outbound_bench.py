"""Outbound benchmark: agent replies drained through the real Bot API path under flood control.

N agent replies (default 1 000; ``OUTBOUND_BENCH_MESSAGES``) to M users (default 250;
``OUTBOUND_BENCH_CHATS``), interleaved as agents write them, go through the outbox, the one
outbound sender and the real aiogram Bot to the sandbox over HTTP. The sandbox enforces
Telegram-like flood limits (1 message/s per chat, 30/s overall) and answers a share of the calls
(``OUTBOUND_BENCH_429``, default 0.1) with 429 and ``retry_after: 1``.

Prints: drain time, messages per second (the ceiling is the 30/s global limit), 429 answers
honoured, messages lost, sent twice or out of order (all three must be 0), and the time from
enqueue to delivery (p50 / p99).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.factory import build_bot
from bot.outbound import OutboundSender
from bot.platform import Platform
from sandbox.client import SandboxClient
from sandbox.config import DEMO_TELEGRAM_TOKEN, demo_config
from sandbox.server import SandboxServer
from services.clock import SystemClock
from services.db import create_engine, create_session_factory, upgrade_database
from services.db.handoff_models import OutboxDelivery
from services.db.models import Outbox
from services.outbox import enqueue
from services.settings import OutboxConfig, load_settings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _run(messages: int, chats: int, refuse: float, folder: Path) -> None:
    base = load_settings()
    settings = base.model_copy(
        update={
            "env": base.env.model_copy(
                update={"database_url": f"sqlite+aiosqlite:///{folder / 'outbound.db'}"}
            )
        }
    )
    await upgrade_database(settings)
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    clock = SystemClock()
    async with SandboxServer(demo_config(bale_token=None)) as sandbox:
        control = SandboxClient(sandbox.url)
        users = [int((await control.create_user(f"کاربر {i}"))["id"]) for i in range(chats)]
        for user in users:
            await control.send_command(user, "start")
        per_chat = messages // chats
        async with session_factory() as session:
            for n in range(per_chat):
                for user in users:
                    enqueue(
                        session,
                        clock,
                        platform="telegram",
                        chat_id=user,
                        payload={
                            "kind": "agent_reply",
                            "agent": "کارشناس",
                            "text": f"پاسخ {n + 1}",
                            "conversation_id": 1,
                        },
                    )
            await session.commit()
        await control.set_flood(
            per_chat_rate=1.0, per_chat_burst=1, global_rate=30, global_burst=30
        )
        if refuse > 0:
            await control.add_fault(
                method="sendMessage", probability=refuse, count=None, retry_after=1
            )
        bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
        sender = OutboundSender(
            session_factory=session_factory,
            bots={"telegram": bot},
            clock=clock,
            settings=settings,
            config=OutboxConfig(max_flood_waits=100),
        )
        started = time.perf_counter()
        try:
            await sender.drain(within=3600)
        finally:
            await bot.session.close()
        seconds = time.perf_counter() - started

        lost = twice = disorder = 0
        for user in users:
            texts = [m["text"] for m in await control.messages(user)]
            expected = [f"پاسخ {n + 1}" for n in range(per_chat)]
            got = [t.rsplit("\n", 1)[-1] for t in texts]
            lost += len(set(expected) - set(got))
            twice += len(got) - len(set(got))
            in_order = [t for t in got if t in expected]
            disorder += int(in_order != sorted(set(in_order), key=expected.index))
        refused = sum(f["fired"] for f in await control.faults())
        await control.close()
        async with session_factory() as session:
            rows = (
                await session.execute(
                    select(Outbox.created_at, Outbox.sent_at).where(Outbox.status == "sent")
                )
            ).all()
            waits = await session.scalar(select(func.sum(OutboxDelivery.flood_waits)))
        latencies = [(s - c).total_seconds() for c, s in rows if s is not None]
    await engine.dispose()
    total = per_chat * chats
    print(f"messages {total} to {chats} chats, {per_chat} each; injected 429 share {refuse}")
    print(f"  drained in {seconds:.1f} s: {total / seconds:.1f} messages/s (ceiling 30/s)")
    print(f"  429 answers: {refused} injected, {waits or 0} flood waits honoured in all")
    print(f"  lost {lost}, sent twice {twice}, chats out of order {disorder}")
    print(
        f"  enqueue → delivered: p50 {statistics.median(latencies):.1f} s, "
        f"p99 {_percentile(latencies, 0.99):.1f} s, max {max(latencies):.1f} s"
    )


def main() -> int:
    messages = int(os.environ.get("OUTBOUND_BENCH_MESSAGES", "1000"))
    chats = int(os.environ.get("OUTBOUND_BENCH_CHATS", "250"))
    refuse = float(os.environ.get("OUTBOUND_BENCH_429", "0.1"))
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(messages, chats, refuse, Path(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
