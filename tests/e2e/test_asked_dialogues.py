"""Dialogues of issue 14 over the sandbox, with the real bot process: the family list,
tracking a dependant request by its code, a named month's payslip, an amount in words."""

from __future__ import annotations

import asyncio
import re

import pytest

from persian.jalali import JALALI_MONTHS, previous_jalali_month, to_jalali
from sandbox import SandboxClient
from tests.e2e.conftest import HASSAN, MARYAM, REZA, product_today
from tests.e2e.test_dialogues import (
    BTN_START_DEPENDANT_REQUEST,
    BTN_VOLUNTARY_ESTIMATE,
    BTN_YES,
    new_chat,
    no_ascii_digits,
    persian,
    verified_chat,
)

pytestmark = pytest.mark.e2e

BTN_ADD_DEPENDANT = "➕ افزودن فرد تحت تکفل"
THROTTLE_WINDOW_S = 4.0
DAUGHTER_NID = "0583129471"


def month_name(year: int, month: int) -> str:
    return f"{JALALI_MONTHS[month - 1]} {persian(str(year))}"


async def test_the_family_list_before_and_after_verification(client: SandboxClient) -> None:
    chat = await new_chat(client, "مریم")
    asked = await chat.say("افراد تحت تکفلم کیان؟")
    assert "باید هویت شما را تأیید کنم" in asked.text
    await chat.contact(MARYAM[1])
    await chat.say(persian(MARYAM[0]))
    text = await chat.wait_for("افراد تحت تکفل شما")
    family = text[text.index("افراد تحت تکفل شما") :]
    assert "سارا" in family and "علی" in family and "(خودتان)" not in family
    assert "حمایت درمانی دارد" in family and "حمایت درمانی ندارد" in family
    assert no_ascii_digits(family)
    # Adding is a button under the list.
    relations = await chat.tap(BTN_ADD_DEPENDANT)
    assert "کدام عضو خانواده" in relations.text
    # A named dependant answers just that person.
    sara = (await chat.say("دخترم سارا تحت پوشش هست؟")).text
    assert "سارا" in sara and "علی" not in sara


async def test_a_dependant_request_is_tracked_by_its_code(client: SandboxClient) -> None:
    chat = await verified_chat(client, REZA, "رضا")
    # A daughter no other dialogue asks for: the product's database is shared by the dialogues.
    await chat.say("شرایط اضافه کردن دخترم")
    await chat.tap(BTN_START_DEPENDANT_REQUEST)
    await chat.say(persian(DAUGHTER_NID))
    await chat.say("۱۳۹۸/۰۳/۲۰")
    done = (await chat.tap(BTN_YES)).text
    match = re.search(r"کد رهگیری: ([۰-۹]{10})", done)
    assert match, done
    code = match.group(1)
    # A person pauses here; the bot handles at most eight updates of one user in four seconds.
    await asyncio.sleep(THROTTLE_WINDOW_S)
    tracked = (await chat.say(f"کد رهگیری {code} به کجا رسید؟")).text
    assert f"درخواست {code}" in tracked and "در حال بررسی در شعبه" in tracked
    assert "افزودن دختر" in tracked
    listed = (await chat.say("درخواست‌هام")).text
    assert code in listed and "افزودن دختر" in listed


async def test_the_payslip_of_a_named_month(client: SandboxClient) -> None:
    chat = await verified_chat(client, HASSAN, "حسن")
    # The demo gives Hassan the payslips of the six months before the product's.
    year, month, _ = to_jalali(product_today())
    three_back = previous_jalali_month(year, month, 3)
    text = (await chat.say("فیش سه ماه پیش")).text
    assert f"فیش مستمری {month_name(*three_back)}" in text
    assert "ماه‌های اخیر" not in text
    last_year = (year - 1, 6)
    first = previous_jalali_month(year, month, 6)
    text = (await chat.say(f"فیش شهریور {persian(str(year - 1))}")).text
    assert f"فیش مستمری {month_name(*last_year)} در پروندهٔ شما نیست" in text
    assert f"فیش مستمری {month_name(*first)}" in text


async def test_the_voluntary_estimate_takes_an_amount_in_words(client: SandboxClient) -> None:
    chat = await new_chat(client, "زهرا")
    await chat.say("بیمه اختیاری")
    await chat.tap(BTN_VOLUNTARY_ESTIMATE)
    low = (await chat.say("دو میلیون و پانصد")).text
    assert "کمتر از حداقل دستمزد مبنا" in low
    estimate = (await chat.say("پونزده میلیون تومان")).text
    # 27 % of 150 000 000 Rial.
    assert "۴۰٬۵۰۰٬۰۰۰ ریال" in estimate and "مهلت پرداخت تا" in estimate
