"""Keeping the thread through the real dispatcher, NLU, services and demo data (issue 14).

Follow-ups on the last answer, several requests in one message, typed exits from a flow, a
request or a sentence where a step expects an ID or an amount, and requests kept across the
verification.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot import texts
from bot.nlu import Understander, Understanding
from tests.bot.conftest import HASSAN, MARYAM, ZAHRA, ChatDriver, Harness

TWO_QUESTIONS = "سلام دو تا سوال داشتم، بیمه‌ام فعاله؟ آخرین پرداختم کی بوده؟"


async def verified(harness: Harness, persona: tuple[str, str]) -> ChatDriver:
    chat = harness.chat()
    await chat.verify(*persona)
    return chat


def _plain(template: str) -> str:
    """The first line of a catalogue text, without its placeholders' surroundings."""
    return template.split("{")[0].split("\n")[0].strip()


# --- follow-ups ---------------------------------------------------------------------------
async def test_follow_ups_lean_on_the_last_eligibility_answer(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("پسرم حمایت درمانی داره؟"))
    assert "علی رضایی (پسر)" in text and "حمایت درمانی ندارد" in text

    text = chat.joined(await chat.send("و دخترم چی؟"))
    assert "سارا رضایی (دختر)" in text and "حمایت درمانی دارد" in text
    assert "علی" not in text and texts.OUT_OF_SCOPE not in text

    text = chat.joined(await chat.send("تا کی؟"))
    assert "سارا رضایی (دختر)" in text and "اعتبار دارد" in text and "۱۴۰" in text

    text = chat.joined(await chat.send("پسرم چی؟"))
    assert "علی رضایی (پسر)" in text and "حمایت درمانی ندارد" in text

    text = chat.joined(await chat.send("چرا؟"))
    assert "علی رضایی (پسر)" in text and "علت:" in text and "گواهی" in text
    assert "اقدام لازم:" in text

    text = chat.joined(await chat.send("اون یکی چی؟"))
    assert "سارا رضایی (دختر)" in text and "علی" not in text and "(خودتان)" not in text


