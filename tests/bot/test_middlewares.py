"""Around the handlers: dedupe, throttling, the error router, logging without personal data,
"typing…" for slow work and the command list."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from typing import Any

import pytest
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import Redis

from bot import texts
from bot.factory import build_dispatcher, build_fsm
from bot.handlers.commands import set_commands
from bot.middlewares.dedupe import Lease, MemoryLedger, Seen
from bot.middlewares.throttling import LocalWindows, RedisWindows, ThrottlingMiddleware
from bot.pii import ScrubbingFormatter, scrub
from bot.redis_batch import RedisBatcher
from bot.reply import TYPING_AFTER_S
from services.eligibility import EligibilityService
from tests.bot import fakes
from tests.bot.conftest import MARYAM, Harness, make_bots, make_harness
from tests.conftest import with_config


async def test_a_duplicate_update_is_handled_once(harness: Harness) -> None:
    chat = harness.chat()
    update = fakes.update(message=fakes.message(chat.user, text="سلام"))
    await harness.dp.feed_update(chat.bot, update)
    first = chat.session.take()
    await harness.dp.feed_update(chat.bot, update)
    assert len([c for c in first if c.name == "sendMessage"]) == 1
    assert chat.session.take() == []
    # The same update id from the other platform is another update.
    bale = harness.bale
    same_id = fakes.update(message=fakes.message(chat.user, text="سلام"))
    same_id = same_id.model_copy(update={"update_id": update.update_id})
    await harness.dp.feed_update(bale, same_id)
    assert any(c.name == "sendMessage" for c in bale.session.take())  # type: ignore[attr-defined]


async def test_memory_dedupe_forgets_after_its_ttl() -> None:
    ledger = MemoryLedger(ttl=0.05)
    lease = await ledger.take("telegram", 1)
    assert isinstance(lease, Lease)
    assert await ledger.take("telegram", 1) is Seen.BUSY
    await ledger.complete(lease)
    assert await ledger.take("telegram", 1) is Seen.DONE
    await asyncio.sleep(0.06)
    assert isinstance(await ledger.take("telegram", 1), Lease)


async def test_a_flood_gets_one_polite_notice(bot_deps: Any, clock: Any) -> None:
    harness = make_harness(
        bot_deps,
        (None, "throttle"),
        throttling=ThrottlingMiddleware(limit=3, window=60),
        clock=clock,
    )
    chat = harness.chat()
    replies = []
    for _ in range(6):
        replies.append(await chat.send("سلام"))
    assert all("وقت شما بخیر" in chat.joined(r) for r in replies[:3])
    assert chat.joined(replies[3]) == texts.THROTTLED
    assert replies[4] == [] and replies[5] == []
    # Another user is not slowed down by this one.
    assert "وقت شما بخیر" in chat.joined(await harness.chat().send("سلام"))
    # A throttled button press is still answered.
    calls = await chat.press("nx")
    assert [c.name for c in calls] == ["answerCallbackQuery"]


async def test_unexpected_error_apologises_and_logs_without_personal_data(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(self: Any, chat_user_id: int, who: Any = None) -> Any:
        raise RuntimeError(f"registry down for {MARYAM[0]} / {MARYAM[1]}")

    chat = harness.chat()
    await chat.verify(*MARYAM)
    monkeypatch.setattr(EligibilityService, "inquire", broken)
    with caplog.at_level(logging.ERROR):
        calls = await chat.send("استحقاق درمان")
    assert chat.joined(calls) == texts.UNEXPECTED_ERROR
    records = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert records
    formatted = "\n".join(ScrubbingFormatter("%(message)s").format(r) for r in records)
    assert "RuntimeError" in formatted
    assert MARYAM[0] not in formatted and MARYAM[1] not in formatted
    assert "650*****26" in formatted and "0912***4567" in formatted
    # The bot goes on working.
    monkeypatch.undo()
    assert "نتیجهٔ استعلام" in chat.joined(await chat.send("استحقاق درمان"))


async def test_slow_work_shows_typing(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    original = EligibilityService.inquire

    async def slow(self: Any, chat_user_id: int, who: Any = None) -> Any:
        await asyncio.sleep(TYPING_AFTER_S + 0.15)
        return await original(self, chat_user_id, who)

    chat = harness.chat()
    await chat.verify(*MARYAM)
    monkeypatch.setattr(EligibilityService, "inquire", slow)
    calls = await chat.send("استحقاق درمان")
    actions = [c for c in calls if c.name == "sendChatAction"]
    assert actions and actions[0].params["action"] == "typing"
    assert calls[-1].name == "sendMessage"


async def test_a_quick_answer_shows_no_typing(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    calls = await chat.send("استحقاق درمان")
    assert [c.name for c in calls] == ["sendMessage"]
    await asyncio.sleep(TYPING_AFTER_S + 0.1)  # past the delay: the cancelled timer must not fire
    assert harness.telegram.session.take() == []  # type: ignore[attr-defined]


async def test_commands_are_published_in_persian(harness: Harness) -> None:
    await set_commands(harness.telegram)
    (call,) = harness.telegram.session.take()  # type: ignore[attr-defined]
    assert call.name == "setMyCommands"
    commands = {c.command: c.description for c in call.params["commands"]}
    assert set(commands) == {"start", "menu", "help", "cancel", "logout", "settings"}
    assert commands["logout"] == "فراموش کردن احراز هویت من"


def test_scrub_masks_national_ids_and_mobiles_in_any_digits() -> None:
    line = "nid 6508124226 mob +98 912 123 4567 fa ۰۹۱۲۱۲۳۴۵۶۷ token 123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = scrub(line)
    assert "6508124226" not in out and "650*****26" in out
    assert "912 123 4567" not in out and out.count("0912***4567") == 2
    assert "ABCDEFGHIJ" not in out
    assert scrub("update 1071 in 12.5 ms") == "update 1071 in 12.5 ms"


def test_scrubbing_formatter_keeps_the_timestamp() -> None:
    formatter = ScrubbingFormatter("%(asctime)s %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user %s", ("6508124226",), None)
    out = formatter.format(record)
    assert out.endswith("user 650*****26")


def test_bot_api_answer_models_survive_garbage_collection() -> None:
    import gc

    from aiogram.methods import Response, SendMessage
    from aiogram.types import Message

    from bot.factory import pin_response_models

    pin_response_models()
    assert SendMessage.__returning__ is Message
    first = Response[Message]
    gc.collect()
    # Pydantic's cache is weak: without the pinned reference this would be a new class, whose
    # schema is built again (milliseconds on every Bot API call).
    assert Response[Message] is first


@pytest.mark.redis
async def test_with_redis_a_burst_waits_for_connections_instead_of_failing(
    bot_deps: Any, clock: Any, redis_available: bool
) -> None:
    import uuid

    from bot.factory import build_redis
    from tests.bot.conftest import REDIS_URL, delete_prefixed

    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    env = bot_deps.settings.env.model_copy(update={"redis_url": REDIS_URL, "redis_pool_size": 3})
    settings = bot_deps.settings.model_copy(update={"env": env})
    redis = build_redis(settings)
    assert redis is not None
    prefix = f"tamin-test-{uuid.uuid4().hex[:10]}"
    try:
        harness = make_harness(bot_deps, (redis, prefix), clock=clock)
        chats = [harness.chat() for _ in range(40)]
        updates = [fakes.update(message=fakes.message(c.user, text="سلام")) for c in chats]
        # Forty users at once through a pool of three connections: each update waits its turn.
        await asyncio.gather(*(harness.dp.feed_update(harness.telegram, u) for u in updates))
        answered = {c.params["chat_id"] for c in harness.history(harness.telegram)}
        assert answered == {c.user.id for c in chats}
    finally:
        await delete_prefixed(redis, prefix)
        await redis.aclose()


def test_no_filter_or_handler_runs_in_a_thread() -> None:
    """aiogram runs non-coroutine filters and handlers through asyncio.to_thread; every one of
    ours must be awaitable (magic filters go through ``bot.filters.inline``)."""
    from aiogram import Router

    from bot.handlers import build_handlers

    routers = build_handlers()
    offenders: list[str] = []

    def walk(router: Router) -> None:
        for observer_name, observer in router.observers.items():
            for flt in observer._handler.filters or []:
                if not flt.awaitable:
                    offenders.append(f"{router.name}.{observer_name} root filter {flt.callback}")
            for handler in observer.handlers:
                if not handler.awaitable:
                    offenders.append(f"{router.name}.{observer_name} {handler.callback}")
                for flt in handler.filters or []:
                    if not flt.awaitable:
                        offenders.append(
                            f"{router.name}.{observer_name} {handler.callback.__name__}:"
                            f" {flt.callback}"
                        )
        for child in router.sub_routers:
            walk(child)

    for router in routers:
        walk(router)
    assert offenders == []


async def test_redis_isolation_is_per_process_when_polling_and_shared_with_webhooks() -> None:
    """By polling, this process is the bot's only update consumer: an in-process lock is
    enough. Behind a load balancer (webhooks) a user's updates reach several workers, so the
    lock lives in Redis. The state itself is in Redis either way."""
    client = Redis.from_url("redis://127.0.0.1:6379/0")  # connects only when used
    try:
        storage, isolation = build_fsm(client, polling=True)
        assert isinstance(storage, RedisStorage)
        assert isinstance(isolation, SimpleEventIsolation)
        storage, isolation = build_fsm(client, polling=False)
        assert isinstance(storage, RedisStorage)
        assert isinstance(isolation, RedisEventIsolation)
        _, isolation = build_fsm(None, polling=False)
        assert isinstance(isolation, SimpleEventIsolation)  # no Redis: one process anyway
    finally:
        await client.aclose()


async def test_flood_windows_are_per_process_when_polling_and_shared_with_webhooks(
    bot_deps: Any,
) -> None:
    """As the chat lock: by polling one process receives the updates, so the windows are
    in its memory (no Redis command per update); webhook workers share them in Redis."""
    client = Redis.from_url("redis://127.0.0.1:6379/0")  # connects only when used
    bot_deps.redis = client
    try:
        for polling, kind in ((True, LocalWindows), (False, RedisWindows)):
            dp = build_dispatcher(bot_deps, polling=polling)
            (throttling,) = [
                m for m in dp.update.outer_middleware if isinstance(m, ThrottlingMiddleware)
            ]
            assert isinstance(throttling.windows, kind), polling
    finally:
        bot_deps.redis = None
        await client.aclose()


@pytest.mark.redis
async def test_the_flood_limit_is_shared_by_workers_on_redis(
    bot_deps: Any, clock: Any, redis_fsm: tuple[Redis, str]
) -> None:
    # Issue 19: a user whose updates the proxy spreads over two workers gets the limit once,
    # not once per worker, and one notice between them.
    client, prefix = redis_fsm
    workers = [
        make_harness(
            bot_deps,
            redis_fsm,
            throttling=ThrottlingMiddleware(
                limit=3, window=60, batcher=RedisBatcher(client), prefix=f"{prefix}:flood"
            ),
            clock=clock,
        )
        for _ in range(2)
    ]
    user_id = 990_001
    replies = []
    for i in range(7):
        replies.append(await workers[i % 2].chat(user_id=user_id).send("سلام"))
    assert all("وقت شما بخیر" in workers[0].chat().joined(r) for r in replies[:3])
    assert [workers[0].chat().joined(r) for r in replies[3:]] == [texts.THROTTLED, "", "", ""]
    [key] = [k async for k in client.scan_iter(match=f"{prefix}:flood:*")]
    assert 0 < await client.pttl(key) <= 60_000  # every Redis key expires (finding 10)


async def test_the_flood_limit_comes_from_the_configuration(bot_deps: Any, clock: Any) -> None:
    # bot.flood_limit / bot.flood_window_seconds in config.yml set the dispatcher's limit.
    deps = dataclasses.replace(
        bot_deps, settings=with_config(bot_deps.settings, "bot", flood_limit=2)
    )
    dp = build_dispatcher(deps, key_prefix=f"tamin-test-{uuid.uuid4().hex[:10]}")
    telegram, bale = make_bots()
    harness = Harness(dp=dp, telegram=telegram, bale=bale, clock=clock, deps=deps)
    chat = harness.chat()
    replies = [await chat.send("سلام") for _ in range(3)]
    assert all("وقت شما بخیر" in chat.joined(r) for r in replies[:2])
    assert chat.joined(replies[2]) == texts.THROTTLED
