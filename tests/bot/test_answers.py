"""Each intent through the real dispatcher, NLU, services and demo data, for each persona."""

from __future__ import annotations

import re

from aiogram.types import InlineKeyboardMarkup

from bot import texts
from bot.keyboards import IntentPick, intent_choices
from tests.bot.conftest import HASSAN, MARYAM, REZA, ZAHRA, ChatDriver, Harness

_PERSIAN_DIGITS = re.compile(r"[۰-۹]")
_ASCII_DIGITS = re.compile(r"[0-9]")


def assert_persian_digits(text: str) -> None:
    """Replies write numbers in Persian digits (URLs and the like aside)."""
    without_urls = re.sub(r"https?://\S+", "", text)
    assert not _ASCII_DIGITS.search(without_urls), without_urls
    assert _PERSIAN_DIGITS.search(without_urls)


async def verified(harness: Harness, persona: tuple[str, str]) -> ChatDriver:
    chat = harness.chat()
    await chat.verify(*persona)
    return chat


# --- eligibility -----------------------------------------------------------------------
async def test_maryam_sees_herself_and_each_dependant(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("استحقاق درمان"))
    assert "کد رهگیری:" in text
    blocks = text.split("👤")[1:]
    assert len(blocks) == 3
    me, *children = blocks
    assert "مریم رضایی (خودتان)" in me and "حمایت درمانی دارد" in me
    assert "تاریخ پایان اعتبار استحقاق درمان: ۱۴۰۳/" in me
    sara = next(b for b in children if "سارا" in b)
    ali = next(b for b in children if "علی" in b)
    assert "حمایت درمانی دارد" in sara
    assert "حمایت درمانی ندارد" in ali
    assert "گواهی" in ali and "شعبه" in ali
    assert "۱۴۲۰" in text
    assert_persian_digits(text)


async def test_a_question_about_one_relative_answers_for_that_relative(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("پسرم حمایت درمانی داره؟"))
    assert "علی رضایی (پسر)" in text
    assert "حمایت درمانی ندارد" in text
    assert "سارا" not in text and "(خودتان)" not in text
    text = chat.joined(await chat.send("همسرم تحت پوشش درمانه؟"))
    assert "فردی با نسبت «همسر»" in text


