"""End to end over real HTTP: the bot against the local sandbox, by polling and by webhook.

Nothing is faked here: aiogram's aiohttp session talks to the sandbox's Bot API, the sandbox
renders what a Telegram or Bale user would read, and in webhook mode the sandbox posts updates
to the bot's own ASGI app (served by uvicorn) that also serves ``/model/parse``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from app.run import QuietServer, build_web_app
from bot.factory import BotDeps, build_bot, build_dispatcher
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.platform import Platform, PlatformBot
from bot.webhook import set_webhooks
from console.http_guard import server_config
from nlu import NluModel
from sandbox import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN, SandboxClient, SandboxServer, demo_config
from tests.bot.conftest import MARYAM

pytestmark = pytest.mark.e2e


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = await SandboxServer(demo_config()).start()
    try:
        yield server
    finally:
        await server.stop()


def sandbox_bots(server: SandboxServer) -> list[PlatformBot]:
    return [
        build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, server.api_base),
        build_bot(Platform.BALE, DEMO_BALE_TOKEN, server.api_base),
    ]


async def maryam_checks_her_eligibility(client: SandboxClient, bot: str) -> str:
    user = await client.create_user("مریم")
    uid = int(user["id"])
    start = await client.reaction(uid, await client.send_command(uid, "start", bot=bot), bot)
    assert "به دستیار تأمین اجتماعی خوش آمدید" in start.text
    asked = await client.say(uid, "استحقاق درمان دارم؟", bot=bot)
    assert "باید هویت شما را تأیید کنم" in asked.text
    shared = await client.reaction(
        uid, await client.send_contact(uid, MARYAM[1], own=True, bot=bot), bot
    )
    assert "کد ملی" in shared.text
    answer = await client.say(uid, "۶۵۰۸۱۲۴۲۲۶", bot=bot)
    assert "هویت شما تأیید شد" in answer.text
    # The kept request is answered right after; on a busy machine it may land just after the
    # sandbox saw the bot go quiet, so wait for it rather than for silence.
    for _ in range(100):
        messages = await client.messages(uid, bot=bot)
        text = "\n".join(m.get("rendered_text") or "" for m in messages)
        if "نتیجهٔ استعلام استحقاق درمان" in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"no eligibility answer: {text}")


async def test_polling_against_the_sandbox(sandbox: SandboxServer, bot_deps: BotDeps) -> None:
    bots = sandbox_bots(sandbox)
    dp = build_dispatcher(bot_deps, throttling=ThrottlingMiddleware(limit=1000, window=1))
    polling = asyncio.create_task(dp.start_polling(*bots, handle_signals=False, polling_timeout=1))
    try:
        async with SandboxClient(sandbox.url, quiet_ms=300) as client:
            text = await maryam_checks_her_eligibility(client, "telegram")
            assert "علی رضایی (پسر)" in text and "حمایت درمانی ندارد" in text
            text = await maryam_checks_her_eligibility(client, "bale")
            assert "حمایت درمانی دارد" in text
            user = await client.create_user("رضا")
            info = await client.say(int(user["id"]), "شماره تماس ۱۴۲۰", bot="bale")
            # Bale users read the USSD code as written, not as bold «۱۴۲۰».
            assert "*۱۴۲۰*۴#" in info.text
    finally:
        await dp.stop_polling()
        await polling


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode_against_the_sandbox(sandbox: SandboxServer, bot_deps: BotDeps) -> None:
    bots = sandbox_bots(sandbox)
    dp = build_dispatcher(bot_deps, throttling=ThrottlingMiddleware(limit=1000, window=1))
    secret = "test-secret_0123456789"
    assert isinstance(bot_deps.nlu, NluModel)  # the trained model, which /model/parse serves
    app = build_web_app(dp, bots, bot_deps.nlu, secret, nlu_token="nlu-token-0123")
    port = _free_port()
    server = QuietServer(server_config(app, host="127.0.0.1", port=port))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn's readiness is only a flag)
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        await set_webhooks(dp, bots, base, secret)
        async with SandboxClient(sandbox.url, quiet_ms=300) as client:
            await maryam_checks_her_eligibility(client, "telegram")
            await maryam_checks_her_eligibility(client, "bale")
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            update = {"update_id": 1, "message": None}
            wrong = await http.post(
                "/webhook/telegram",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "nope"},
            )
            assert wrong.status_code == 403
            assert (await http.post("/webhook/telegram", json=update)).status_code == 403
            assert (await http.post("/webhook/bale/nope", json=update)).status_code == 403
            # The right secret with a body that is no update: 400 on both routes.
            signed = {"X-Telegram-Bot-Api-Secret-Token": secret}
            for body in (b"{not json", b'{"message": "hi"}', b"[]"):
                answer = await http.post("/webhook/telegram", content=body, headers=signed)
                assert answer.status_code == 400, body
                answer = await http.post(f"/webhook/bale/{secret}", content=body)
                assert answer.status_code == 400, body
            empty = await http.post("/webhook/telegram", json={"update_id": 7}, headers=signed)
            assert empty.status_code == 200 and empty.json() == {"ok": True}
            # Issue 17, finding 8: the parse echoes national IDs, so only with the token.
            text = {"text": "کد ملی ۶۵۰۸۱۲۴۲۲۶ فیش حقوقی"}
            assert (await http.post("/model/parse", json=text)).status_code == 401
            wrong_token = {"Authorization": "Bearer nope"}
            refused = await http.post("/model/parse", json=text, headers=wrong_token)
            assert refused.status_code == 401
            token = {"Authorization": "Bearer nlu-token-0123"}
            parsed = await http.post("/model/parse", json=text, headers=token)
            assert parsed.status_code == 200
            assert parsed.json()["intent"]["name"] == "pension_slip"
            assert (await http.get("/openapi.json")).status_code == 404
            # Every body is limited (1 MB; tests/console/test_http_guard.py has the rest).
            huge = b"x" * 2_000_000
            too_big = await http.post("/webhook/telegram", content=huge, headers=signed)
            assert too_big.status_code == 413
    finally:
        server.should_exit = True
        await serving
        for bot in bots:
            with contextlib.suppress(Exception):
                await bot.session.close()


async def test_polling_runs_at_most_the_configured_updates_at_once(
    sandbox: SandboxServer,
) -> None:
    """``bot.polling.poll`` bounds the updates in flight; the rest wait at the platform."""
    from aiogram import Dispatcher
    from aiogram.types import Message

    from bot.polling import poll

    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    dp = Dispatcher()
    running: list[int] = []
    done: list[int] = []
    most = 0
    release = asyncio.Event()

    @dp.message()
    async def slow(message: Message) -> None:
        nonlocal most
        running.append(message.message_id)
        most = max(most, len(running))
        await release.wait()
        running.remove(message.message_id)
        done.append(message.message_id)

    stop = asyncio.Event()
    polling = asyncio.create_task(poll(dp, [bot], stop, concurrency=3, grace=5))
    try:
        users = [sandbox.world.create_user(first_name=f"کاربر {n}") for n in range(8)]
        for user in users:
            sandbox.world.send_text(user.id, "سلام", bot=DEMO_TELEGRAM_TOKEN)
        for _ in range(200):
            if len(running) == 3:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # time enough to start more, were it allowed
        assert len(running) == 3
        release.set()
        for _ in range(500):
            if len(done) == len(users):
                break
            await asyncio.sleep(0.01)
        assert len(done) == len(users)  # the rest were fetched and handled after
        assert most == 3
    finally:
        release.set()
        stop.set()
        await asyncio.wait_for(polling, timeout=20)
        await bot.session.close()
