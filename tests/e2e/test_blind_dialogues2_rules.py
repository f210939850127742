"""Blind dialogues, second set: rule questions, out-of-scope, complaints, tracking, a person.

Expectations from ``../shared/DOMAIN.md`` (the seed rules), ``config.yml`` (their parameters)
and the catalogue ``bot/texts.py``. Helpers: ``test_blind_dialogues2.py``.
"""

from __future__ import annotations

import re

import pytest

from sandbox import SandboxClient
from sandbox.client import Reaction
from tests.e2e.conftest import MARYAM, REZA, ZAHRA
from tests.e2e.test_blind_dialogues2 import (
    COVERED,
    FLOW_LEFT,
    SARA,
    VERIFY_ASKED,
    Person,
    mixed_digits,
    person,
    this_month,
    verified,
)
from tests.e2e.test_blind_dialogues2_records import total_days

pytestmark = pytest.mark.e2e

OUT_OF_SCOPE = "از کارهای من بیرون است"
TICKET_CODE = re.compile(r"۱۴۲۰-[۰-۹]{6}")
CATEGORY_ASKED = "دربارهٔ کدام موضوع"
BTN_INSURANCE = "🗂 امور بیمه‌ای"
BTN_SKIP = "بدون پیوست ادامه می‌دهم"
BTN_YES = "✅ بله، ثبت شود"
BTN_RESUME = "↩️ بازگشت به ادامهٔ کار قبلی"
HUMAN_QUEUED = "نوبت شما در صف"
USSD = "*۱۴۲۰*۴#"


def handed_to_a_person(reaction: Reaction) -> str:
    """The handoff: a place in the agents' queue, or (out of hours, nobody online) a 1420
    ticket with its code. Returns the code, or "" when queued."""
    text = reaction.text
    assert "کارشناس" in text, text
    match = TICKET_CODE.search(text)
    assert HUMAN_QUEUED in text or match, text
    return match.group(0) if match else ""


async def file_a_complaint(chat: Person, opening: str, description: str) -> str:
    """Open a complaint in the user's words and carry it to its tracking code."""
    asked = await chat.say(opening)
    assert CATEGORY_ASKED in asked.text, asked.text
    await chat.tap(BTN_INSURANCE)
    attach = await chat.say(description)
    assert "عکس یا سندی" in attach.text, attach.text
    confirm = await chat.tap(BTN_SKIP)
    assert "ثبت شود؟" in confirm.text
    filed = (await chat.tap(BTN_YES)).text
    match = TICKET_CODE.search(filed)
    assert match, filed
    return match.group(0)


# --- out of scope between domain questions -------------------------------------------------


async def test_weather_subsidy_and_then_the_1420_number(client: SandboxClient) -> None:
    chat = await person(client)
    weather = (await chat.say("فردا تهران بارون میاد؟")).text
    assert OUT_OF_SCOPE in weather
    subsidy = (await chat.say("یارانه این ماه کی واریز میشه؟")).text
    assert OUT_OF_SCOPE in subsidy and VERIFY_ASKED not in subsidy
    contact = (await chat.say("شماره تلفن تامین اجتماعی چنده؟")).text
    assert "۱۴۲۰" in contact and USSD in contact


