"""Verification through the real dispatcher: contact, national ID, mismatch, lockout, restart."""

from __future__ import annotations

import datetime as dt

from aiogram.types import KeyboardButton, MessageOriginUser, ReplyKeyboardMarkup

from bot import texts
from bot.platform import Platform
from tests.bot import fakes
from tests.bot.conftest import (
    HASSAN,
    MARYAM,
    NOBODY_MOBILE,
    REZA,
    Harness,
    make_bots,
    make_harness,
)


def contact_button(call: fakes.Call) -> KeyboardButton:
    markup = call.markup
    assert isinstance(markup, ReplyKeyboardMarkup)
    return markup.keyboard[0][0]


async def test_start_greets_explains_and_offers_the_contact_button(harness: Harness) -> None:
    chat = harness.chat(first_name="مریم")
    calls = await chat.send("/start")
    assert [c.name for c in calls] == ["sendMessage", "sendMessage"]
    welcome, ask = calls
    assert welcome.text.startswith("سلام مریم، به دستیار تأمین اجتماعی خوش آمدید")
    # Two lines of what the bot does after the greeting.
    assert len(welcome.text.splitlines()) == 3
    assert welcome.parse_mode == "HTML"
    button = contact_button(ask)
    assert button.request_contact is True
    assert button.text == texts.BTN_SHARE_CONTACT