async def test_reza_is_not_covered_and_told_why(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    text = chat.joined(await chat.send("استحقاق درمان"))
    assert "رضا کاظمی (خودتان)" in text
    assert "حمایت درمانی ندارد" in text
    assert "حق بیمه‌ای پس از" in text
    assert "کارفرما" in text


async def test_hassan_and_his_wife_are_covered(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("استحقاق درمان"))
    assert text.count("حمایت درمانی دارد") == 2
    assert "فاطمه" in text and "همسر (زن)" in text


async def test_zahra_voluntary_is_covered(harness: Harness) -> None:
    chat = await verified(harness, ZAHRA)
    text = chat.joined(await chat.send("🩺 استحقاق درمان"))
    assert "زهرا حسینی (خودتان)" in text
    assert "حمایت درمانی دارد" in text


# --- records ---------------------------------------------------------------------------
async def test_last_contribution_and_total_record(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("📄 آخرین سابقه"))
    assert "شرکت صنایع غذایی نمونه پارس" in text
    assert "تیر ۱۴۰۳" in text  # the month before today (Mordad 1403)
    assert "ریال" in text and "تومان" in text
    assert_persian_digits(text)
    text = chat.joined(await chat.send("سابقه کل بیمه‌ام چند ساله؟"))
    assert "سابقهٔ کل شما" in text
    assert "سال ۱۴۰۳:" in text and "سال ۱۳۹۵:" in text
    assert_persian_digits(text)


async def test_reza_last_record_is_stale(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    text = chat.joined(await chat.send("📄 آخرین سابقه"))
    assert "مرداد ۱۴۰۰" in text
    assert "۳۶ ماه پیش" in text


async def test_pensioner_is_told_what_records_he_can_see(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("📄 آخرین سابقه"))
    assert "مستمری‌بگیر هستید" in text


# --- pension ---------------------------------------------------------------------------
async def test_pension_slip_for_a_pensioner(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("فیش حقوقی"))
    assert "فیش مستمری" in text
    assert "خالص پرداختی" in text and "ماه‌های اخیر" in text
    assert text.count("•") == 5
    assert_persian_digits(text)


async def test_pension_slip_for_someone_else(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("💰 فیش مستمری"))
    assert "مستمری‌بگیر نیستید" in text


# --- information (no verification needed) ---------------------------------------------
async def test_information_is_answered_before_verification(harness: Harness) -> None:
    chat = harness.chat()
    # «ثبت نام در سامانه خدمات غیرحضوری» and «تمدید دفترچه» are answered from the knowledge
    # base, their intent's block one button away (tests/bot/test_knowledge.py).
    cases = {
        "شماره تماس ۱۴۲۰": "راه‌های ارتباط با تأمین اجتماعی",
        "بیمه اختیاری": "بیمهٔ اختیاری",
        "راهنما": "کارهایی که می‌توانم برایتان انجام دهم",
        "شرایط اضافه کردن همسر": "کدام عضو خانواده",
    }
    for question, expected in cases.items():
        text = chat.joined(await chat.send(question))
        assert expected in text, question
        assert "باید هویت شما را تأیید کنم" not in text, question


async def test_contact_info_says_1420_is_open_now(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("☎️ راه‌های ارتباطی"))
    assert "شنبه تا چهارشنبه ۰۸:۰۰ تا ۲۰:۰۰؛ پنجشنبه ۰۸:۰۰ تا ۱۶:۰۰" in text
    assert "هم‌اکنون کارشناسان ۱۴۲۰ پاسخ‌گو هستند" in text  # Saturday 10:00
    assert "*۱۴۲۰*۴#" in text


async def test_contact_info_out_of_hours_gives_the_next_opening(harness: Harness) -> None:
    import datetime as dt

    harness.clock.set(dt.datetime(2024, 8, 2, 12, 0))  # Friday
    chat = harness.chat()
    text = chat.joined(await chat.send("شماره تماس ۱۴۲۰"))
    assert "خارج از ساعت پاسخ‌گویی" in text
    assert "ساعت ۰۸:۰۰ روز ۱۳ مرداد ۱۴۰۳" in text


async def test_voluntary_rules_and_an_estimate_for_a_typed_wage(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("بیمه اختیاری")
    text = chat.joined(calls)
    assert "۲۰ روز" in text and "۲۷ درصد" in text
    calls = await chat.click(texts.BTN_VOLUNTARY_ESTIMATE)
    assert "دستمزد مبنای ماهانه" in chat.joined(calls)
    assert any(c.name == "answerCallbackQuery" for c in calls)
    text = chat.joined(await chat.send("حدودا بیست"))
    assert "مبلغ را متوجه نشدم" in text
    text = chat.joined(await chat.send("۵ میلیون تومان"))
    assert "کمتر از حداقل دستمزد مبنا" in text
    text = chat.joined(await chat.send("۲۰ میلیون تومان"))
    # 27 % of 200,000,000 Rial = 54,000,000 Rial = 5,400,000 Toman.
    assert "۵۴٬۰۰۰٬۰۰۰ ریال (۵٬۴۰۰٬۰۰۰ تومان)" in text
    assert "مهلت پرداخت تا" in text
    # The flow is over: the next text is understood as a new question.
    text = chat.joined(await chat.send("سلام"))
    assert "وقت شما بخیر" in text


async def test_voluntary_estimate_from_the_question_itself(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("حق بیمه اختیاری با دستمزد ۲۰ میلیون تومان چقدره؟"))
    assert "۵۴٬۰۰۰٬۰۰۰ ریال" in text


# --- small talk, help, out of scope, unsure --------------------------------------------
async def test_small_talk(harness: Harness) -> None:
    chat = harness.chat(first_name="رضا")
    assert "سلام رضا" in chat.joined(await chat.send("سلام"))
    assert "خواهش می‌کنم" in chat.joined(await chat.send("ممنون"))
    assert "خدانگهدار" in chat.joined(await chat.send("خداحافظ"))
    calls = await chat.send("/help")
    assert "کارهایی که می‌توانم" in chat.joined(calls)
    assert texts.BTN_HUMAN.split()[-1] not in calls[-1].buttons()
    assert "📝 ثبت شکایت" in calls[-1].buttons()
    assert "منوی اصلی" in chat.joined(await chat.send("/menu"))


async def test_out_of_scope_says_what_the_bot_can_do(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("هوای تهران فردا چطوره؟")
    assert "از کارهای من بیرون است" in chat.joined(calls)
    # Neither the classifier nor the knowledge base could answer: a human is on offer at once.
    assert calls[-1].buttons() == [texts.BTN_HUMAN]
    calls = await chat.send("قیمت سکه")
    assert texts.BTN_HUMAN in calls[-1].buttons()


UNSURE_CANDIDATES = ("بیمه", "بیمه من", "سوال دارم درباره بیمه", "ثبت", "درخواست", "فرم")


async def test_unsure_offers_two_guesses_then_a_human(harness: Harness) -> None:
    nlu = harness.deps.nlu
    unsure = [t for t in UNSURE_CANDIDATES if nlu.parse(t).fallback or nlu.parse(t).ambiguous]
    assert unsure, "no candidate leaves the NLU unsure any more; add one"
    chat = harness.chat()
    calls = await chat.send(unsure[0])
    assert "مطمئن نیستم" in chat.joined(calls)
    markup = calls[-1].markup
    assert isinstance(markup, InlineKeyboardMarkup)
    picks = [IntentPick.unpack(d) for d in calls[-1].callback_data() if d.startswith("in:")]
    assert len(picks) == 2
    assert texts.BTN_NONE_OF_THESE in calls[-1].buttons()
    # A second miss in a row offers a human.
    calls = await chat.send(unsure[0])
    assert texts.BTN_HUMAN in calls[-1].buttons()
    # Pressing a guess runs that intent (information intents answer at once).
    calls = await chat.press(IntentPick(intent="contact_info").pack())
    assert "راه‌های ارتباط" in chat.joined(calls)
    assert any(c.name == "answerCallbackQuery" for c in calls)


async def test_guess_button_keeps_the_relative_the_message_named(harness: Harness) -> None:
    """Regression: a "did you mean" button dropped «پسرم» and listed the whole family."""
    keyboard = intent_choices(["check_eligibility", "add_dependent"], "son")
    packed = [b.callback_data for row in keyboard.inline_keyboard for b in row if b.callback_data]
    assert IntentPick.unpack(packed[0]) == IntentPick(intent="check_eligibility", relation="son")
    assert all(len(d.encode()) <= 64 for d in packed)
    chat = await verified(harness, MARYAM)
    calls = await chat.press(IntentPick(intent="check_eligibility", relation="son").pack())
    answer = chat.joined(calls)
    assert "علی رضایی (پسر)" in answer and "حمایت درمانی ندارد" in answer
    assert "سارا" not in answer and "(خودتان)" not in answer


async def test_none_of_these_asks_to_rephrase(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.press("nx")
    assert "با جملهٔ دیگری بنویسید" in chat.joined(calls)
    assert [c.name for c in calls].count("answerCallbackQuery") == 1


# --- human -----------------------------------------------------------------------------
async def test_human_agent_files_a_ticket_and_says_so(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("میخوام با اپراتور صحبت کنم"))
    match = re.search(r"کد رهگیری (۱۴۲۰-[۰-۹]{6})", text)
    assert match, text
    assert "کارشناسان تا" in text
    # The ticket is the user's: tracking it by code works.
    text = chat.joined(await chat.send(f"پیگیری {match.group(1)}"))
    assert "سایر موارد" in text and "ثبت شده، در نوبت بررسی" in text
