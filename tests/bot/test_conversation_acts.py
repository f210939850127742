"""What a message does besides naming a task (``bot.acts``) and the follow-ups the second blind
set found, each in several phrasings (tests/e2e/test_blind_dialogues2*.py keeps the dialogues):
a question announced, a no typed at a confirmation, a person asked for mid-flow, thanks and
goodbye at once, «what now?» on a step, one's own cover asked in a rule's words, «هم … هم»,
a family member named by first name, «how do I add them?» after a relative, the total after the
last record, and the month asked being the last on record.
"""

from __future__ import annotations

import re

import pytest

from bot import texts
from bot.acts import correlative_parts, is_exit
from bot.keyboards import CategoryPick
from tests.bot.conftest import HASSAN, MARYAM, REZA, ChatDriver, Harness

LAST_RECORD = "آخرین سابقهٔ ثبت‌شدهٔ شما"
TOTAL_RECORD = "سابقهٔ کل شما"
TICKET_CODE = re.compile(r"۱۴۲۰-[۰-۹]{6}")


async def verified(harness: Harness, persona: tuple[str, str]) -> ChatDriver:
    chat = harness.chat()
    await chat.verify(*persona)
    return chat


def lead(template: str) -> str:
    """The words of a catalogue text before its first placeholder."""
    return template.split("{")[0].strip()


# --- a question announced before it is asked -----------------------------------------------
@pytest.mark.parametrize(
    "announce",
    [
        "ببخشید یه سوال داشتم",
        "میخواستم یه چیزی بپرسم",
        "ye soal dashtam",
        "میشه یه سوال بپرسم؟",
        "سلام وقت بخیر، سوالی داشتم",
        "ببخشید، یه سوال",
        "سلام خسته نباشید، یه سوال از خدمتتون داشتم",
        "میخواستم بپرسم",
        "یه کمکی میخواستم",
    ],
)
async def test_a_question_announced_is_invited(harness: Harness, announce: str) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send(announce))
    assert texts.ASK_THE_QUESTION in text
    assert texts.OUT_OF_SCOPE not in text and texts.UNSURE not in text


async def test_an_announcement_with_the_question_in_it_is_the_question(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("یه سوال داشتم درباره بیمه بیکاری"))
    assert texts.ASK_THE_QUESTION not in text
    # The thread survives an announcement: «تا کی؟» still follows the eligibility answer.
    chat = await verified(harness, MARYAM)
    await chat.send("بیمه‌ام فعاله؟")
    assert texts.ASK_THE_QUESTION in chat.joined(await chat.send("یه سوال دیگه هم داشتم"))
    text = chat.joined(await chat.send("تا کی؟"))
    assert "مریم رضایی (خودتان)" in text and "اعتبار دارد" in text


# --- a no typed at a confirmation ----------------------------------------------------------
async def to_ticket_confirmation(chat: ChatDriver) -> None:
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="medical").pack())
    await chat.send("بیمارستان با اینکه بیمه‌ام برقرار بود گفت استحقاق نداری و آزاد حساب کرد")
    await chat.click(texts.BTN_SKIP_ATTACHMENT)


@pytest.mark.parametrize(
    "no", ["نه ثبت نکن", "خیر", "نخیر", "نه پشیمون شدم", "نه نمیخوام ثبت بشه"]
)
async def test_a_typed_no_drops_the_complaint(harness: Harness, no: str) -> None:
    chat = await verified(harness, MARYAM)
    await to_ticket_confirmation(chat)
    text = chat.joined(await chat.send(no))
    assert texts.TICKET_CANCELLED in text and not TICKET_CODE.search(text)
    text = chat.joined(await chat.send("🔎 پیگیری درخواست"))
    assert "هنوز شکایت" in text


async def test_a_typed_yes_still_asks_for_the_button(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    await to_ticket_confirmation(chat)
    text = chat.joined(await chat.send("آره ثبت کن"))
    assert texts.PLEASE_USE_BUTTONS in text and not TICKET_CODE.search(text)


async def test_a_typed_no_drops_the_dependant_request(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    await chat.send("پسرم ۱۵ سالشه میخوام بیارمش زیر بیمه خودم")
    await chat.click("📝 ثبت درخواست افزودن")
    await chat.send("0274158361")
    await chat.send("۵ مهر ۱۳۹۰")
    text = chat.joined(await chat.send("نه پشیمون شدم"))
    assert texts.DEPENDANT_CANCELLED in text and "کد رهگیری" not in text


# --- a person asked for in the middle of a flow ---------------------------------------------
@pytest.mark.parametrize(
    "person",
    [
        "اصلا نمیخوام بنویسم، میخوام با یه آدم حرف بزنم",
        "نمیخوام تایپ کنم، وصلم کن به کارشناس",
        "با اپراتور صحبت کنم",
    ],
)
async def test_a_person_asked_for_at_the_description_step(harness: Harness, person: str) -> None:
    chat = await verified(harness, MARYAM)
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="insurance").pack())
    text = chat.joined(await chat.send(person))
    assert "کارشناس" in text
    assert lead(texts.ASK_TICKET_ATTACHMENT) not in text
    # The complaint was left for the person: nothing to resume.
    assert texts.RESUME_OFFER not in text


