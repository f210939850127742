"""Delivery (issue 17, finding 2): an update is taken under a lease, done after its commit, let
go when it fails; polling confirms only finished updates; the webhook answers 200 only once an
update is handled, 503 while another worker holds it or the process stops (issue 19).

Real parts: the dispatcher and its middlewares, SQLite and PostgreSQL, Redis, the sandbox's
Bot API over HTTP, the webhook app over ASGI.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiogram import Dispatcher
from aiogram.types import Message
from redis.asyncio import Redis

from bot import texts
from bot.factory import build_bot
from bot.middlewares.dedupe import (
    BUSY,
    DedupeMiddleware,
    Lease,
    MemoryLedger,
    RedisLedger,
    Seen,
    UpdateLedger,
)
from bot.middlewares.ledger_db import DatabaseLedger
from bot.platform import Platform
from bot.polling import poll
from bot.webhook import TELEGRAM_PATH, WebhookGate, create_webhook_router
from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config
from services.db.delivery_models import DONE
from services.eligibility import EligibilityService
from tests.bot import fakes
from tests.bot.conftest import MARYAM, REDIS_URL, Harness, delete_prefixed
from tests.faults.test_ledger_db import processed_row

# --------------------------------------------------------------------------- the ledgers


@pytest.fixture
async def redis_ledgers(redis_available: bool) -> AsyncIterator[tuple[RedisLedger, RedisLedger]]:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    try:
        yield (
            RedisLedger(client, lease_seconds=1, prefix=f"{prefix}:update"),
            RedisLedger(client, lease_seconds=1, prefix=f"{prefix}:update"),
        )
    finally:
        await delete_prefixed(client, prefix)
        await client.aclose()


@pytest.mark.redis
async def test_redis_ledger_leases_renews_releases_and_completes(
    redis_ledgers: tuple[RedisLedger, RedisLedger],
) -> None:
    ledger, other_worker = redis_ledgers
    client = ledger.batcher.redis
    lease = await ledger.take("telegram", 1)
    assert isinstance(lease, Lease)
    assert await other_worker.take("telegram", 1) is Seen.BUSY
    key = f"{ledger.prefix}:telegram:1"
    assert 0 < await client.pttl(key) <= 1000
    await asyncio.sleep(0.6)
    await ledger.renew(lease)
    assert await client.pttl(key) > 600  # renewed to a full lease
    await ledger.complete(lease)
    assert await other_worker.take("telegram", 1) is Seen.DONE
    assert await client.ttl(key) > 24 * 3600  # done is remembered, not for ever
    # Release: the next delivery is taken; a lease that ran out is taken over.
    failed = await ledger.take("telegram", 2)
    assert isinstance(failed, Lease)
    await ledger.release(failed)
    retried = await other_worker.take("telegram", 2)
    assert isinstance(retried, Lease)
    await ledger.release(failed)  # not its lease any more: nothing happens
    assert await ledger.take("telegram", 2) is Seen.BUSY
    await asyncio.sleep(1.1)
    assert isinstance(await ledger.take("telegram", 2), Lease)


# --------------------------------------------------------------------- in the dispatcher


def _other_worker(harness: Harness) -> UpdateLedger:
    """Who else may hold an update: with Redis, a second worker's ledger on the same store;
    without it (one process answers), the dispatcher's own ledger, as a second delivery of an
    update already in hand meets it."""
    ledger = next(
        m.ledger for m in harness.dp.update.outer_middleware if isinstance(m, DedupeMiddleware)
    )
    redis = harness.deps.redis
    if redis is None:
        assert isinstance(ledger, DatabaseLedger)
        return ledger
    assert isinstance(ledger, RedisLedger)
    return RedisLedger(redis, prefix=ledger.prefix)


async def test_an_update_is_done_after_its_commit_and_dropped_when_repeated(
    harness: Harness,
) -> None:
    chat = harness.chat()
    update = fakes.update(message=fakes.message(chat.user, text="سلام"))
    await harness.dp.feed_update(chat.bot, update)
    assert "وقت شما بخیر" in chat.joined(chat.session.take())
    assert await _other_worker(harness).take("telegram", update.update_id) is Seen.DONE
    if harness.deps.redis is None:
        assert (await processed_row(harness.deps.session_factory, update.update_id) or ("",))[
            0
        ] == DONE
    await harness.dp.feed_update(chat.bot, update)
    assert chat.session.take() == []


async def test_an_update_another_worker_holds_is_not_handled_but_busy(harness: Harness) -> None:
    chat = harness.chat()
    update = fakes.update(message=fakes.message(chat.user, text="سلام"))
    other = _other_worker(harness)
    lease = await other.take("telegram", update.update_id)
    assert isinstance(lease, Lease)
    assert await harness.dp.feed_update(chat.bot, update) is BUSY
    assert chat.session.take() == []
    await other.release(lease)  # that worker failed: this one handles the next delivery
    await harness.dp.feed_update(chat.bot, update)
    assert "وقت شما بخیر" in chat.joined(chat.session.take())


async def test_a_failed_update_is_answered_politely_and_let_go(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Any, chat_user_id: int, who: Any = None) -> Any:
        raise RuntimeError("registry down")

    chat = harness.chat()
    await chat.verify(*MARYAM)
    monkeypatch.setattr(EligibilityService, "inquire", broken)
    update = fakes.update(message=fakes.message(chat.user, text="استحقاق درمان"))
    await harness.dp.feed_update(chat.bot, update)
    assert chat.joined(chat.session.take()) == texts.UNEXPECTED_ERROR
    if harness.deps.redis is None:
        assert await processed_row(harness.deps.session_factory, update.update_id) is None
    # Sent again (say the answer never reached the platform): handled afresh, and now it works.
    monkeypatch.undo()
    await harness.dp.feed_update(chat.bot, update)
    assert "نتیجهٔ استعلام" in chat.joined(chat.session.take())


# ------------------------------------------------------------------------------- webhook


def _slow_dispatcher(ledger: UpdateLedger) -> tuple[Dispatcher, asyncio.Event, list[int]]:
    dp = Dispatcher()
    dp.update.outer_middleware(DedupeMiddleware(ledger))
    release = asyncio.Event()
    handled: list[int] = []

    @dp.message()
    async def slow(message: Message) -> None:
        if message.text == "خطا":
            raise RuntimeError("no error handler here")
        await release.wait()
        handled.append(message.message_id)

    return dp, release, handled


def _body(update_id: int, text: str = "سلام") -> bytes:
    user = fakes.user(900_000 + update_id, "مریم")
    update = fakes.update(message=fakes.message(user, text=text))
    return update.model_copy(update={"update_id": update_id}).model_dump_json().encode()


async def test_webhook_answers_after_handling_and_503_when_busy_or_stopping() -> None:
    ledger = MemoryLedger()
    dp, release, handled = _slow_dispatcher(ledger)
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, "http://127.0.0.1:9")
    gate = WebhookGate()
    router = create_webhook_router(dp, [bot], "secret-0123", gate)
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    headers = {"X-Telegram-Bot-Api-Secret-Token": "secret-0123"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    ) as http:

        async def post(update_id: int, text: str = "سلام") -> int:
            answer = await http.post(
                TELEGRAM_PATH, content=_body(update_id, text), headers=headers
            )
            return answer.status_code

        first = asyncio.create_task(post(1))
        await asyncio.sleep(0.1)
        assert not first.done()  # not answered while the update is being handled
        assert await post(1) == 503  # the same update again, while it is held: later
        release.set()
        assert await first == 200 and handled
        assert await post(1) == 200  # a repeat of a done update: dropped, confirmed
        assert len(handled) == 1
        # A failure no error handler answered: 500, and let go, so the re-sent one is taken.
        assert await post(2, "خطا") == 500
        assert isinstance(await ledger.take("telegram", 2), Lease)

        # SIGTERM: the one in hand gets its grace, then 503 (its lease let go); new ones 503.
        release.clear()
        held = asyncio.create_task(post(3))
        await asyncio.sleep(0.1)
        assert await gate.close(grace=0.2) == 1
        assert await held == 503
        assert isinstance(await ledger.take("telegram", 3), Lease)
        assert await post(4) == 503
    await bot.session.close()


async def test_webhook_close_lets_the_updates_in_hand_finish_within_the_grace() -> None:
    dp, release, handled = _slow_dispatcher(MemoryLedger())
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, "http://127.0.0.1:9")
    gate = WebhookGate()
    in_hand = asyncio.create_task(gate.handle(dp, bot, _body(10)))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(gate.close(grace=5))
    await asyncio.sleep(0.05)
    assert (await gate.handle(dp, bot, _body(11))).status_code == 503
    release.set()
    assert await closing == 0
    assert (await in_hand).status_code == 200 and len(handled) == 1
    await bot.session.close()


# ------------------------------------------------------------------------------- polling


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = await SandboxServer(demo_config(bale_token=None)).start()
    try:
        yield server
    finally:
        await server.stop()


async def _until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_polling_confirms_an_update_only_once_it_is_handled(sandbox: SandboxServer) -> None:
    ledger = MemoryLedger()
    dp, release, handled = _slow_dispatcher(ledger)
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    state = sandbox.world.resolve_bot(DEMO_TELEGRAM_TOKEN)
    world = sandbox.world
    users = [world.create_user(first_name=f"کاربر {n}") for n in range(3)]
    stop = asyncio.Event()
    polling = asyncio.create_task(
        poll(dp, [bot], stop, concurrency=10, grace=0.3, poll_timeout=1, pause=0.05)
    )
    try:
        _, first = world.send_text(users[0].id, "سلام", bot=state.id)
        assert first is not None
        await _until(lambda: int(state.stats.get("calls:getUpdates", 0)) >= 3)
        # Fetched again and again while in hand, never confirmed, never handled twice.
        assert [u.update_id for u in state.updates] == [first.update_id]
        release.set()
        await _until(lambda: not state.updates)  # confirmed by the next fetch
        assert len(handled) == 1
        # One held by another worker (a killed process's lease): retried, then handled.
        release.clear()
        _, second = world.send_text(users[1].id, "سلام", bot=state.id)
        assert second is not None
        lease = await ledger.take("telegram", second.update_id)
        assert isinstance(lease, Lease)
        release.set()
        await asyncio.sleep(0.3)
        assert len(handled) == 1 and state.updates
        await ledger.release(lease)
        await _until(lambda: len(handled) == 2 and not state.updates)
        # Stopping with one in hand past the grace: cancelled, let go, left unconfirmed.
        release.clear()
        _, third = world.send_text(users[2].id, "سلام", bot=state.id)
        assert third is not None
        await _until(
            lambda: int(state.stats.get("calls:getUpdates", 0)) >= 1 and bool(state.updates)
        )
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(polling, timeout=5)
        assert [u.update_id for u in state.updates] == [third.update_id]
        assert len(handled) == 2
    finally:
        stop.set()
        release.set()
        await asyncio.wait_for(polling, timeout=5)
    # The next start handles it.
    stop = asyncio.Event()
    polling = asyncio.create_task(
        poll(dp, [bot], stop, concurrency=10, grace=0.3, poll_timeout=1, pause=0.05)
    )
    try:
        await _until(lambda: len(handled) == 3 and not state.updates)
    finally:
        stop.set()
        await asyncio.wait_for(polling, timeout=5)
        await bot.session.close()
