"""getUpdates as Telegram serves it: offsets confirm, long polls wait and wake, conflicts refuse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Update

from sandbox import SandboxClient, SandboxServer

from .conftest import FIRST_UPDATE_ID, UserFactory, make_bot


async def test_offset_confirms_and_forgets(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    ids = [(await client.send_text(user["id"], f"پیام {n}"))["update_id"] for n in range(3)]
    assert ids[0] >= FIRST_UPDATE_ID and ids == [ids[0], ids[0] + 1, ids[0] + 2]

    first = await tg_bot.get_updates()
    assert [u.update_id for u in first] == ids
    assert first[0].message is not None and first[0].message.text == "پیام 0"
    # Unconfirmed updates come again; confirming by offset forgets the earlier ones.
    assert [u.update_id for u in await tg_bot.get_updates()] == ids
    assert [u.update_id for u in await tg_bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await tg_bot.get_updates()] == ids[1:]
    assert await tg_bot.get_updates(offset=ids[2] + 1) == []
    assert (await tg_bot.get_webhook_info()).pending_update_count == 0


async def test_limit_and_negative_offset(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    ids = [(await client.send_text(user["id"], str(n)))["update_id"] for n in range(5)]
    assert [u.update_id for u in await tg_bot.get_updates(limit=2)] == ids[:2]
    # A negative offset keeps only the last |offset| updates and forgets the rest.
    assert [u.update_id for u in await tg_bot.get_updates(offset=-2)] == ids[3:]
    assert [u.update_id for u in await tg_bot.get_updates()] == ids[3:]


async def test_long_poll_returns_empty_after_its_timeout(tg_bot: Bot) -> None:
    started = time.monotonic()
    assert await tg_bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3


async def started_poll(
    sandbox: SandboxServer, token: str, poll: Coroutine[Any, Any, list[Update]]
) -> asyncio.Task[list[Update]]:
    """Start a getUpdates and return once the sandbox holds it (every poll wakes ``arrived``)."""
    bot = sandbox.world.bots[token]
    before = bot.poll_generation
    task = asyncio.create_task(poll)
    while bot.poll_generation == before:
        await bot.arrived.wait(5)
    return task


async def test_an_update_wakes_a_waiting_poll(
    sandbox: SandboxServer, tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    poll = await started_poll(sandbox, tg_bot.token, tg_bot.get_updates(timeout=20))
    started = time.monotonic()
    sent = await client.send_text(user["id"], "بیدار شو")
    updates = await asyncio.wait_for(poll, timeout=5)
    assert time.monotonic() - started < 1
    assert [u.update_id for u in updates] == [sent["update_id"]]


async def test_allowed_updates_drop_other_kinds(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    assert await tg_bot.get_updates(allowed_updates=["callback_query"]) == []
    dropped = await client.send_text(user["id"], "متن")
    assert dropped["dropped"] is True and dropped["update_id"] is None
    # The setting persists until a later call names other kinds.
    assert await tg_bot.get_updates() == []
    assert await tg_bot.get_updates(allowed_updates=["message"]) == []
    kept = await client.send_text(user["id"], "متن دوم")
    assert [u.update_id for u in await tg_bot.get_updates()] == [kept["update_id"]]


async def test_a_second_poller_ends_the_first_with_409(
    sandbox: SandboxServer, tg_bot: Bot
) -> None:
    other = make_bot(sandbox, tg_bot.token)
    try:
        first = await started_poll(sandbox, tg_bot.token, tg_bot.get_updates(timeout=20))
        second = asyncio.create_task(other.get_updates(timeout=0))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, timeout=5)
        assert await second == []
    finally:
        await other.session.close()


async def test_get_updates_refused_while_a_webhook_is_set(tg_bot: Bot) -> None:
    assert await tg_bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(
        TelegramConflictError, match="can't use getUpdates method while webhook is active"
    ):
        await tg_bot.get_updates()
    assert await tg_bot.delete_webhook()
    assert await tg_bot.get_updates() == []


async def test_every_user_action_parses_as_an_aiogram_update(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    """Each kind of update the control API makes is valid for aiogram's types."""
    user = await new_user(started=False, last_name="رضایی", username="maryam")
    uid = user["id"]
    sent = await client.send_text(uid, "سلام")
    await client.send_command(uid, "start", "ref")
    await client.send_contact(uid, "989121234567")
    await client.send_contact(uid, "09351112233", own=False, contact_user_id=777)
    await client.send_contact(uid, "09131112233", own=False)
    await client.send_contact(uid, "09191234567", own=False, forwarded_from=555)
    await client.send_photo(uid, caption="عکس")
    await client.send_document(uid, b"%PDF", "a.pdf", mime_type="application/pdf")
    for kind in ("sticker", "voice", "video", "audio", "animation", "video_note"):
        await client.send_media(uid, kind)
    await client.send_location(uid)
    await client.edit_message(uid, sent["message"]["message_id"], "سلام ویرایش‌شده")
    await client.send_text(uid, "در گروه", chat_id=-100500, chat_title="گروه")
    await client.block(uid)
    await client.unblock(uid)

    updates = await tg_bot.get_updates()
    kinds = [u.event_type for u in updates]
    assert kinds.count("message") == 16 and "edited_message" in kinds
    assert kinds.count("my_chat_member") == 2
    messages = [u.message for u in updates if u.message is not None]
    assert messages[0].from_user is not None and messages[0].from_user.last_name == "رضایی"
    assert messages[1].text == "/start ref" and messages[1].entities is not None
    assert messages[1].entities[0].type == "bot_command"
    own, other, missing, forwarded = (m.contact for m in messages[2:6])
    assert own is not None and own.user_id == uid and own.phone_number == "989121234567"
    assert other is not None and other.user_id == 777
    assert missing is not None and missing.user_id is None
    assert forwarded is not None and messages[5].forward_origin is not None
    assert messages[6].photo is not None and messages[6].caption == "عکس"
    assert messages[7].document is not None and messages[7].document.mime_type == "application/pdf"
    assert [
        bool(getattr(m, k))
        for m, k in zip(
            messages[8:14],
            ("sticker", "voice", "video", "audio", "animation", "video_note"),
            strict=True,
        )
    ] == [True] * 6
    assert messages[14].location is not None
    group = messages[15]
    assert group.chat.type == "group" and group.chat.id == -100500 and group.chat.title == "گروه"
    edited = next(u.edited_message for u in updates if u.edited_message is not None)
    assert edited.text == "سلام ویرایش‌شده" and edited.edit_date is not None
    blocked = next(u.my_chat_member for u in updates if u.my_chat_member is not None)
    assert blocked.new_chat_member.status == "kicked"