async def test_a_description_that_mentions_a_person_is_the_description(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="insurance").pack())
    text = chat.joined(
        await chat.send(
            "کارمند شعبه گفت برو با رئیس شعبه حرف بزن ولی رئیس هم جواب درستی نداد و گفت "
            "فردا بیا، سه بار رفتم و کارم انجام نشد"
        )
    )
    assert lead(texts.ASK_TICKET_ATTACHMENT) in text


# --- thanks and goodbye at once ---------------------------------------------------------------
@pytest.mark.parametrize("bye", ["kheili mamnoon, khodahafez", "mamnoon khodafez"])
async def test_thanks_and_goodbye_at_once_is_a_goodbye(harness: Harness, bye: str) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send(bye))
    assert texts.GOODBYE in text and texts.UNSURE not in text
    # Inside a flow it leaves the flow.
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="insurance").pack())
    assert texts.FLOW_LEFT in chat.joined(await chat.send(bye))


# --- «what now?» on a step ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "what_now", ["پس الان باید چیکار کنم؟", "الان چیکار کنم؟", "چه باید کرد؟"]
)
async def test_what_now_after_a_mismatch_is_the_branch(harness: Harness, what_now: str) -> None:
    chat = harness.chat()
    await chat.share_contact(HASSAN[1])  # a father's phone, the daughter's national ID
    text = chat.joined(await chat.send(MARYAM[0]))
    assert "عدم تطابق" in text
    text = chat.joined(await chat.send(what_now))
    assert texts.MISMATCH_INSTRUCTION in text and texts.STEP_NOT_AN_ANSWER not in text
    # Still at the step: the right pair verifies.
    other = harness.chat()
    await other.share_contact(MARYAM[1])
    assert "هویت شما تأیید شد" in other.joined(await other.send(MARYAM[0]))


async def test_what_now_on_another_step_is_its_question(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    await chat.send("پسرم ۱۵ سالشه میخوام بیارمش زیر بیمه خودم")
    await chat.click("📝 ثبت درخواست افزودن")
    text = chat.joined(await chat.send("حالا باید چیکار کنم؟"))
    assert texts.STEP_HELP_LEAD.split("(")[0].strip() in text and "کد ملی" in text
    assert texts.MISMATCH_INSTRUCTION not in text


# --- one's own cover asked in a rule's words ------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "پس با این حساب دفترچه‌م اعتبار نداره دیگه؟",
        "دفترچم باطل شده؟",
        "دفترچه‌ام اعتبارش تموم شده؟",
    ],
)
async def test_my_booklet_valid_is_my_cover(harness: Harness, question: str) -> None:
    chat = await verified(harness, REZA)
    text = chat.joined(await chat.send(question))
    assert "رضا کاظمی (خودتان)" in text and "حمایت درمانی ندارد" in text


async def test_how_to_renew_my_booklet_is_still_the_rule(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    text = chat.joined(await chat.send("چطوری دفترچه‌م رو تمدید کنم؟"))
    assert "رضا کاظمی (خودتان)" not in text and "دفترچه" in text


async def test_a_pensioner_asks_if_his_booklet_is_valid(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("من که بازنشسته‌ام دفترچه‌م اعتبار داره؟"))
    assert "حسن کریمی (خودتان)" in text and "حمایت درمانی دارد" in text


# --- «هم X هم Y» -------------------------------------------------------------------------------------
def test_correlative_parts_need_a_leading_and_a_second_ham() -> None:
    assert correlative_parts("هم سابقه کلمو بگو هم ببین دخترم بیمه داره") == [
        "سابقه کلمو بگو",
        "ببین دخترم بیمه داره",
    ]
    assert correlative_parts("دخترم هم بیمه داره") == []
    assert correlative_parts("هم دخترم بیمه داره") == []
    # The exits moved with the acts, unchanged.
    assert is_exit("ولش کن، بعدا") and not is_exit("عکس نمیخوام")


async def test_two_requests_joined_by_ham_ham(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("هم سابقه کلمو بگو هم ببین دخترم بیمه داره"))
    assert TOTAL_RECORD in text and "سارا رضایی (دختر)" in text and "علی" not in text
    chat = await verified(harness, HASSAN)
    answers = chat.texts(await chat.send("هم فیش ماه پیشمو بده هم ببین خانمم بیمه داره"))
    slip = next(i for i, t in enumerate(answers) if "فیش مستمری" in t)
    wife = next(i for i, t in enumerate(answers) if "فاطمه کریمی" in t)
    assert slip < wife
    # «هم» as "too" is one request.
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("دخترم هم بیمه داره؟"))
    assert "سارا رضایی (دختر)" in text and TOTAL_RECORD not in text


