"""Keeping the thread end to end (issue 14): the real ``tamin-bot run`` over real HTTP.

Follow-ups on the last answer («و دخترم چی؟», «تا کی؟», «چرا؟»), two questions in one message,
typed exits from a flow, and a sentence where a national ID is expected.
"""

from __future__ import annotations

import asyncio

import pytest

from sandbox import SandboxClient
from tests.e2e.conftest import MARYAM
from tests.e2e.test_dialogues import BTN_SHARE_CONTACT, new_chat, persian, verified_chat

pytestmark = pytest.mark.e2e

TWO_QUESTIONS = "سلام دو تا سوال داشتم، بیمه‌ام فعاله؟ آخرین پرداختم کی بوده؟"


async def test_follow_ups_on_an_eligibility_answer(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    text = (await chat.say("پسرم حمایت درمانی داره؟")).text
    assert "علی رضایی (پسر)" in text and "حمایت درمانی ندارد" in text
    text = (await chat.say("و دخترم چی؟")).text
    assert "سارا رضایی (دختر)" in text and "حمایت درمانی دارد" in text and "علی" not in text
    text = (await chat.say("تا کی؟")).text
    assert "سارا رضایی (دختر)" in text and "اعتبار دارد" in text
    text = (await chat.say("پسرم چی؟")).text
    assert "علی رضایی (پسر)" in text
    text = (await chat.say("چرا؟")).text
    assert "علت:" in text and "گواهی" in text and "اقدام لازم:" in text


async def test_two_questions_in_one_message(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم")
    asked = await chat.say(TWO_QUESTIONS)
    assert BTN_SHARE_CONTACT in asked.text
    await chat.verify(MARYAM)
    text = await chat.wait_for("آخرین سابقهٔ ثبت‌شدهٔ شما")
    after = text[text.rindex("هویت شما تأیید شد") :]
    assert after.index("نتیجهٔ استعلام استحقاق درمان") < after.index("آخرین سابقهٔ ثبت‌شدهٔ شما")


async def test_typed_exits_leave_a_flow(client: SandboxClient) -> None:
    chat = await verified_chat(client, MARYAM, "مریم")
    for exit_word in ("بیخیال", "نه ممنون"):
        asked = await chat.say("می‌خوام شکایت کنم")
        assert "کدام موضوع" in asked.text
        left = (await chat.say(exit_word)).text
        assert "کار نیمه‌تمام را کنار گذاشتم" in left, exit_word
    await asyncio.sleep(1.5)  # a person types slower than the flood limit
    text = (await chat.say("آخرین پرداختم کی بوده؟")).text
    assert "آخرین سابقهٔ ثبت‌شدهٔ شما" in text


async def test_a_sentence_where_the_national_id_is_expected(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم")
    await chat.say("استحقاق درمان دارم؟")
    shared = await chat.contact(MARYAM[1])
    assert "کد ملی" in shared.text
    # («کارفرمام ۳ ساله بیمه منو رد نکرده» reads as a complaint, whose flow then starts: the
    # routing test in tests/bot/test_thread.py covers it; this one keeps a personal request.)
    text = (await chat.say("راستی آخرین پرداخت بیمه‌ام کی بوده؟")).text
    assert "رقم نوشته‌اید" not in text and "ده رقم باشد" not in text
    assert "کد ملی ده‌رقمی" in text
    answer = (await chat.say(persian(MARYAM[0]))).text
    assert "هویت شما تأیید شد" in answer
    text = await chat.wait_for("آخرین سابقهٔ ثبت‌شدهٔ شما")
    assert "نتیجهٔ استعلام استحقاق درمان" in text
