"""Every kind of unexpected input gets a sensible Persian answer, never silence or a traceback."""

from __future__ import annotations

import datetime as dt

import pytest
from aiogram.types import (
    Animation,
    Dice,
    Document,
    Location,
    PhotoSize,
    Sticker,
    Video,
    Voice,
)

from bot import texts
from bot.keyboards import Confirm
from tests.bot import fakes
from tests.bot.conftest import Harness


def sticker() -> Sticker:
    return Sticker(
        file_id="st-1",
        file_unique_id="st1",
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
    )


async def test_sticker_voice_video_location(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    assert "ممنون" in chat.joined(await chat.send(sticker=sticker()))
    voice = Voice(file_id="v-1", file_unique_id="v1", duration=3)
    assert "پیام صوتی" in chat.joined(await chat.send(voice=voice))
    video = Video(file_id="vd-1", file_unique_id="vd1", width=1, height=1, duration=1)
    assert "ویدیو" in chat.joined(await chat.send(video=video))
    gif = Animation(file_id="a-1", file_unique_id="a1", width=1, height=1, duration=1)
    assert "ویدیو" in chat.joined(await chat.send(animation=gif))
    location = Location(latitude=35.7, longitude=51.4)
    assert "موقعیت مکانی" in chat.joined(await chat.send(location=location))
    photo = [PhotoSize(file_id="p-1", file_unique_id="p1", width=1, height=1)]
    assert "فقط هنگام ثبت شکایت" in chat.joined(await chat.send(photo=photo))
    doc = Document(file_id="d-1", file_unique_id="d1")
    assert "فقط هنگام ثبت شکایت" in chat.joined(await chat.send(document=doc))
    dice = Dice(emoji="🎲", value=3)
    assert "این نوع پیام را نمی‌توانم بخوانم" in chat.joined(await chat.send(dice=dice))


async def test_very_long_text(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    text = chat.joined(await chat.send("سلام " * 400))
    assert "طولانی‌تر از ۱۰۰۰ نویسه" in text


async def test_edited_message(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    edited = fakes.message(
        chat.user, text="بیمه‌ام فعاله؟", edit_date=int(dt.datetime.now().timestamp())
    )
    calls = await chat.feed(edited_message=edited)
    assert "ویرایش پیام‌های قبلی" in chat.joined(calls)


async def test_group_chat_is_told_private_only(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    group = fakes.group_chat()
    for text in ("/start", "بیمه‌ام فعاله؟"):
        calls = await chat.feed(message=fakes.message(chat.user, chat=group, text=text))
        assert "فقط در گفتگوی خصوصی" in chat.joined(calls)
        assert calls[-1].params["chat_id"] == group.id
    calls = await chat.feed(
        message=fakes.message(
            chat.user, chat=group, contact=fakes.contact("09121234567", user_id=chat.user.id)
        )
    )
    assert "فقط در گفتگوی خصوصی" in chat.joined(calls)
    on = fakes.message(chat.user, chat=group, text="…")
    calls = await chat.feed(callback_query=fakes.callback(chat.user, "nx", on=on))
    assert calls[-1].name == "answerCallbackQuery"
    assert "فقط در گفتگوی خصوصی" in calls[-1].params["text"]


async def test_a_stale_button_is_answered(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    calls = await chat.press(Confirm(flow="tkt", yes=True).pack())
    assert [c.name for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == texts.STALE_BUTTON
    calls = await chat.press("garbage-data")
    assert [c.name for c in calls] == ["answerCallbackQuery"]


async def test_non_text_inside_a_flow_asks_for_text(memory_harness: Harness) -> None:
    chat = memory_harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press("tc:insurance")
    voice = Voice(file_id="v-1", file_unique_id="v1", duration=3)
    assert "پیام صوتی" in chat.joined(await chat.send(voice=voice))
    loc = Location(latitude=1, longitude=1)
    assert "موقعیت" in chat.joined(await chat.send(location=loc))
    dice = Dice(emoji="🎲", value=3)
    assert "به صورت متن بنویسید" in chat.joined(await chat.send(dice=dice))


@pytest.mark.parametrize(
    "forged",
    [
        "rl:cousin",  # issue 17, finding 13: a KeyError in the conditions before
        "rl:",
        "dq:uncle",
        "in:human_agent:uncle",
        "in:DROP TABLE",
        "cs:1:9",
        "cs:0:5",
        "cs:x:1",
        "tk:1420-12",
        "tk:<b>",
        "ok:zzz:1",
        "tc:bogus",
    ],
)
async def test_a_forged_button_gets_the_polite_stale_answer(
    memory_harness: Harness, forged: str
) -> None:
    chat = memory_harness.chat()
    calls = await chat.press(forged)
    assert [c.name for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == texts.STALE_BUTTON


async def test_a_forged_category_inside_the_complaint_flow_is_refused(
    memory_harness: Harness,
) -> None:
    chat = memory_harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    calls = await chat.press("tc:bogus")
    assert [c.name for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == texts.STALE_BUTTON
