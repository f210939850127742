"""The send ledger (issue 17, finding 2: "0 answered twice" after kill -9): a re-run update does
not send again what its first attempt sent.

Over real HTTP against the sandbox, with the store in Redis and in its SQLite file. A *re-run*
is a new :class:`UpdateScope` of the same update, as after a kill: the first attempt's marks
are all that is left of it (a fresh store object reads them, as a restarted process would).
"""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiohttp import web
from redis.asyncio import Redis

from bot.factory import build_bot
from bot.pacing import MemoryPacer, PacingMiddleware, placeholder_message
from bot.platform import Platform, PlatformBot
from bot.send_ledger import (
    RedisSendStore,
    SendLedgerMiddleware,
    SendStore,
    SqliteSendStore,
    UpdateScope,
    current_update,
)
from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config
from tests.bot.conftest import REDIS_URL, delete_prefixed

pytestmark = pytest.mark.e2e

TTL = 3600

# A fresh store over the same records (what a restarted process would open).
StoreFactory = Callable[[], SendStore]


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(demo_config(bale_token=None)) as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    if request.param == "sqlite":
        path = tmp_path / "tamin.sent.db"
        opened: list[SqliteSendStore] = []

        def sqlite_store() -> SendStore:
            opened.append(SqliteSendStore(path, ttl=TTL))
            return opened[-1]

        yield sqlite_store
        for store in opened:
            store.close()
        return
    if not request.getfixturevalue("redis_available"):
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    opened_redis: list[RedisSendStore] = []

    def redis_store() -> SendStore:
        opened_redis.append(RedisSendStore(client, ttl=TTL, prefix=f"{prefix}:sent"))
        return opened_redis[-1]

    try:
        yield redis_store
    finally:
        for redis_store_ in opened_redis:
            redis_store_.close()
        await delete_prefixed(client, prefix)
        await client.aclose()


class Attempt:
    """One attempt at handling update ``update_id``: a bot whose sends go through the ledger."""

    def __init__(
        self,
        sandbox: SandboxServer,
        store: SendStore,
        update_id: int,
        between: tuple[PacingMiddleware, ...] = (),
    ) -> None:
        self.bot: PlatformBot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
        self.ledger = SendLedgerMiddleware(store)
        self.ledger.install(self.bot.session, *between)
        self.scope = UpdateScope("telegram", update_id)

    async def send(self, chat_id: int, text: str) -> Message:
        token = current_update.set(self.scope)
        try:
            return await self.bot.send_message(chat_id, text)
        finally:
            current_update.reset(token)

    async def close(self) -> None:
        await self.bot.session.close()


def start_chat(sandbox: SandboxServer, user_id: int | None = None) -> int:
    """A user who has opened the chat with the bot (a bot cannot start one itself)."""
    world = sandbox.world
    uid = world.create_user(user_id=user_id).id if user_id is None else user_id
    world.send_text(uid, "/start", bot=world.resolve_bot(DEMO_TELEGRAM_TOKEN).id)
    return uid


def bot_texts(sandbox: SandboxServer, uid: int) -> list[str]:
    world = sandbox.world
    bot = world.resolve_bot(DEMO_TELEGRAM_TOKEN)
    return [
        str(e["message"]["text"])
        for e in sorted(world.events(bot, uid, 0), key=lambda e: int(e["seq"]))
        if e["kind"] == "message" and e["sender"] == "bot"
    ]


