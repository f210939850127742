"""Webhook mode: the sandbox POSTs updates with the secret header, retries, and obeys answers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot
from aiohttp import web

from sandbox import SandboxClient, SandboxServer
from sandbox.echo_bot import run_webhook

from .conftest import TG_TOKEN, UserFactory


@dataclass
class Receiver:
    """A tiny webhook endpoint that records what it gets and fails when told to."""

    url: str = ""
    received: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)
    fail_next: int = 0
    answer: dict[str, Any] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500, text="boom")
        self.received.append((body, dict(request.headers)))
        self.arrived.set()
        if self.answer is not None:
            return web.json_response(self.answer)
        return web.json_response({})

    async def wait_for(self, count: int) -> None:
        while len(self.received) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=5)


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/hook", state.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    yield state
    await runner.cleanup()


async def test_delivery_with_secret_token_and_info(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory, receiver: Receiver
) -> None:
    user = await new_user(started=False)
    assert await tg_bot.set_webhook(receiver.url, secret_token="s3cret_T0ken-x")
    info = await tg_bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 0
    sent = [await client.send_text(user["id"], f"پیام {n}") for n in range(3)]
    await receiver.wait_for(3)
    await client.wait_idle()
    assert [body["update_id"] for body, _ in receiver.received] == [s["update_id"] for s in sent]
    assert all(
        h["X-Telegram-Bot-Api-Secret-Token"] == "s3cret_T0ken-x" for _, h in receiver.received
    )
    assert receiver.received[0][0]["message"]["text"] == "پیام 0"
    assert (await tg_bot.get_webhook_info()).pending_update_count == 0


async def test_failed_deliveries_are_retried_in_order(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory, receiver: Receiver
) -> None:
    user = await new_user(started=False)
    receiver.fail_next = 2
    assert await tg_bot.set_webhook(receiver.url)
    first = await client.send_text(user["id"], "اول")
    second = await client.send_text(user["id"], "دوم")
    await receiver.wait_for(2)
    # The chat's second update waited behind the first while it was being retried.
    assert [b["update_id"] for b, _ in receiver.received] == [
        first["update_id"],
        second["update_id"],
    ]
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][1]
    info = await tg_bot.get_webhook_info()
    assert info.last_error_message is not None and "500" in info.last_error_message


async def test_unreachable_webhook_keeps_updates_pending(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        dead_port = free.getsockname()[1]
    assert await tg_bot.set_webhook(f"http://127.0.0.1:{dead_port}/hook")
    await client.send_text(user["id"], "کسی هست؟")
    with pytest.raises(Exception, match="did not settle"):
        await client.wait_idle(timeout_s=0.5)
    info = await tg_bot.get_webhook_info()
    assert info.pending_update_count == 1 and info.last_error_message
    # Deleting the webhook hands the update to getUpdates.
    assert await tg_bot.delete_webhook()
    assert [u.message.text for u in await tg_bot.get_updates() if u.message] == ["کسی هست؟"]


async def test_method_in_the_webhook_answer_is_executed(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory, receiver: Receiver
) -> None:
    user = await new_user(started=False)
    receiver.answer = {
        "method": "sendMessage",
        "chat_id": user["id"],
        "text": "پاسخ در همان درخواست",
    }
    assert await tg_bot.set_webhook(receiver.url)
    sent = await client.send_text(user["id"], "سلام")
    await client.wait_idle()
    data = await client.events(user["id"], since=sent["cursor"])
    assert [e["message"]["text"] for e in data["events"]] == ["پاسخ در همان درخواست"]


async def test_secret_token_rules_and_bale_has_none(
    tg_bot: Bot, bale_bot: Bot, client: SandboxClient, new_user: UserFactory, receiver: Receiver
) -> None:
    from aiogram.exceptions import TelegramBadRequest

    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await tg_bot.set_webhook(receiver.url, secret_token="no spaces allowed")
    user = await new_user(started=False)
    assert await bale_bot.set_webhook(receiver.url, secret_token="ignored_by_bale")
    await client.send_text(user["id"], "سلام", bot="bale")
    await receiver.wait_for(1)
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][1]


async def test_echo_bot_in_webhook_mode(
    sandbox: SandboxServer, client: SandboxClient, new_user: UserFactory
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(TG_TOKEN, sandbox.url, stop=stop))
    try:
        bot_state = sandbox.world.bots[TG_TOKEN]
        while bot_state.webhook is None:
            await bot_state.arrived.wait(5)
        user = await new_user(started=False)
        reaction = await client.say(user["id"], "سلام از وب‌هوک")
        assert reaction.texts == ["سلام از وب‌هوک"]
        pressed = await client.say(user["id"], "/button")
        assert pressed.buttons() == ["بزنید"]
        tapped = await client.tap(user["id"], "بزنید")
        assert tapped.callback_answers[0]["text"] == "دکمه زده شد."
        assert tapped.edits[0]["rendered_text"] == "دکمه را زدید."
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert sandbox.world.bots[TG_TOKEN].webhook is None


async def test_a_bot_killed_mid_request_or_answering_503_gets_the_update_again(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    """As Telegram: a request cut without an answer (the bot was killed) or answered with any
    status other than 2xx (503: the bot is stopping, or another worker holds the update) is
    sent again, and the update is confirmed only by a 2xx (issue 17, finding 2)."""
    received: list[int] = []
    behaviour = ["cut", "503", "ok"]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        received.append(int(json.loads(body)["update_id"]))
        what = behaviour.pop(0) if behaviour else "ok"
        if what == "cut":
            writer.transport.abort()  # no answer at all: like a process killed with -9
            return
        status = b"503 Service Unavailable" if what == "503" else b"200 OK"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        user = await new_user(started=False)
        assert await tg_bot.set_webhook(f"http://127.0.0.1:{port}/hook")
        sent = await client.send_text(user["id"], "سلام")
        for _ in range(200):
            if len(received) >= 3:
                break
            await asyncio.sleep(0.02)
        assert received == [sent["update_id"]] * 3
        await client.wait_idle()
        info = await tg_bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert len(received) == 3  # confirmed by the 200: not sent a fourth time
    finally:
        await tg_bot.delete_webhook()
        server.close()
        await server.wait_closed()
