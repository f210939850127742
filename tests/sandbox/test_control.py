"""The control API as tests and the web chat use it, with the echo bot polling the sandbox."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiogram import Bot
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from sandbox import NotIdleError, SandboxClient, SandboxClientError, SandboxServer
from sandbox.echo_bot import BUTTON_ANSWER, BUTTON_DONE, GREETING, RECEIVED

from .conftest import UserFactory


@pytest.mark.usefixtures("echo_bot")
async def test_round_trip_with_the_echo_bot(client: SandboxClient) -> None:
    user = await client.create_user("رضا", last_name="کاظمی")
    sent = await client.send_text(user["id"], "سلام، بیمهٔ من فعال است؟")
    assert sent["update_id"] is not None and sent["message"]["sender"] == "user"
    # The bot's first event, then quiet: what say/tap/press do after each action.
    first = await client.events(user["id"], since=sent["cursor"], wait=10)
    assert first["events"][0]["sender"] == "bot"
    await client.wait_idle()
    data = await client.events(user["id"], since=sent["cursor"])
    replies = [e["message"] for e in data["events"] if e["kind"] == "message"]
    assert [m["rendered_text"] for m in replies] == ["سلام، بیمهٔ من فعال است؟"]
    assert replies[0]["sender"] == "bot"

    start = await client.send_command(user["id"], "start")
    assert (await client.reaction(user["id"], start)).texts == [GREETING]
    assert (await client.say(user["id"], "<b>&</b>")).texts == ["<b>&</b>"]

    photo = await client.send_photo(user["id"])
    assert (await client.reaction(user["id"], photo)).texts == [RECEIVED]

    shown = await client.say(user["id"], "/button")
    assert shown.buttons() == ["بزنید"]
    tapped = await client.tap(user["id"], "بزنید")
    assert tapped.callback_answers[0]["text"] == BUTTON_ANSWER
    assert tapped.edits[0]["rendered_text"] == BUTTON_DONE
    assert await client.callbacks(unanswered=True) == []
    # The button went with the edit (the echo bot did not repeat it).
    with pytest.raises(SandboxClientError, match="no inline button"):
        await client.press_inline_button(user["id"], text="بزنید")


@pytest.mark.usefixtures("echo_bot")
async def test_many_users_at_once(client: SandboxClient) -> None:
    users = [await client.create_user(f"کاربر {n}") for n in range(20)]
    actions = await asyncio.gather(
        *(client.send_text(u["id"], f"پیام {n}") for n, u in enumerate(users))
    )
    await asyncio.gather(
        *(client.reaction(u["id"], a) for u, a in zip(users, actions, strict=True))
    )
    for n, user in enumerate(users):
        assert [m["text"] for m in await client.messages(user["id"])] == [f"پیام {n}"]


async def test_wait_idle_reports_updates_nobody_took(
    client: SandboxClient, new_user: UserFactory
) -> None:
    await new_user()
    with pytest.raises(NotIdleError, match="pending_updates"):
        await client.wait_idle(timeout_s=0.2)


async def test_wait_idle_waits_for_the_quiet_period(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    await tg_bot.get_updates(offset=-1)
    await tg_bot.get_updates(offset=10**9)
    result = await client.wait_idle(quiet_ms=50)
    assert result["idle"] is True
    await tg_bot.send_message(user["id"], "x")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.wait_idle(quiet_ms=150)
    assert loop.time() - started >= 0.1


async def test_reply_keyboard_buttons_and_contacts(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False, phone_number="989121234567")
    await client.send_text(user["id"], "سلام")
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="ارسال شمارهٔ من", request_contact=True)],
            [KeyboardButton(text="موقعیت", request_location=True), KeyboardButton(text="راهنما")],
        ],
        one_time_keyboard=True,
    )
    await tg_bot.send_message(user["id"], "شماره‌تان را بفرستید.", reply_markup=keyboard)

    shown = await client.keyboard(user["id"])
    assert shown is not None and not shown["collapsed"]
    with pytest.raises(SandboxClientError, match="no reply-keyboard button 'خروج'"):
        await client.press_reply_button(user["id"], "خروج")

    own = await client.press_reply_button(user["id"], "ارسال شمارهٔ من")
    assert own["message"]["contact"] == {
        "phone_number": "989121234567",
        "first_name": "مریم",
        "user_id": user["id"],
    }
    folded = await client.keyboard(user["id"])
    assert folded is not None
    assert folded["collapsed"]  # a one-time keyboard folds away
    chosen = await client.press_reply_button(
        user["id"], "ارسال شمارهٔ من", phone_number="09390000000"
    )
    assert chosen["message"]["contact"]["phone_number"] == "09390000000"
    located = await client.press_reply_button(user["id"], "موقعیت")
    assert located["message"]["kind"] == "location"
    helped = await client.press_reply_button(user["id"], "راهنما")
    assert helped["message"]["text"] == "راهنما"

    updates = await tg_bot.get_updates()
    contacts = [u.message.contact for u in updates if u.message and u.message.contact]
    assert [c.phone_number for c in contacts] == ["989121234567", "09390000000"]
    assert all(c.user_id == user["id"] for c in contacts)


async def test_inline_button_lookup(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    old = await tg_bot.send_message(
        user["id"],
        "قدیمی",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="بیمه", callback_data="cat:insurance")]]
        ),
    )
    new = await tg_bot.send_message(
        user["id"],
        "تازه",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="بیمه", callback_data="cat:insurance2")],
                [InlineKeyboardButton(text="سایت", url="https://tamin.ir")],
            ]
        ),
    )
    latest = await client.press_inline_button(user["id"], text="بیمه")
    assert latest["message_id"] == new.message_id and latest["data"] == "cat:insurance2"
    older = await client.press_inline_button(user["id"], text="بیمه", message_id=old.message_id)
    assert older["data"] == "cat:insurance"
    by_data = await client.press_inline_button(user["id"], callback_data="cat:insurance")
    assert by_data["message_id"] == old.message_id
    with pytest.raises(SandboxClientError, match="sends no callback"):
        await client.press_inline_button(user["id"], text="سایت")
    with pytest.raises(SandboxClientError, match="no inline button"):
        await client.press_inline_button(user["id"], text="پزشکی")
    await tg_bot.delete_message(user["id"], new.message_id)
    again = await client.press_inline_button(user["id"], text="بیمه")
    assert again["message_id"] == old.message_id


async def test_control_refusals(client: SandboxClient, sandbox: SandboxServer) -> None:
    with pytest.raises(SandboxClientError, match="no such user"):
        await client.send_text(424242, "سلام")
    user = await client.create_user("حسن")
    with pytest.raises(SandboxClientError, match="text is empty"):
        await client.send_text(user["id"], "")
    with pytest.raises(SandboxClientError, match="no phone_number"):
        await client.send_contact(user["id"])
    with pytest.raises(SandboxClientError, match="no such bot"):
        await client.send_text(user["id"], "x", bot="whatsapp")
    with pytest.raises(SandboxClientError, match="group chat id is negative"):
        await client.send_text(user["id"], "x", chat_id=5)
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{sandbox.url}/sandbox/api/users", json={"first_nam": "x"})
    assert response.status_code == 422 and response.json()["ok"] is False


async def test_user_edits_and_group_chats_reach_the_bot(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    sent = await client.send_text(user["id"], "اشتباه")
    edited = await client.edit_message(user["id"], sent["message"]["message_id"], "درست")
    assert edited["message"]["edited"]
    group = await client.send_text(user["id"], "سلام گروه", chat_id=-1001, chat_title="خانواده")
    assert group["message"]["chat_id"] == -1001
    await tg_bot.send_message(-1001, "این ربات فقط در گفت‌وگوی خصوصی کار می‌کند.")
    assert [m["text"] for m in await client.messages(-1001)] == [
        "این ربات فقط در گفت‌وگوی خصوصی کار می‌کند."
    ]
    kinds = [u.event_type for u in await tg_bot.get_updates()]
    assert kinds == ["message", "edited_message", "message"]


async def test_calls_commands_stats_and_reset(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    from aiogram.types import BotCommand

    user = await new_user()
    await tg_bot.set_my_commands([BotCommand(command="start", description="شروع")])
    await tg_bot.send_message(user["id"], "x")
    calls = await client.calls(method="sendMessage")
    assert len(calls) == 1 and calls[0]["ok"] and calls[0]["params"]["text"] == "x"
    assert calls[0]["params"]["chat_id"] == user["id"]  # as read, not as sent in the form
    commands = (await client.request("GET", "/commands"))["commands"]
    assert list(commands.values()) == [[{"command": "start", "description": "شروع"}]]
    stats = await client.stats()
    telegram = next(b for b in stats["bots"] if b["platform"] == "telegram")
    assert telegram["stats"]["messages_sent"] == 1
    await client.reset()
    assert (await client.info())["users"] == []
    assert await client.messages(user["id"]) == []


async def test_events_long_poll_returns_when_the_bot_speaks(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    cursor = await client.cursor()
    waiting = asyncio.create_task(client.events(user["id"], since=cursor, wait=10))
    await asyncio.sleep(0)  # let the request leave before the bot speaks
    await tg_bot.send_message(user["id"], "پاسخ")
    data = await asyncio.wait_for(waiting, timeout=5)
    assert [e["message"]["text"] for e in data["events"]] == ["پاسخ"]
    assert data["cursor"] > cursor
    quiet = await client.events(user["id"], since=data["cursor"], wait=0.2)
    assert quiet["events"] == [] and quiet["cursor"] == data["cursor"]


async def test_files_served_to_the_web_chat(
    sandbox: SandboxServer, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    sent = await client.send_document(user["id"], b"hello", "note.txt", mime_type="text/plain")
    url = sent["message"]["file"]["url"]
    async with httpx.AsyncClient(trust_env=False) as http:
        got = await http.get(f"{sandbox.url}{url}")
        upload = await http.post(
            f"{sandbox.url}/sandbox/api/users/{user['id']}/upload",
            files={"file": ("scan.bin", b"not an image", "application/octet-stream")},
            data={"kind": "photo", "caption": "پیوست"},
        )
    assert got.content == b"hello" and got.headers["content-type"].startswith("text/plain")
    # A "photo" that is no image arrives as a document, as a phone would send it.
    assert upload.json()["message"]["kind"] == "document"
    assert upload.json()["message"]["caption"] == "پیوست"