async def test_a_rerun_does_not_send_again_what_the_first_attempt_sent(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    uid = start_chat(sandbox)
    first = Attempt(sandbox, stores(), update_id=7001)
    sent = await first.send(uid, "پاسخ اول")
    await first.send(uid, "پاسخ دوم")
    await first.close()
    assert bot_texts(sandbox, uid) == ["پاسخ اول", "پاسخ دوم"]

    rerun = Attempt(sandbox, stores(), update_id=7001)
    again = await rerun.send(uid, "پاسخ اول")
    await rerun.send(uid, "پاسخ دوم")
    await rerun.close()
    assert bot_texts(sandbox, uid) == ["پاسخ اول", "پاسخ دوم"]  # nothing sent again
    assert rerun.ledger.replayed == 2
    # The handler gets a message like the one the first attempt sent, with message id 0 (no
    # store keeps the ids of answers it watched leave: no handler reads them).
    assert again.chat.id == uid and again.text == "پاسخ اول"
    assert sent.message_id > 0 and again.message_id == 0


async def test_a_call_whose_payload_changed_is_sent(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    uid = start_chat(sandbox)
    first = Attempt(sandbox, stores(), update_id=7002)
    await first.send(uid, "مرحلهٔ یک")
    await first.close()

    rerun = Attempt(sandbox, stores(), update_id=7002)
    await rerun.send(uid, "مرحلهٔ دو")  # the flow moved on: another answer
    await rerun.send(uid, "مرحلهٔ یک")  # the first attempt's answer, now second: sent already
    await rerun.close()
    assert bot_texts(sandbox, uid) == ["مرحلهٔ یک", "مرحلهٔ دو"]
    assert rerun.ledger.replayed == 1


async def test_identical_sends_in_one_update_all_go_and_are_counted_apart(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    uid = start_chat(sandbox)
    first = Attempt(sandbox, stores(), update_id=7003)
    await first.send(uid, "تکرار")
    await first.send(uid, "تکرار")
    await first.close()
    assert bot_texts(sandbox, uid) == ["تکرار", "تکرار"]

    rerun = Attempt(sandbox, stores(), update_id=7003)
    for _ in range(3):  # the re-run sends it once more than the first attempt did
        await rerun.send(uid, "تکرار")
    await rerun.close()
    assert bot_texts(sandbox, uid) == ["تکرار"] * 3
    assert rerun.ledger.replayed == 2


async def test_the_same_update_id_of_another_update_scope_is_not_confused(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    uid = start_chat(sandbox)
    first = Attempt(sandbox, stores(), update_id=7004)
    await first.send(uid, "سلام")
    await first.close()
    other = Attempt(sandbox, stores(), update_id=7005)
    await other.send(uid, "سلام")
    await other.close()
    assert bot_texts(sandbox, uid) == ["سلام", "سلام"]


async def test_a_failed_send_leaves_no_mark_and_a_later_attempt_sends_it(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    # Not started yet: the platform refuses the send (403).
    missing = sandbox.world.create_user().id
    first = Attempt(sandbox, stores(), update_id=7006)
    with pytest.raises(TelegramForbiddenError):
        await first.send(missing, "پاسخ")
    assert list(first.scope.counts.values()) == [0]  # not counted: a retry is the same call
    await first.close()

    start_chat(sandbox, missing)
    rerun = Attempt(sandbox, stores(), update_id=7006)
    await rerun.send(missing, "پاسخ")
    await rerun.close()
    assert bot_texts(sandbox, missing) == ["پاسخ"]
    assert rerun.ledger.replayed == 0


async def test_sends_outside_an_update_are_not_recorded(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    uid = start_chat(sandbox)
    attempt = Attempt(sandbox, stores(), update_id=7007)
    await attempt.bot.send_message(uid, "اعلان")  # the outbox sender's, a notice's
    await attempt.bot.send_message(uid, "اعلان")
    await attempt.close()
    assert bot_texts(sandbox, uid) == ["اعلان", "اعلان"]


def test_the_sqlite_store_is_private_and_prunes_old_marks(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = SqliteSendStore(tmp_path / "var" / "tamin.sent.db", ttl=60, clock=lambda: now[0])
    try:
        assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
        store.mark("telegram:1:5", "abc:1", "17")
        assert asyncio.run(store.sent("telegram:1:5")) == {"abc:1": "17"}
        now[0] += 61
        store.prune()
        assert asyncio.run(store.sent("telegram:1:5")) == {}
    finally:
        store.close()


@pytest.mark.redis
async def test_redis_records_are_written_at_once_and_expire(redis_available: bool) -> None:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    client = Redis.from_url(REDIS_URL)
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    store = RedisSendStore(client, ttl=TTL, prefix=f"{prefix}:sent")
    try:
        assert await store.sent("telegram:1:5") == {}  # connects the channel
        store.mark("telegram:1:5", "abc:1")  # written to the socket, not awaited
        store.mark("telegram:1:5", "abc:2")
        store.unmark("telegram:1:5", "abc:2")
        await asyncio.sleep(0.05)
        assert await store.sent("telegram:1:5") == {"abc:1": "-"}
        assert 0 < await client.ttl(f"{prefix}:sent:telegram:1:5") <= TTL
        assert store.channel.refused == 0
        # The connection drops (a Redis restart): the record goes through redis-py meanwhile,
        # and the channel connects again.
        assert store.channel.transport is not None
        store.channel.transport.abort()
        store.mark("telegram:1:5", "abc:3")
        await asyncio.sleep(0.1)
        assert set(await store.sent("telegram:1:5")) == {"abc:1", "abc:3"}
        assert store.channel.transport is not None and not store.channel.transport.is_closing()
    finally:
        store.close()
        await delete_prefixed(client, prefix)
        await client.aclose()


async def test_the_record_is_written_before_the_answer_comes_back(
    stores: StoreFactory,
) -> None:
    """The fake Bot API holds its answer until it sees the call recorded: the record follows
    the request's bytes, not the platform's answer (which a kill -9 may never let arrive)."""
    store = stores()
    seen: list[bool] = []

    async def send_message(request: web.Request) -> web.Response:
        body = await request.json()
        for _ in range(100):
            if await store.sent("telegram:42:7008"):
                seen.append(True)
                break
            await asyncio.sleep(0.01)
        else:
            seen.append(False)
        message = {"message_id": 5, "date": 0, "chat": {"id": body["chat_id"], "type": "private"}}
        return web.json_response({"ok": True, "result": {**message, "text": body["text"]}})

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bot = build_bot(Platform.TELEGRAM, "42:fake-token", f"http://127.0.0.1:{port}")
    SendLedgerMiddleware(store).install(bot.session)
    token = current_update.set(UpdateScope("telegram", 7008))
    try:
        await bot.send_message(1001, "پاسخ")
    finally:
        current_update.reset(token)
        await bot.session.close()
        await runner.cleanup()
    assert seen == [True]


async def test_a_rerun_answers_a_sent_reply_before_the_pace_is_asked(
    sandbox: SandboxServer, stores: StoreFactory
) -> None:
    """With the chat's bucket empty, the pace would hand the reply to the outbox (sent again
    later); the ledger outside the pace answers first."""
    uid = start_chat(sandbox)
    first = Attempt(sandbox, stores(), update_id=7009)
    await first.send(uid, "پاسخ")
    await first.close()

    deferred: list[str] = []

    async def overflow(bot: Bot, method: SendMessage, rest: float, flood: bool) -> Message:
        deferred.append(method.text)
        return placeholder_message(method)

    pacer = MemoryPacer(rate=0.001, burst=1)
    pace = PacingMiddleware(pacer, max_wait=1, max_flood_retries=0, overflow=overflow)
    rerun = Attempt(sandbox, stores(), update_id=7009, between=(pace,))
    await pacer.reserve(f"telegram:{rerun.bot.id}:{uid}")  # the chat's bucket: empty
    await rerun.send(uid, "پاسخ")
    await rerun.send(uid, "پاسخ تازه")  # a new reply meets the pace: to the outbox
    await rerun.close()
    assert rerun.ledger.replayed == 1
    assert deferred == ["پاسخ تازه"]
    assert bot_texts(sandbox, uid) == ["پاسخ"]