async def test_someone_elses_contact_is_refused(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.share_contact(MARYAM[1], owner=chat.user.id + 1)
    assert "متعلق به حساب خود شما نیست" in chat.joined(calls)
    assert contact_button(calls[-1]).request_contact
    # Nothing was stored: a national ID now is not accepted as the next step.
    calls = await chat.send(MARYAM[0])
    assert "هویت شما تأیید شد" not in chat.joined(calls)


async def test_contact_without_user_id_is_refused(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.share_contact(MARYAM[1], owner=None)
    assert "متعلق به حساب خود شما نیست" in chat.joined(calls)


async def test_forwarded_contact_is_refused_even_with_the_senders_id(harness: Harness) -> None:
    chat = harness.chat()
    origin = MessageOriginUser(date=dt.datetime.now(dt.UTC), sender_user=fakes.user(5, "دیگری"))
    calls = await chat.send(
        contact=fakes.contact(MARYAM[1], user_id=chat.user.id), forward_origin=origin
    )
    assert "مخاطبِ بازارسال‌شده" in chat.joined(calls)


async def test_a_typed_mobile_is_not_proof(harness: Harness) -> None:
    chat = harness.chat()
    await chat.send("استحقاق درمان دارم؟")
    calls = await chat.send("۰۹۱۲ ۱۲۳ ۴۵۶۷")
    assert "شمارهٔ تایپ‌شده برای احراز هویت پذیرفته نمی‌شود" in chat.joined(calls)


async def test_a_foreign_mobile_is_refused(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.share_contact("+44 7700 900123")
    assert "شمارهٔ همراه ایرانی نیست" in chat.joined(calls)


async def test_bad_checksum_is_explained_and_the_step_waits(harness: Harness) -> None:
    chat = harness.chat()
    await chat.share_contact(MARYAM[1])
    calls = await chat.send("6508124227")
    assert "رقم کنترل" in chat.joined(calls)
    calls = await chat.send("12345")
    assert "ده رقم باشد، اما ۵ رقم" in chat.joined(calls)
    calls = await chat.send("۱۱۱۱۱۱۱۱۱۱")
    assert "یکسان" in chat.joined(calls)
    # Persian digits with spaces are accepted.
    calls = await chat.send("کد ملی من ۶۵۰ ۸۱۲ ۴۲۲۶ است")
    assert "هویت شما تأیید شد، مریم گرامی" in chat.joined(calls)


async def test_mismatch_gives_the_branch_instruction(harness: Harness) -> None:
    chat = harness.chat()
    await chat.share_contact(MARYAM[1])
    calls = await chat.send(REZA[0])
    text = chat.joined(calls)
    assert "عدم تطابق کد ملی با شماره موبایل" in text
    assert "شعب تأمین اجتماعی مراجعه کنید" in text
    assert "۴ بار دیگر" in text


async def test_a_mobile_registered_for_nobody_gets_the_branch_instruction(
    harness: Harness,
) -> None:
    chat = harness.chat()
    await chat.share_contact(NOBODY_MOBILE)
    calls = await chat.send(MARYAM[0])
    text = chat.joined(calls)
    assert "به نام هیچ بیمه‌شده‌ای ثبت نشده" in text
    assert "شعب تأمین اجتماعی" in text


async def test_repeated_failures_lock_and_say_until_when(harness: Harness) -> None:
    chat = harness.chat()
    await chat.share_contact(MARYAM[1])
    for _ in range(4):
        await chat.send(REZA[0])
    calls = await chat.send(HASSAN[0])
    text = chat.joined(calls)
    # Locked for 60 minutes from 10:00 Tehran on 13 Mordad 1403: until 11:00 that day.
    assert "تا ساعت ۱۱:۰۰ روز ۱۳ مرداد ۱۴۰۳ بسته شده است" in text
    # Even the right national ID is refused while locked, and a personal request says so too.
    await chat.share_contact(MARYAM[1])
    calls = await chat.send(MARYAM[0])
    assert "بسته شده است" in chat.joined(calls)
    calls = await chat.send("فیش حقوقی")
    assert "بسته شده است" in chat.joined(calls)
    # After the lock ends, verification works.
    harness.clock.advance(dt.timedelta(minutes=61))
    await chat.share_contact(MARYAM[1])
    calls = await chat.send(MARYAM[0])
    assert "هویت شما تأیید شد" in chat.joined(calls)


async def test_personal_request_is_answered_right_after_verification(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("وضعیت استحقاق درمان من چیه؟")
    assert "باید هویت شما را تأیید کنم" in chat.joined(calls)
    await chat.share_contact(MARYAM[1])
    calls = await chat.send(MARYAM[0])
    texts_ = chat.texts(calls)
    assert texts_[0].startswith("هویت شما تأیید شد")
    assert "نتیجهٔ استعلام استحقاق درمان" in texts_[-1]
    assert "مریم رضایی" in texts_[-1]


async def test_personal_request_after_contact_asks_only_the_national_id(harness: Harness) -> None:
    chat = harness.chat()
    await chat.share_contact(HASSAN[1])
    calls = await chat.send("آخرین فیش حقوقی بازنشستگیم رو میخوام")
    assert "کد ملی ده‌رقمی خود را بنویسید" in chat.joined(calls)
    calls = await chat.send(HASSAN[0])
    assert "فیش مستمری" in chat.joined(calls)


async def test_verification_survives_a_restart(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    # A new process: new dispatcher and bots, fresh FSM storage, the same database.
    restarted = make_harness(harness.deps, (None, "restart-test"), clock=harness.clock)
    again = restarted.chat(chat.user.id)
    calls = await again.send("استحقاق درمان")
    text = again.joined(calls)
    assert "نتیجهٔ استعلام استحقاق درمان" in text
    assert "هویت" not in text


async def test_logout_forgets_the_verification(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    calls = await chat.send("/logout")
    assert "احراز هویت شما فراموش شد" in chat.joined(calls)
    assert contact_button(calls[-1]).request_contact
    calls = await chat.send("استحقاق درمان")
    assert "باید هویت شما را تأیید کنم" in chat.joined(calls)


async def test_platforms_do_not_share_users(harness: Harness) -> None:
    telegram = harness.chat(4242)
    await telegram.verify(*MARYAM)
    bale = harness.chat(4242, platform=Platform.BALE)
    calls = await bale.send("استحقاق درمان")
    assert "باید هویت شما را تأیید کنم" in bale.joined(calls)


def test_make_bots_records_platforms() -> None:
    telegram, bale = make_bots()
    assert (telegram.platform, bale.platform) == ("telegram", "bale")
