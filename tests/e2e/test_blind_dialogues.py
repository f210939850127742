"""Blind dialogues: how people really write, against the real ``tamin-bot run`` over HTTP.

Written without looking at the NLU's training data: colloquial, misspelt, Arabic ي and ك,
Persian, Arabic-Indic and Latin digits, Finglish, elderly politeness, a story before the
question; follow-ups that lean on the previous turn, two questions in one message, topic
switches inside a flow, anger, out-of-scope questions between domain ones, rule questions with
a follow-up, verification edge cases. Every expectation comes from the demo personas' registry
rows (``demo/personas.py``: computed from the product's today, tests/e2e/conftest.py), ``config.yml``,
the text catalogue (``bot/texts.py``) and the knowledge base, never from what the bot happened
to say. A turn the bot gets wrong keeps its test, marked ``xfail(strict=True)`` with the reason.
The personal and family dialogues are here; rules, out of scope, handoff and verification are
in ``test_blind_dialogues_rules.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest

from demo.rows import monthly_wage
from persian.digits import to_persian_digits
from persian.jalali import (
    format_jalali,
    format_jalali_long,
    format_jalali_month,
    jalali_month_end,
    jalali_month_length,
    previous_jalali_month,
    to_jalali,
)
from persian.money import format_rial
from sandbox import SandboxClient
from sandbox.client import Reaction
from services.settings import Settings
from tests.e2e.conftest import HASSAN, MARYAM, REZA, ZAHRA, product_today
from tests.e2e.test_dialogues import BTN_INSURANCE, BTN_YES, PERSIAN_TICKET_CODE, Chat

pytestmark = pytest.mark.e2e

# A person reads the answer before typing the next line. The bot's flood limit (eight updates
# of one user in four seconds, bot.flood_limit) is raised for the e2e product
# (tests/e2e/conftest.py), so the scripted user need not wait between turns.
PAUSE_S = 0.0

VERIFIED = "هویت شما تأیید شد"
ASK_VERIFY = "باید هویت شما را تأیید کنم"
ASK_ID = "کد ملی ده‌رقمی"
COVERED = "حمایت درمانی دارد"
NOT_COVERED = "حمایت درمانی ندارد"
OUT_OF_SCOPE = "از کارهای من بیرون است"
HANDOFF = "درخواست شما برای گفتگو با کارشناس"
FLOW_LEFT = "کار نیمه‌تمام را کنار گذاشتم"
LAST_RECORD = "آخرین سابقهٔ ثبت‌شدهٔ شما"
TOTAL_RECORD = "سابقهٔ کل شما"
BTN_MEDICAL = "🏥 امور درمانی"
BTN_OTHER = "📌 سایر موارد"
BTN_SKIP_ATTACHMENT = "بدون پیوست ادامه می‌دهم"
BTN_RESUME = "↩️ بازگشت به ادامهٔ کار قبلی"
FOOD_COMPANY = "شرکت صنایع غذایی نمونه پارس"
BUILDER_COMPANY = "شرکت ساختمانی البرز بنا"
ARABIC_INDIC = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")


class Person(Chat):
    """A chat whose user pauses before each action, as a person does."""

    async def say(self, text: str) -> Reaction:
        await asyncio.sleep(PAUSE_S)
        return await super().say(text)

    async def tap(self, text: str) -> Reaction:
        await asyncio.sleep(PAUSE_S)
        return await super().tap(text)

    async def contact(
        self, mobile: str, *, own: bool = True, owner: int | None = None
    ) -> Reaction:
        await asyncio.sleep(PAUSE_S)
        return await super().contact(mobile, own=own, owner=owner)

    async def after_verification(self, needle: str) -> str:
        """What the bot wrote after «هویت شما تأیید شد», once ``needle`` is in it."""
        text = await self.wait_for(needle)
        after = text[text.rindex(VERIFIED) :]
        assert needle in after, after
        return after


async def person(
    client: SandboxClient, name: str, persona: tuple[str, str] | None = None
) -> Person:
    user = await client.create_user(name)
    chat = Person(client, int(user["id"]), "telegram")
    if persona is not None:
        await chat.verify(persona)
    return chat


@dataclass(frozen=True)
class Facts:
    """What the demo registry holds today (demo/personas.py, config.yml)."""

    jy: int
    jm: int
    maryam_until: dt.date
    zahra_until: dt.date
    hassan_until: dt.date
    reza_last: tuple[int, int]
    maryam_total_days: int

    def back(self, months: int) -> tuple[int, int]:
        return previous_jalali_month(self.jy, self.jm, months)


def today_facts(settings: Settings) -> Facts:
    # The product's day, the one its demo data was loaded for; not the machine's, which may
    # have passed Tehran's midnight since (tests/e2e/conftest.py).
    today = product_today()
    jy, jm, _ = to_jalali(today)
    grace = dt.timedelta(days=settings.config.eligibility.grace_days_after_last_paid_month)
    last = previous_jalali_month(jy, jm)
    # Maryam: every month from 1395/01 through last month, full days.
    total, (y, m) = 0, (1395, 1)
    while (y, m) <= last:
        total += jalali_month_length(y, m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return Facts(
        jy=jy,
        jm=jm,
        maryam_until=jalali_month_end(*last) + grace,
        zahra_until=jalali_month_end(jy, jm) + grace,
        hassan_until=today
        + dt.timedelta(days=settings.config.eligibility.pensioner_coverage_days),
        reza_last=(jy - 3, jm),
        maryam_total_days=total,
    )


@pytest.fixture(scope="module")
def facts(settings: Settings) -> Facts:
    return today_facts(settings)


def month(ym: tuple[int, int]) -> str:
    return format_jalali_month(*ym)


def has_date(text: str, day: dt.date) -> bool:
    return format_jalali(day) in text or format_jalali_long(day) in text


def slip_net(year: int) -> str:
    """Hassan's net pension of a month of ``year`` (demo/personas.py: 2 % deducted)."""
    gross = monthly_wage(year, None, 1.4)
    return format_rial(gross - gross * 2 // 100)


def block(text: str, who: str) -> str:
    """The part of an eligibility answer about ``who`` (rows start with 👤)."""
    found = [b for b in text.split("👤")[1:] if who in b]
    assert found, f"no row for {who}:\n{text}"
    return found[-1]


def mixed_digits(code: str) -> str:
    """«۱۴۲۰-۱۲۳۴۵۶» typed with every other digit Latin: «1۴2۰-1۲3۴5۶»."""
    out, n = [], 0
    for ch in code:
        if ch.isdigit():
            out.append(str(int(ch)) if n % 2 == 0 else ch)
            n += 1
        else:
            out.append(ch)
    return "".join(out)


# --- Maryam: her children and herself ------------------------------------------------------


async def test_daughter_then_son_then_myself_then_until_when(
    client: SandboxClient, facts: Facts
) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (await chat.say("سلام. دخترم دفترچه اش هنوز اعتبار داره؟")).text
    assert COVERED in block(text, "سارا رضایی (دختر)") and "علی" not in text
    text = (await chat.say("پسرم هم؟")).text
    assert NOT_COVERED in block(text, "علی رضایی (پسر)") and "سارا" not in text
    text = (await chat.say("خودم چی؟")).text
    assert COVERED in block(text, "مریم رضایی (خودتان)") and "علی" not in text
    text = (await chat.say("تا کی؟")).text
    assert has_date(block(text, "مریم رضایی (خودتان)"), facts.maryam_until), text


async def test_the_other_child_why_and_what_to_do(client: SandboxClient) -> None:
    chat = await person(client, "مریم", MARYAM)
    # Arabic ي in «بيمه».
    text = (await chat.say("بيمه دخترم برقراره؟")).text
    assert COVERED in block(text, "سارا رضایی (دختر)")
    text = (await chat.say("اون یکی بچه‌م چی؟")).text
    assert NOT_COVERED in block(text, "علی رضایی (پسر)") and "سارا" not in text
    text = (await chat.say("چرا آخه؟ تازه بیست سالش شده")).text
    assert "گواهی" in text and "دانشگاه" in text
    text = (await chat.say("حالا باید چیکار کنم دوباره بیمه بشه؟")).text
    assert "شعبه" in text and "گواهی" in text


async def test_two_questions_then_the_total_then_goodbye(
    client: SandboxClient, facts: Facts
) -> None:
    chat = await person(client, "مریم", MARYAM)
    # Arabic ك in «كی».
    await chat.say("سلام، بیمه‌م فعاله؟ آخرین پرداختم كی بوده؟")
    text = await chat.wait_for(LAST_RECORD)
    assert COVERED in block(text, "مریم رضایی (خودتان)")
    record = text[text.rindex(LAST_RECORD) :]
    assert month(facts.back(1)) in record and FOOD_COMPANY in record
    text = (await chat.say("کل سابقه‌ام چقدر میشه؟")).text
    assert TOTAL_RECORD in text
    assert f"جمعاً {to_persian_digits(facts.maryam_total_days)} روز" in text
    assert "خدانگهدار" in (await chat.say("مرسی، خدانگهدار")).text


async def test_asked_by_first_names(client: SandboxClient) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (await chat.say("علی بیمه داره؟")).text
    assert NOT_COVERED in block(text, "علی رضایی (پسر)") and "سارا" not in text
    text = (await chat.say("سارا چطور؟")).text
    assert COVERED in block(text, "سارا رضایی (دختر)") and "علی" not in text
    text = (await chat.say("هر دوتاشون تا کی بیمه‌ان؟")).text
    assert "سارا" in text and "علی" in text


async def test_a_story_before_the_question(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (
        await chat.say(
            "سلام وقتتون بخیر. ببخشید من چند وقت پیش از شرکت اومدم بیرون و الان خیلی نگرانم، "
            "میخواستم بدونم هنوز بیمه دارم یا نه"
        )
    ).text
    assert COVERED in block(text, "مریم رضایی (خودتان)")
    text = (await chat.say("تا کی؟")).text
    assert has_date(text, facts.maryam_until), text
    text = (await chat.say("بعد از اون بچه‌هام هم بیمه ندارن دیگه؟")).text
    assert "سارا" in text and "علی" in text


async def test_conditions_for_parents_and_husband(client: SandboxClient) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (await chat.say("میخوام مادرم رو زیر پوشش بیمه خودم ببرم، شرایطش چیه؟")).text
    assert "مادر از ۵۵ سالگی" in text
    text = (await chat.say("پدرم چی؟")).text
    assert "پدر از ۶۰ سالگی" in text and "مادر از" not in text
    # She is a woman: her spouse is a husband, covered from 60 or if disabled.
    text = (await chat.say("همسرم چی؟")).text
    assert "همسر (شوهر)" in text and "۶۰" in text


async def test_complaint_detour_resume_and_tracking_in_mixed_digits(
    client: SandboxClient, facts: Facts
) -> None:
    chat = await person(client, "مریم", MARYAM)
    assert "کدام موضوع" in (await chat.say("میخوام یه شکایت ثبت کنم")).text
    detour = await chat.say("راستی قبلش بگو آخرین سابقه‌ام کی ثبت شده؟")
    assert LAST_RECORD in detour.text and month(facts.back(1)) in detour.text
    assert "کدام موضوع" in (await chat.tap(BTN_RESUME)).text
    assert "شرح شکایت" in (await chat.tap(BTN_INSURANCE)).text
    await chat.say("کارفرما دو ماهه حق بیمه منو کامل رد نکرده و فقط ده روز زده")
    await chat.tap(BTN_SKIP_ATTACHMENT)
    filed = (await chat.tap(BTN_YES)).text
    match = PERSIAN_TICKET_CODE.search(filed)
    assert match, filed
    tracked = (await chat.say(f"پیگیری {mixed_digits(match.group(0))}")).text
    assert f"درخواست {match.group(0)}" in tracked and "امور بیمه‌ای" in tracked


async def test_angry_about_the_son_then_a_person(client: SandboxClient) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (await chat.say("پسرم چرا بیمه نداره؟؟ این چه وضعیه!")).text
    assert NOT_COVERED in block(text, "علی رضایی (پسر)") and "گواهی" in text
    text = (await chat.say("مسخره کردین؟ پسرم دانشجوئه! یه اپراتور بده من")).text
    assert HANDOFF in text


# --- Hassan: the pensioner -----------------------------------------------------------------


async def test_payslip_of_a_named_month_then_the_month_before(
    client: SandboxClient, facts: Facts
) -> None:
    chat = await person(client, "حسن", HASSAN)
    named = facts.back(2)
    text = (await chat.say(f"فیش حقوق {month(named).split()[0]} ماهم رو میخواستم")).text
    assert f"فیش مستمری {month(named)}" in text and slip_net(named[0]) in text
    before = facts.back(3)
    text = (await chat.say("ماه قبلش چی؟")).text
    assert f"فیش مستمری {month(before)}" in text
    text = (await chat.say("خانمم چی، بیمه اش برقراره؟")).text
    assert COVERED in block(text, "فاطمه کریمی")


async def test_elderly_politeness_last_pension(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "حسن", HASSAN)
    text = (
        await chat.say(
            "سلام علیکم. بنده بازنشستهٔ تأمین اجتماعی هستم، سی سال کار کردم. خواستم ببینم "
            "حقوق ماه گذشته‌ام چقدر واریز شده؟"
        )
    ).text
    last = facts.back(1)
    assert f"فیش مستمری {month(last)}" in text and slip_net(last[0]) in text
    text = (await chat.say("خدا خیرتان بدهد. سوابق بیمه‌ام را هم می‌شود ببینم؟")).text
    assert "مستمری‌بگیر هستید" in text
    assert "خواهش می‌کنم" in (await chat.say("دست شما درد نکند")).text


async def test_pensioner_two_requests_then_until_when(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "حسن", HASSAN)
    await chat.say("فیش این ماهمو بفرست، یه سوالم داشتم خانمم بیمه داره؟")
    text = await chat.wait_for("فاطمه")
    assert "فیش مستمری" in text and COVERED in block(text, "فاطمه کریمی")
    text = (await chat.say("خودم تا کی بیمه‌ام؟")).text
    assert has_date(text, facts.hassan_until), text


async def test_who_is_under_my_cover(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "حسن", HASSAN)
    text = (await chat.say("کیا زیر پوشش بیمه من هستن؟")).text
    assert "فاطمه" in text and COVERED in text
    text = (await chat.say("خودم چی؟")).text
    assert COVERED in block(text, "حسن کریمی (خودتان)")
    text = (await chat.say("تا کی؟")).text
    assert has_date(text, facts.hassan_until), text


async def test_family_list_then_until_when(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "مریم", MARYAM)
    text = (await chat.say("کیا زیر پوشش بیمه من هستن؟")).text
    assert COVERED in block(text, "سارا رضایی (دختر)")
    assert NOT_COVERED in block(text, "علی رضایی (پسر)")
    text = (await chat.say("تا کی؟")).text
    assert has_date(block(text, "سارا رضایی (دختر)"), facts.maryam_until), text
    text = (await chat.say("پسرم چرا نداره؟")).text
    assert "گواهی" in block(text, "علی رضایی (پسر)")


async def test_complaint_tracked_with_arabic_digits(client: SandboxClient) -> None:
    chat = await person(client, "حسن", HASSAN)
    assert "کدام موضوع" in (await chat.say("یه شکایت دارم از شعبه")).text
    assert "شرح شکایت" in (await chat.tap(BTN_OTHER)).text
    await chat.say("دو بار رفتم شعبه برای حکم بازنشستگی، هر بار گفتن فردا بیا")
    await chat.tap(BTN_SKIP_ATTACHMENT)
    filed = (await chat.tap(BTN_YES)).text
    match = PERSIAN_TICKET_CODE.search(filed)
    assert match, filed
    code = match.group(0)
    tracked = (await chat.say(f"كد پيگيري {code.translate(ARABIC_INDIC)} چي شد؟")).text
    assert f"درخواست {code}" in tracked and "ثبت شده، در نوبت بررسی" in tracked


# --- Reza: not covered, three years without contributions ----------------------------------


async def test_pharmacy_story_why_last_record_complaint_then_never_mind(
    client: SandboxClient, facts: Facts
) -> None:
    chat = await person(client, "رضا", REZA)
    text = (await chat.say("دیروز رفتم داروخانه گفتن بیمه‌ات اعتبار نداره. چرا؟")).text
    me = block(text, "رضا کاظمی (خودتان)")
    assert NOT_COVERED in me and month(facts.reza_last) in me
    text = (await chat.say("آخرین بار کارفرما کی بیمه‌ام رو رد کرده؟")).text
    assert LAST_RECORD in text and month(facts.reza_last) in text and BUILDER_COMPANY in text
    asked = await chat.say("میخوام از کارفرمام شکایت کنم")
    assert "کدام موضوع" in asked.text and BTN_INSURANCE in asked.buttons()
    assert FLOW_LEFT in (await chat.say("ولش کن، بعدا")).text


async def test_angry_and_wants_a_human(client: SandboxClient) -> None:
    chat = await person(client, "رضا", REZA)
    text = (await chat.say("بیمه‌ام چرا قطعه؟")).text
    assert NOT_COVERED in block(text, "رضا کاظمی (خودتان)")
    text = (await chat.say("اعصابمو خورد کردین!! یه آدم زنده میخوام باهاش حرف بزنم نه ربات")).text
    assert HANDOFF in text


async def test_unemployed_asks_about_unemployment_then_his_record(client: SandboxClient) -> None:
    chat = await person(client, "رضا", REZA)
    asked = await chat.say("از کار بیکار شدم، بیمه بیکاری بهم تعلق میگیره؟")
    if "نزدیک است" in asked.text:  # a choice between two unemployment entries: tap «who»
        asked = await chat.tap(next(b for b in asked.buttons() if "مشمول" in b))
    assert "بیکار" in asked.text and "استعفا" in asked.text  # who is covered: not on resigning
    # The knowledge base: at most 36 months for a single person, 50 for a married one.
    text = (await chat.say("چند ماه میدن؟")).text
    assert "۳۶ ماه" in text or "۵۰ ماه" in text
    text = (await chat.say("خودم سابقه‌ام چقدره؟")).text
    assert TOTAL_RECORD in text


async def test_is_it_cut_and_if_so_why(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "رضا", REZA)
    await chat.say("بیمه ام قطع شده؟ اگه آره چرا؟")
    text = await chat.wait_for("علت")
    me = block(text, "رضا کاظمی (خودتان)")
    assert NOT_COVERED in me and month(facts.reza_last) in me
    text = (await chat.say("اگه الان کارفرما پرداخت کنه درست میشه؟")).text
    assert "کارفرما" in text and OUT_OF_SCOPE not in text


# --- Zahra: voluntary insured --------------------------------------------------------------


async def test_finglish(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "زهرا", ZAHRA)
    text = (await chat.say("salam, bimam faale?")).text
    assert COVERED in block(text, "زهرا حسینی (خودتان)")
    text = (await chat.say("ta key?")).text
    assert has_date(text, facts.zahra_until), text
    text = (await chat.say("akharin pardakhtam key bude?")).text
    assert LAST_RECORD in text and month((facts.jy, facts.jm)) in text


async def test_my_voluntary_contract(client: SandboxClient, facts: Facts) -> None:
    chat = await person(client, "زهرا", ZAHRA)
    text = (await chat.say("بیمه اختیاریم تا کی پرداخت شده؟")).text
    assert month((facts.jy, facts.jm)) in text or has_date(
        text, jalali_month_end(facts.jy, facts.jm)
    ), text
    text = (await chat.say("شماره قراردادم چنده؟")).text
    assert to_persian_digits(f"{facts.jy - 2}07{ZAHRA[0][-6:]}") in text


async def test_complaint_never_mind_then_a_question(client: SandboxClient) -> None:
    chat = await person(client, "زهرا", ZAHRA)
    assert "کدام موضوع" in (await chat.say("از بیمارستان طرف قرارداد شکایت دارم")).text
    assert "شرح شکایت" in (await chat.tap(BTN_MEDICAL)).text
    assert FLOW_LEFT in (await chat.say("ولش کن اصلا")).text
    text = (await chat.say("بیمه‌ام فعاله؟")).text
    assert COVERED in block(text, "زهرا حسینی (خودتان)")
