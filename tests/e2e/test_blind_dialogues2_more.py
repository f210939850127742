"""Blind dialogues, second set: two requests before verifying, Bale, a borrowed phone, a
complaint told badly, a person asked for mid-flow, a dependant request in colloquial words.

Expectations from ``demo/personas.py`` and the catalogue ``bot/texts.py``. Helpers:
``test_blind_dialogues2.py``.
"""

from __future__ import annotations

import re

import pytest

from persian.jalali import previous_jalali_month
from sandbox import SandboxClient
from tests.e2e.conftest import HASSAN, MARYAM, ZAHRA
from tests.e2e.test_blind_dialogues2 import (
    COVERED,
    ELIGIBILITY,
    FLOW_LEFT,
    SARA,
    UNSURE,
    VERIFIED,
    VERIFY_ASKED,
    Person,
    after,
    hassan_until,
    mixed_digits,
    month,
    person,
    shows_date,
    this_month,
    verified,
    zahra_until,
)
from tests.e2e.test_blind_dialogues2_rules import (
    BTN_INSURANCE,
    BTN_YES,
    CATEGORY_ASKED,
    OUT_OF_SCOPE,
    handed_to_a_person,
)
from tests.e2e.test_dialogues import HTML_TAG, persian

pytestmark = pytest.mark.e2e

# A valid national ID (checksum) that no persona or other dialogue uses.
ZAHRA_SON_NID = "0274158361"


async def test_two_requests_with_arabic_letters_before_verifying(client: SandboxClient) -> None:
    chat = await person(client, "حسن")
    asked = await chat.say("سلام. بيمه درماني من فعاله؟ آخرين فيش حقوقيم كي واريز شده؟")
    assert VERIFY_ASKED in asked.text
    await chat.share(HASSAN)
    await chat.say(persian(HASSAN[0]))
    text = await chat.wait_for("فیش مستمری")
    answered = after(text, VERIFIED)
    assert ELIGIBILITY in answered and "حسن کریمی (خودتان)" in answered
    assert shows_date(answered, hassan_until()), answered
    last_month = month(previous_jalali_month(*this_month()))
    assert f"فیش مستمری {last_month}" in answered
    bye = (await chat.say("قربون دستت، خدانگهدار")).text
    assert "خدانگهدار" in bye or "خواهش می‌کنم" in bye


async def test_finglish_on_bale_shows_no_markup(client: SandboxClient) -> None:
    user = await client.create_user("زهرا")
    chat = Person(client, int(user["id"]), "bale")
    asked = await chat.say("bime ekhtiari man ta key etebar dare?")
    if UNSURE in asked.text:
        # «did you mean …?» between the rules and the inquiry: she picks the inquiry.
        asked = await chat.tap("استعلام حمایت درمانی")
    assert VERIFY_ASKED in asked.text
    await chat.share(ZAHRA)
    await chat.say(ZAHRA[0])
    text = after(await chat.wait_for(ELIGIBILITY), VERIFIED)
    assert "زهرا حسینی (خودتان)" in text and COVERED in text
    assert shows_date(text, zahra_until()), text
    bye = (await chat.say("kheili mamnoon, khodahafez")).text
    assert "خدانگهدار" in bye or "خواهش می‌کنم" in bye
    for message in await client.messages(chat.uid, bot=chat.bot):
        shown = message.get("rendered_text") or ""
        assert not HTML_TAG.search(shown), shown


async def test_a_borrowed_phone_is_a_mismatch(client: SandboxClient) -> None:
    chat = await person(client, "مریم")
    asked = await chat.say("گوشی بابامه، میخوام بیمه خودمو ببینم فعاله یا نه")
    assert VERIFY_ASKED in asked.text
    await chat.share(HASSAN)  # the father's mobile, her own national ID
    mismatch = (await chat.say(persian(MARYAM[0]))).text
    assert "عدم تطابق کد ملی با شماره موبایل" in mismatch and VERIFIED not in mismatch
    what = (await chat.say("پس الان باید چیکار کنم؟")).text
    assert "شعب" in what  # register her own mobile at a branch
    contact = (await chat.say("شماره ۱۴۲۰ رو بدید زنگ بزنم")).text
    assert "۱۴۲۰" in contact and OUT_OF_SCOPE not in contact


