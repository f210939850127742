"""Blind dialogues, second set: records, payslips and verification edge cases.

Expectations from ``demo/personas.py`` (Maryam paid every month up to last month at the food
company; Reza's last paid month three years ago at the building company; Hassan a pensioner
with the payslips of the six months before this one; Zahra voluntary, paid through this month)
and the catalogue ``bot/texts.py``. Helpers: ``test_blind_dialogues2.py``.
"""

from __future__ import annotations

import pytest

from demo.rows import jalali_months_between, monthly_wage
from persian.jalali import jalali_month_length, previous_jalali_month
from persian.money import format_rial
from sandbox import SandboxClient
from tests.e2e.conftest import HASSAN, MARYAM, REZA, ZAHRA
from tests.e2e.test_blind_dialogues2 import (
    COVERED,
    ELIGIBILITY,
    LAST_RECORD,
    TOTAL_RECORD,
    UNSURE,
    VERIFIED,
    VERIFY_ASKED,
    after,
    month,
    person,
    shows_date,
    this_month,
    verified,
    zahra_until,
)
from tests.e2e.test_dialogues import persian

pytestmark = pytest.mark.e2e

SLIP = "فیش مستمری"
NOT_IN_FILE = "در پروندهٔ شما نیست"
NOT_PENSIONER = "مستمری‌بگیر نیستید"
PENSIONER_RECORD = "شما مستمری‌بگیر هستید"