# --- a family member named by first name ------------------------------------------------------------
async def test_a_family_member_named_by_first_name(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    await chat.send("کیا زیر بیمه من هستن؟")
    text = chat.joined(await chat.send("سارا تا کی بیمه‌ست؟"))
    assert "سارا" in text
    # The NLU reads «علی» as a goodbye («یا علی»): the son named after the family's answer.
    text = chat.joined(await chat.send("علی چرا نداره؟"))
    assert "علی رضایی (پسر)" in text and "گواهی" in text and "سارا" not in text
    assert texts.GOODBYE not in text
    text = chat.joined(await chat.send("سارا چی؟"))
    assert "سارا رضایی (دختر)" in text and "علی" not in text
    text = chat.joined(await chat.send("علی تا کی داره؟"))
    assert "علی رضایی (پسر)" in text and "سارا" not in text
    # After an answer about one child only, the other is known by name too.
    chat = await verified(harness, MARYAM)
    assert "سارا رضایی (دختر)" in chat.joined(await chat.send("دخترم بیمه داره؟"))
    text = chat.joined(await chat.send("علی تا کی داره؟"))
    assert "علی رضایی (پسر)" in text and "سارا" not in text


# --- «how do I add them?» after an answer about a relative -------------------------------------------
@pytest.mark.parametrize("how", ["خب چجوری اضافش کنم؟", "خب چطوری اضافش کنم؟", "چجوری ثبتش کنم؟"])
async def test_how_to_add_the_relative_just_asked_about(harness: Harness, how: str) -> None:
    chat = await verified(harness, REZA)
    text = chat.joined(await chat.send("خانمم بیمه درمانی داره؟"))
    assert "ثبت نشده" in text
    text = chat.joined(await chat.send(how))
    assert "همواره" in text and texts.ASK_DEPENDANT_RELATION not in text


async def test_how_to_add_the_father_just_asked_about(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    assert "ثبت نشده" in chat.joined(await chat.send("پدرم بیمه داره؟"))
    text = chat.joined(await chat.send("چجوری اضافش کنم؟"))
    assert lead(texts.DEPENDANT_CONDITIONS["father"]) in text and "۶۰" in text
    assert texts.ASK_DEPENDANT_RELATION not in text
    # «someone else» is not the father again.
    text = chat.joined(await chat.send("میخوام یکی دیگه رو هم اضافه کنم"))
    assert lead(texts.DEPENDANT_CONDITIONS["father"]) not in text
    # Nobody asked about before: which relative.
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("چجوری اضافش کنم؟"))
    assert texts.ASK_DEPENDANT_RELATION in text


# --- the total after the last record ----------------------------------------------------------------
@pytest.mark.parametrize("total", ["کلش چقدر میشه؟", "جمعش چند سال میشه؟"])
async def test_the_total_after_the_last_record(harness: Harness, total: str) -> None:
    chat = await verified(harness, MARYAM)
    assert LAST_RECORD in chat.joined(await chat.send("آخرین سابقمو بگو"))
    text = chat.joined(await chat.send(total))
    assert TOTAL_RECORD in text and texts.OUT_OF_SCOPE not in text


# --- the month asked is the last on record -----------------------------------------------------------
@pytest.mark.parametrize(
    "asked",
    ["کارفرمام بیمه ماه پیش منو رد کرده یا نه؟", "کارفرما حق بیمه ماه گذشته رو واریز کرده؟"],
)
async def test_last_month_asked_is_shown_as_the_last_record(harness: Harness, asked: str) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send(asked))
    assert LAST_RECORD in text
    # The month before it is that month's own record.
    text = chat.joined(await chat.send("ماه قبلش چی؟"))
    assert "روزهای کارکرد" in text and LAST_RECORD not in text