async def test_why_when_everyone_is_covered(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    await chat.send("استحقاق درمان")
    text = chat.joined(await chat.send("چرا؟"))
    assert "حسن کریمی" in text and "فاطمه" in text and "موردی برای توضیح نیست" in text


async def test_the_thread_is_forgotten_after_the_memory_time(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    await chat.send("پسرم حمایت درمانی داره؟")
    harness.clock.advance(dt.timedelta(minutes=11))
    text = chat.joined(await chat.send("تا کی؟"))
    assert "اعتبار دارد" not in text and "سارا" not in text


async def test_an_amount_after_a_voluntary_estimate_is_estimated(harness: Harness) -> None:
    chat = await verified(harness, ZAHRA)
    text = chat.joined(await chat.send("حق بیمه اختیاری با دستمزد ۱۵ میلیون تومان چقدره؟"))
    assert "۴۰٬۵۰۰٬۰۰۰ ریال" in text  # 27 % of 150,000,000 Rial
    text = chat.joined(await chat.send("۲۰ میلیون باشه چی؟"))
    assert "۵۴٬۰۰۰٬۰۰۰ ریال" in text
    # The estimate alone: the rules were given a moment ago.
    assert "۲۰ روز" not in text


async def test_a_month_after_a_payslip_carries_the_topic(harness: Harness) -> None:
    # The `month` entity comes from the NLU of the sibling part; stubbed here on one text.
    understander: Understander = harness.dp["understander"]

    def with_month(text: str) -> Understanding:
        understood = understander(text)
        if text == "مهر رو هم بده":
            month = ({"entity": "month", "value": "1404-07"},)
            return dataclasses.replace(understood, entities=understood.entities + month)
        return understood

    harness.dp["understander"] = with_month
    try:
        chat = await verified(harness, HASSAN)
        assert "فیش مستمری" in chat.joined(await chat.send("فیش حقوقی"))
        text = chat.joined(await chat.send("مهر رو هم بده"))
        assert "فیش مستمری" in text and texts.OUT_OF_SCOPE not in text
    finally:
        harness.dp["understander"] = understander


# --- several requests in one message -----------------------------------------------------
async def test_two_questions_in_one_message_are_both_answered_in_order(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    answers = chat.texts(await chat.send(TWO_QUESTIONS))
    eligibility = next(i for i, t in enumerate(answers) if "استحقاق درمان" in t)
    last = next(i for i, t in enumerate(answers) if "آخرین سابقهٔ ثبت‌شدهٔ شما" in t)
    assert eligibility < last


async def test_two_personal_questions_wait_for_the_verification(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send(TWO_QUESTIONS))
    assert texts.BTN_SHARE_CONTACT in text
    assert "آخرین سابقه" not in text and "استحقاق درمان" not in text
    await chat.share_contact(MARYAM[1])
    answers = chat.texts(await chat.send(MARYAM[0]))
    assert "هویت شما تأیید شد" in answers[0]
    eligibility = next(i for i, t in enumerate(answers) if "استحقاق درمان" in t)
    last = next(i for i, t in enumerate(answers) if "آخرین سابقهٔ ثبت‌شدهٔ شما" in t)
    assert eligibility < last


# --- exits and requests inside a flow ------------------------------------------------------
async def test_typed_exits_leave_every_flow(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    for start, exit_word in (
        ("می‌خوام شکایت کنم", "بیخیال"),
        ("می‌خوام شکایت کنم", "انصراف"),
        ("حق بیمه اختیاری", "نه ممنون"),
        ("می‌خوام شکایت کنم", "خداحافظ"),
        ("می‌خوام شکایت کنم", "مرسی"),
    ):
        await chat.send(start)
        if start == "حق بیمه اختیاری":
            await chat.click(texts.BTN_VOLUNTARY_ESTIMATE)
        text = chat.joined(await chat.send(exit_word))
        assert texts.FLOW_LEFT in text, (start, exit_word)
        # Out of the flow: the next message is a request of its own.
        assert "آخرین سابقهٔ ثبت‌شدهٔ شما" in chat.joined(await chat.send("آخرین پرداختم"))


async def test_an_exit_word_is_a_description_of_its_own_only_when_alone(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    await chat.send("می‌خوام شکایت کنم")
    await chat.click(texts.CATEGORY_LABELS["medical"])
    description = "ممنون میشم پیگیری کنید، داروخانه نسخه‌ام را با دفترچه قبول نکرد"
    text = chat.joined(await chat.send(description))
    assert texts.FLOW_LEFT not in text
    assert "پیوست" in text or texts.BTN_SKIP_ATTACHMENT in text


async def test_a_request_inside_a_flow_is_answered_with_a_way_back(harness: Harness) -> None:
    chat = await verified(harness, ZAHRA)
    await chat.send("بیمه اختیاری")
    await chat.click(texts.BTN_VOLUNTARY_ESTIMATE)
    text = chat.joined(await chat.send("شماره تماس ۱۴۲۰ چنده؟"))
    assert "۱۴۲۰" in text and texts.RESUME_OFFER in text
    assert "مبلغ را متوجه نشدم" not in text
    text = chat.joined(await chat.click(texts.BTN_RESUME))
    assert "دستمزد مبنای ماهانه" in text
    text = chat.joined(await chat.send("۲۰ میلیون تومان"))
    assert "۵۴٬۰۰۰٬۰۰۰ ریال" in text


async def test_a_sentence_where_the_national_id_is_expected(harness: Harness) -> None:
    # The issue's own sentence: a request (the model reads a complaint, which starts its flow
    # beside the verification), never "a national ID has 10 digits, you wrote 1".
    other = harness.chat()
    await other.send("استحقاق درمان")
    await other.share_contact(MARYAM[1])
    text = other.joined(await other.send("کارفرمام ۳ ساله بیمه منو رد نکرده"))
    assert "رقم نوشته‌اید" not in text and "ده رقم باشد" not in text
    # A personal request typed at the national-ID step is kept for after verification.
    chat = harness.chat()
    await chat.send("استحقاق درمان")
    await chat.share_contact(MARYAM[1])
    text = chat.joined(await chat.send("راستی آخرین پرداخت بیمه‌ام کی بوده؟"))
    assert "رقم نوشته‌اید" not in text and "ده رقم باشد" not in text
    assert "نگه داشتم" in text and "کد ملی ده‌رقمی" in text
    text = chat.joined(await chat.send("سلام خوبین چطورین امروز"))
    assert texts.STEP_NOT_AN_ANSWER in text and "کد ملی ده‌رقمی" in text
    # A wrong number is still explained as a national ID.
    assert "رقم نوشته‌اید" in chat.joined(await chat.send("123"))
    answers = chat.texts(await chat.send(MARYAM[0]))
    assert "هویت شما تأیید شد" in answers[0]
    # Both kept requests, in the order asked, without asking again.
    joined = "\n".join(answers)
    assert "نتیجهٔ استعلام استحقاق درمان" in joined
    assert "آخرین سابقهٔ ثبت‌شدهٔ شما" in joined


async def test_every_personal_intent_is_answered_right_after_verification(
    harness: Harness,
) -> None:
    for question, persona, expected in (
        ("استحقاق درمان", MARYAM, "نتیجهٔ استعلام استحقاق درمان"),
        ("آخرین پرداختم کی بوده", MARYAM, "آخرین سابقهٔ ثبت‌شدهٔ شما"),
        ("سابقه کل بیمه‌ام چقدره", MARYAM, "سابقهٔ کل شما"),
        ("فیش حقوقی", HASSAN, "فیش مستمری"),
    ):
        chat = harness.chat()
        await chat.send(question)
        await chat.share_contact(persona[1])
        text = chat.joined(await chat.send(persona[0]))
        assert expected in text, question