async def test_supplementary_insurance_is_not_ours(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    takmili = (await chat.say("بیمه تکمیلی شرکتمون دندونپزشکی رو هم پوشش میده؟")).text
    assert OUT_OF_SCOPE in takmili
    assert COVERED not in takmili
    dollar = (await chat.say("قیمت دلار امروز چنده")).text
    assert OUT_OF_SCOPE in dollar
    sara = (await chat.say("باشه. دخترم چی، بیمه درمانیش برقراره؟")).text
    assert SARA in sara and COVERED in sara


async def test_a_loan_question_then_voluntary_insurance(client: SandboxClient) -> None:
    chat = await person(client)
    loan = (await chat.say("وام ازدواج بانک ملی چقدره؟")).text
    assert OUT_OF_SCOPE in loan
    rules = (await chat.say("بیمه خویش فرما یا اختیاری، کدوم برای من که بیکار شدم؟")).text
    assert "اختیاری" in rules
    age = (await chat.say("تا چند سالگی میشه بیمه اختیاری گرفت؟")).text
    assert "۵۰" in age


# --- rule questions and their follow-ups -----------------------------------------------------


async def test_voluntary_rules_age_and_payment_deadline(client: SandboxClient) -> None:
    chat = await person(client, "زهرا")
    rules = (await chat.say("میخوام خودم بیمه رد کنم، شرایط بیمه اختیاری چیه؟")).text
    # DOMAIN.md § Voluntary insurance: 30 days of prior record, age limit 50 (config.yml).
    assert "۳۰ روز" in rules and "۵۰" in rules
    age = (await chat.say("من ۵۲ سالمه، میتونم؟")).text
    assert "۵۰" in age
    deadline = (await chat.say("بعد قرارداد چند روز وقت دارم پولشو بدم؟")).text
    assert "۲۰ روز" in deadline


async def test_voluntary_estimates_with_mixed_digits(client: SandboxClient) -> None:
    chat = await verified(client, ZAHRA, "زهرا")
    rate = (await chat.say("حق بیمه اختیاری ماهیانه چقدر میشه؟")).text
    assert "۲۷ درصد" in rate  # config.yml voluntary.rate_percent
    twenty = (await chat.say("با حقوق 20 میلیون تومن چقدر میشه؟")).text
    # 27 % (config.yml voluntary.rate_percent) of 200 000 000 Rial.
    assert "۵۴٬۰۰۰٬۰۰۰ ریال" in twenty
    thirty = (await chat.say("۳۰ میلیون باشه چی؟")).text
    assert "۸۱٬۰۰۰٬۰۰۰ ریال" in thirty
    # 800 000 000 Rial is above the wage-base ceiling (727 367 760 in config.yml).
    eighty = (await chat.say("اگه ۸۰ میلیون تومن بزنم؟")).text
    assert "بیشتر از سقف" in eighty


async def test_booklet_renewal_then_how_to_check(client: SandboxClient) -> None:
    chat = await person(client)
    booklet = (await chat.say("دفترچه بیمه‌م تموم شده، باید برم شعبه تمدیدش کنم؟")).text
    assert "۱۳۹۹" in booklet and "شعبه" in booklet
    assert VERIFY_ASKED not in booklet
    how = (await chat.say("پس از کجا بفهمم بیمه درمانی دارم یا نه؟")).text
    # The channels, or better: the bot offers to look it up (verification first).
    assert USSD in how or "استحقاق درمان" in how or VERIFY_ASKED in how
    inpatient = (await chat.say("برای بستری شدن چی؟ اونم عوض شده؟")).text
    assert "بستری" in inpatient


async def test_portal_registration_password_and_email(client: SandboxClient) -> None:
    chat = await person(client)
    steps = (await chat.say("چطوری تو سایت تامین اجتماعی ثبت نام کنم؟")).text
    assert "es.tamin.ir" in steps
    password = (await chat.say("رمزش چی باشه؟ شرط داره؟")).text
    assert "نام" in password and ("کد ملی" in password or "شماره ملی" in password)
    email = (await chat.say("ایمیل هم لازمه؟")).text
    assert "اختیاری" in email or "در صورت تمایل" in email


async def test_1420_hours_friday_and_the_ussd_code(client: SandboxClient) -> None:
    chat = await person(client)
    hours = (await chat.say("۱۴۲۰ ساعت چند تا چند جواب میده؟")).text
    assert "۸" in hours and "۲۰" in hours and "پنجشنبه" in hours
    friday = (await chat.say("جمعه ها چی؟")).text
    assert "جمعه" in friday and "تعطیل" in friday
    ussd = (await chat.say("کد دستوری استعلام بیمه رو هم بگید لطفا")).text
    assert USSD in ussd


async def test_unemployment_then_the_personal_record(client: SandboxClient) -> None:
    chat = await person(client, "رضا")
    reaction = await chat.say("بیکار شدم، بیمه بیکاری بهم تعلق میگیره؟")
    # Two close rule entries offered («did you mean»): a fair question here; the person
    # picks who is entitled.
    choice = next((b for b in reaction.buttons() if "مشمول" in b), None)
    if choice is not None:
        reaction = await chat.tap(choice)
    unemployment = reaction.text
    # The law's test: out of work against one's will (a resignation is not covered).
    assert "بیکار" in unemployment
    assert "اراده" in unemployment or "استعفا" in unemployment
    record = await chat.say("سابقه‌م چقدره که ببینم")
    assert VERIFY_ASKED in record.text
    await chat.share(REZA)
    await chat.say(REZA[0])
    text = await chat.wait_for("سابقهٔ کل شما")
    # demo/personas.py: Reza paid every month from 1385/07 to three years ago.
    assert total_days((1385, 7), (this_month()[0] - 3, this_month()[1])) in text


# --- complaints, topic switches and tracking ----------------------------------------------


async def test_complaint_interrupted_by_a_question_then_given_up(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    asked = (await chat.say("از شعبه شکایت دارم، کارمنده باهام بد برخورد کرد")).text
    assert CATEGORY_ASKED in asked
    sara = await chat.say("راستی دخترم بیمه درمانی داره؟")
    assert SARA in sara.text and COVERED in sara.text
    assert BTN_RESUME in sara.buttons()
    back = (await chat.tap(BTN_RESUME)).text
    assert "کدام موضوع" in back
    left = (await chat.say("ولش کن")).text
    assert FLOW_LEFT in left


async def test_complaint_with_arabic_letters_tracked_in_mixed_digits(
    client: SandboxClient,
) -> None:
    chat = await verified(client, REZA, "رضا")
    code = await file_a_complaint(
        chat,
        "ميخوام از كارفرمام شكايت كنم",
        "کارفرما دو ساله حق بیمه منو رد نکرده و جواب تلفن هم نمیده، لطفا پیگیری کنید",
    )
    tracked = (await chat.say(f"کد {mixed_digits(code)} چی شد؟")).text
    assert f"درخواست {code}" in tracked and "ثبت شده، در نوبت بررسی" in tracked
    listed = (await chat.say("شکایتهام چی شدن")).text
    assert code in listed


async def test_tracking_code_without_the_dash(client: SandboxClient) -> None:
    chat = await verified(client, MARYAM, "مریم")
    code = await file_a_complaint(
        chat,
        "یه شکایت دارم",
        "حق بیمه اسفند پارسال توی سوابقم نیومده ولی کار کردم و فیشش رو دارم",
    )
    bare = code.replace("-", " ")
    tracked = (await chat.say(f"پیگیری {bare}")).text
    assert code in tracked and "ثبت شده، در نوبت بررسی" in tracked
    latin = code.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    again = (await chat.say(f"salam, vaziate {latin} chi shod?")).text
    assert f"درخواست {code}" in again


# --- a person, in anger --------------------------------------------------------------------


async def test_angry_user_wants_a_real_person(client: SandboxClient) -> None:
    chat = await person(client)
    angry = await chat.say(
        "این چه وضعشه؟! سه بار زنگ زدم ۱۴۲۰ کسی جواب نداد. یه آدم واقعی میخوام نه ربات!!"
    )
    code = handed_to_a_person(angry)
    # Out of hours the ticket's answer time, in the queue the wait: either way about the 1420
    # agents, not «out of my scope».
    wait = (await chat.say("حالا تا کی باید منتظر بمونم؟")).text
    assert OUT_OF_SCOPE not in wait
    assert "کارشناس" in wait or "موعد پاسخ" in wait
    if code:
        tracked = (await chat.say(f"پیگیری {mixed_digits(code)}")).text
        assert f"درخواست {code}" in tracked


async def test_insult_then_operator(client: SandboxClient) -> None:
    chat = await person(client)
    first = (await chat.say("ربات به درد نخور، هیچی نمیفهمی")).text
    assert "Traceback" not in first and first
    operator = await chat.say("وصلم کن به یه کارشناس")
    handed_to_a_person(operator)
    thanks = (await chat.say("ممنون")).text
    assert "خواهش می‌کنم" in thanks or "کارشناس" in thanks