def hassan_net(ym: tuple[int, int]) -> str:
    """demo/personas.py: gross from the year's wage at level 1.4, 2 % deducted."""
    gross = monthly_wage(ym[0], None, 1.4)
    return format_rial(gross - gross * 2 // 100)


def total_days(start: tuple[int, int], end: tuple[int, int]) -> str:
    """demo/personas.py: every month from ``start`` to ``end`` paid in full, as «جمعاً … روز»."""
    days = sum(jalali_month_length(*ym) for ym in jalali_months_between(start, end))
    return f"جمعاً {persian(str(days))} روز"


def back(months: int) -> tuple[int, int]:
    return previous_jalali_month(*this_month(), months)


# --- records --------------------------------------------------------------------------------


async def test_story_then_did_my_employer_pay_this_month(client: SandboxClient) -> None:
    chat = await person(client, "مریم")
    asked = await chat.say(
        "سلام خسته نباشید. من از سال ۹۵ تو یه شرکت مواد غذایی کار میکنم. میخواستم ببینم "
        "کارفرمام بیمه ماه پیش منو رد کرده یا نه؟"
    )
    assert VERIFY_ASKED in asked.text
    await chat.share(MARYAM)
    await chat.say(persian(MARYAM[0]))
    text = after(await chat.wait_for(LAST_RECORD), VERIFIED)
    assert month(back(1)) in text and "شرکت صنایع غذایی نمونه پارس" in text
    before = (await chat.say("ماه قبلش چی؟ اونم رد شده؟")).text
    assert month(back(2)) in before
    total = (await chat.say("از اول چند سال سابقه جمع کردم؟")).text
    assert TOTAL_RECORD in total and total_days((1395, 1), back(1)) in total


async def test_finglish_total_record_with_a_latin_national_id(client: SandboxClient) -> None:
    chat = await person(client, "رضا")
    asked = await chat.say("savabeghe kolle bimam chand sale?")
    assert VERIFY_ASKED in asked.text
    await chat.share(REZA)
    await chat.say(REZA[0])
    text = after(await chat.wait_for(TOTAL_RECORD), VERIFIED)
    reza_last = (this_month()[0] - 3, this_month()[1])
    assert total_days((1385, 7), reza_last) in text
    assert f"سال {persian(str(reza_last[0]))}" in text
    last = (await chat.say("akharin mahi ke bime shodam kei bood?")).text
    assert LAST_RECORD in last and month(reza_last) in last


async def test_national_id_with_dashes_keeps_the_question(client: SandboxClient) -> None:
    chat = await person(client, "رضا")
    asked = await chat.say("آخرین سابقه بیمه من چیه؟")
    assert VERIFY_ASKED in asked.text
    await chat.share(REZA)
    await chat.say("2739-897-952")
    text = after(await chat.wait_for(LAST_RECORD), VERIFIED)
    assert "شرکت ساختمانی البرز بنا" in text
    assert "۳۶ ماه پیش" in text
    eligibility = (await chat.say("پس با این حساب دفترچه‌م اعتبار نداره دیگه؟")).text
    assert "رضا کاظمی (خودتان)" in eligibility and "حمایت درمانی ندارد" in eligibility


async def test_a_short_national_id_then_the_right_one(client: SandboxClient) -> None:
    chat = await person(client, "زهرا")
    asked = await chat.say("استعلام بیمه درمانی میخوام")
    assert VERIFY_ASKED in asked.text
    await chat.share(ZAHRA)
    short = (await chat.say("833227929")).text
    assert "۹ رقم" in short and VERIFIED not in short
    await chat.say("٨٣٣٢٢٧٩٢٩١")
    text = after(await chat.wait_for(ELIGIBILITY), VERIFIED)
    assert "زهرا حسینی (خودتان)" in text and COVERED in text
    assert shows_date(text, zahra_until()), text


async def test_a_question_in_words_where_the_national_id_is_expected(
    client: SandboxClient,
) -> None:
    chat = await person(client, "مریم")
    asked = await chat.say("سابقه کارم رو میخوام ببینم")
    assert VERIFY_ASKED in asked.text
    await chat.share(MARYAM)
    kept = (await chat.say("راستی دخترمم بیمه داره؟")).text
    assert "کد ملی" in kept and "رقم نوشته‌اید" not in kept
    await chat.say(persian(MARYAM[0]))
    text = await chat.wait_for("سارا رضایی (دختر)")
    answered = after(text, VERIFIED)
    assert "سارا رضایی (دختر)" in answered and COVERED in answered
    assert TOTAL_RECORD in answered or LAST_RECORD in answered, answered


# --- the pensioner's payslip ---------------------------------------------------------------


async def test_payslip_asked_before_verification(client: SandboxClient) -> None:
    chat = await person(client, "حسن")
    asked = await chat.say("سلام. فیش حقوقی ماه پیش رو لطف میکنید؟")
    assert VERIFY_ASKED in asked.text
    await chat.share(HASSAN)
    await chat.say("3486477986")
    text = after(await chat.wait_for(SLIP), VERIFIED)
    assert f"{SLIP} {month(back(1))}" in text
    assert hassan_net(back(1)) in text
    eidi = (await chat.say("عیدی امسال بازنشسته‌ها کی واریز میشه؟")).text
    assert "عیدی" in eidi and "۱۴۲۰" in eidi


async def test_payslip_of_a_named_month_and_the_one_before(client: SandboxClient) -> None:
    chat = await verified(client, HASSAN, "حسن")
    three = back(3)
    named = (await chat.say(f"فیش حقوق {month(three).split()[0]} ماه رو بفرستید")).text
    assert f"{SLIP} {month(three)}" in named and hassan_net(three) in named
    before = (await chat.say("ماه قبلش چی؟")).text
    assert f"{SLIP} {month(back(4))}" in before
    six = back(6)
    oldest = (await chat.say(f"فیش {month(six).split()[0]} هم بده")).text
    assert f"{SLIP} {month(six)}" in oldest


async def test_this_months_pension_is_not_paid_yet(client: SandboxClient) -> None:
    chat = await verified(client, HASSAN, "حسن")
    now = (await chat.say("حقوق بازنشستگی این ماهم چقدر واریز شده؟")).text
    # The demo has the six months before this one: this month's slip is not issued yet, so
    # the newest, last month's, with the day it was paid.
    assert f"{SLIP} {month(back(1))}" in now and "تاریخ پرداخت" in now
    far = (await chat.say(f"فیش فروردین {persian(str(this_month()[0] - 1))} چی؟")).text
    assert NOT_IN_FILE in far
    wife = (await chat.say("خانمم بیمه درمانیش برقراره؟")).text
    assert "فاطمه کریمی" in wife and COVERED in wife


async def test_pensioner_asks_for_his_record_then_the_slip(client: SandboxClient) -> None:
    chat = await verified(client, HASSAN, "حسن")
    record = (await chat.say("سابقه بیمه‌ام چقدره؟")).text
    assert PENSIONER_RECORD in record
    slip = (await chat.say("پس فیشمو بده")).text
    assert f"{SLIP} {month(back(1))}" in slip
    cover = (await chat.say("من که بازنشسته‌ام دفترچه‌م اعتبار داره؟")).text
    assert "حسن کریمی (خودتان)" in cover and COVERED in cover


async def test_a_worker_asks_for_a_payslip(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    slip = (await chat.say("فیش حقوقیمو میخوام")).text
    if UNSURE in slip:
        slip = (await chat.tap("فیش حقوقی مستمری")).text
    assert NOT_PENSIONER in slip
    last = (await chat.say("پس آخرین سابقه‌م رو بگو")).text
    assert LAST_RECORD in last and month(back(1)) in last
    total = (await chat.say("کلش چقدر میشه؟")).text
    assert TOTAL_RECORD in total