async def test_a_question_announced_before_it_is_asked(client: SandboxClient) -> None:
    chat = await person(client, "مریم")
    hello = (await chat.say("سلام وقتتون بخیر")).text
    assert "سلام" in hello
    announce = (await chat.say("یه سوال داشتم")).text
    assert OUT_OF_SCOPE not in announce
    asked = await chat.say("دخترم بیمه‌ش قطع نشده؟")
    assert VERIFY_ASKED in asked.text
    await chat.share(MARYAM)
    await chat.say(persian(MARYAM[0]))
    text = after(await chat.wait_for(SARA), VERIFIED)
    assert COVERED in text and "علی" not in text


async def test_a_complaint_told_too_briefly_then_not_sent(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    asked = (await chat.say("از بیمارستان طرف قرارداد شکایت دارم")).text
    assert CATEGORY_ASKED in asked
    await chat.tap("🏥 امور درمانی")
    short = (await chat.say("بد بود")).text
    assert "خیلی کوتاه" in short
    attach = (
        await chat.say("بیمارستان با اینکه بیمه‌م برقرار بود گفت استحقاق نداری و آزاد حساب کرد")
    ).text
    assert "عکس یا سندی" in attach
    await chat.tap("بدون پیوست ادامه می‌دهم")
    dropped = (await chat.say("نه نمیخوام ثبت بشه")).text
    assert "شکایت ثبت نشد" in dropped or FLOW_LEFT in dropped
    assert not re.search(r"۱۴۲۰-[۰-۹]{6}", dropped)


async def test_a_person_asked_for_in_the_middle_of_a_complaint(client: SandboxClient) -> None:
    chat = await verified(client, ZAHRA, "زهرا")
    asked = (await chat.say("میخوام شکایت ثبت کنم")).text
    assert CATEGORY_ASKED in asked
    await chat.tap(BTN_INSURANCE)
    human = await chat.say("اصلا نمیخوام بنویسم، میخوام با یه آدم حرف بزنم")
    handed_to_a_person(human)
    assert "شرح شکایت" not in human.text


async def test_an_unknown_tracking_code_in_mixed_digits(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    none = (await chat.say("درخواست‌هامو نشون بده")).text
    assert "هنوز شکایت یا درخواستی ثبت نکرده‌اید" in none
    unknown = (await chat.say(f"کد پیگیریم {mixed_digits('1420-999999')} بود، چی شد؟")).text
    assert "پیدا نشد" in unknown and "۱۴۲۰-۹۹۹۹۹۹" in unknown
    thanks = (await chat.say("باشه ممنون")).text
    assert "پیدا نشد" not in thanks


async def test_a_son_added_in_colloquial_words_and_tracked(client: SandboxClient) -> None:
    chat = await verified(client, ZAHRA, "زهرا")
    rules = await chat.say("پسرم ۱۵ سالشه، میخوام بیارمش زیر بیمه خودم")
    assert "پسر تا پیش از ۲۰ سالگی" in rules.text
    asked = (await chat.tap("📝 ثبت درخواست افزودن")).text
    assert "کد ملی ده‌رقمی پسر" in asked
    spaced = " ".join(ZAHRA_SON_NID[i : i + 3] for i in range(0, 10, 3))
    birth = (await chat.say(spaced)).text
    assert "تاریخ تولد پسر" in birth
    summary = (await chat.say("۵ مهر ۱۳۹۰")).text
    assert f"کد ملی: {persian(ZAHRA_SON_NID)}" in summary
    assert "تاریخ تولد: ۱۳۹۰/۰۷/۰۵" in summary
    done = (await chat.tap(BTN_YES)).text
    match = re.search(r"کد رهگیری: ([۰-۹]{10})", done)
    assert match, done
    code = match.group(1)
    tracked = (await chat.say(f"درخواست {mixed_digits(code)} به کجا رسید")).text
    # Its own status, or the list of her requests with it.
    assert code in tracked and "افزودن پسر" in tracked and "در حال بررسی در شعبه" in tracked
