"""What users asked for (issue 14): the family list, tracking by any code, a named month's
payslip, amounts in words, and the topics a personal intent must not answer by accident."""

from __future__ import annotations

import re

from bot import texts
from tests.bot.conftest import HASSAN, MARYAM, REZA, ChatDriver, Harness


async def verified(harness: Harness, persona: tuple[str, str]) -> ChatDriver:
    chat = harness.chat()
    await chat.verify(*persona)
    return chat


# --- the family list -------------------------------------------------------------------
async def test_the_family_list_shows_each_dependant_with_cover_and_an_add_button(
    harness: Harness,
) -> None:
    chat = await verified(harness, MARYAM)
    calls = await chat.send("افراد تحت تکفلم کیان؟")
    text = chat.joined(calls)
    assert "افراد تحت تکفل شما: ۲ نفر" in text
    blocks = text.split("👤")[1:]
    assert len(blocks) == 2  # the dependants only, not Maryam herself
    sara = next(b for b in blocks if "سارا" in b)
    ali = next(b for b in blocks if "علی" in b)
    assert "(دختر)" in sara and "حمایت درمانی دارد" in sara
    assert "(پسر)" in ali and "حمایت درمانی ندارد" in ali
    assert calls[-1].buttons() == [texts.BTN_ADD_DEPENDANT]
    # Adding is the button, not the default: it asks which relation.
    calls = await chat.click(texts.BTN_ADD_DEPENDANT)
    assert "کدام عضو خانواده" in chat.joined(calls)


async def test_the_family_menu_button_lists_the_family(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("👪 افراد تحت تکفل"))
    assert "افراد تحت تکفل شما: ۱ نفر" in text and "فاطمه" in text


async def test_the_family_list_asked_before_verification_is_answered_after_it(
    harness: Harness,
) -> None:
    chat = harness.chat()
    assert "باید هویت شما را تأیید کنم" in chat.joined(await chat.send("افراد تحت تکفلم کیان؟"))
    await chat.share_contact(MARYAM[1])
    text = chat.joined(await chat.send(MARYAM[0]))
    assert "سارا" in text and "علی" in text


async def test_a_named_dependant_answers_just_that_person(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("دخترم سارا تحت پوشش هست؟"))
    assert "سارا" in text and "حمایت درمانی دارد" in text
    assert "علی" not in text and "(خودتان)" not in text


# --- tracking by any code ----------------------------------------------------------------
async def file_dependant_request(chat: ChatDriver) -> str:
    await chat.send("شرایط اضافه کردن پسرم")
    await chat.click(texts.BTN_START_DEPENDANT_REQUEST)
    await chat.send("0499370899")
    await chat.send("۱۳۹۵/۰۲/۱۰")
    text = chat.joined(await chat.click(texts.BTN_YES))
    match = re.search(r"کد رهگیری: ([۰-۹]{10})", text)
    assert match, text
    return match.group(1)


async def test_a_dependant_request_is_found_by_its_code(harness: Harness) -> None:
    chat = await verified(harness, REZA)
    code = await file_dependant_request(chat)
    text = chat.joined(await chat.send(f"کد رهگیری {code} چی شد؟"))
    assert f"درخواست {code}" in text
    assert "افزودن پسر" in text and "در حال بررسی در شعبه" in text
    assert "ثبت نکرده‌اید" not in text
    # Another chat user's code is not found (and says nothing about it).
    other = await verified(harness, MARYAM)
    text = other.joined(await other.send(f"کد رهگیری {code} چی شد؟"))
    assert "پیدا نشد" in text and "ده رقم" in text


async def test_my_requests_list_complaints_and_dependant_requests_newest_first(
    harness: Harness,
) -> None:
    chat = await verified(harness, REZA)
    code = await file_dependant_request(chat)
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.click(texts.CATEGORY_LABELS["insurance"])
    await chat.send("کارفرما سه ماه است بیمه مرا پرداخت نکرده است")
    await chat.click(texts.BTN_SKIP_ATTACHMENT)
    filed = chat.joined(await chat.click(texts.BTN_YES))
    ticket = re.search(r"کد رهگیری: (۱۴۲۰-[۰-۹]{6})", filed)
    assert ticket, filed
    for asked in ("درخواست‌هام", "پیگیری"):
        text = chat.joined(await chat.send(asked))
        assert ticket.group(1) in text and code in text
        # Newest first: the complaint was filed after the dependant request.
        assert text.index(ticket.group(1)) < text.index(code)
        assert "موعد پاسخ" in text and "در حال بررسی در شعبه" in text


async def test_an_eligibility_inquiry_code_says_what_it_is(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("استحقاق درمان"))
    match = re.search(r"کد رهگیری: ([۰-۹]{12})", text)
    assert match, text
    text = chat.joined(await chat.send(f"پیگیری کد رهگیری {match.group(1)}"))
    assert "استعلام استحقاق درمان" in text and "حمایت درمانی داشت" in text
    assert "پیدا نشد" not in text


# --- a named month's payslip ----------------------------------------------------------------
# The test clock is 1403/05/13; Hassan has payslips for 1402/11 … 1403/04.
async def test_the_payslip_of_a_named_month(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("فیش تیر"))
    assert "فیش مستمری تیر ۱۴۰۳" in text and "ماه‌های اخیر" not in text
    text = chat.joined(await chat.send("فیش سه ماه پیش"))
    assert "فیش مستمری اردیبهشت ۱۴۰۳" in text
    text = chat.joined(await chat.send("فیش اسفند ۱۴۰۲"))
    assert "فیش مستمری اسفند ۱۴۰۲" in text


async def test_a_month_without_a_payslip_says_so_and_shows_the_nearest(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("فیش شهریور ۱۴۰۲"))
    assert "فیش مستمری شهریور ۱۴۰۲ در پروندهٔ شما نیست" in text
    assert "فیش مستمری بهمن ۱۴۰۲" in text
    # «مهر» is the latest Mehr: 1402's, before his first payslip.
    text = chat.joined(await chat.send("فیش مهر"))
    assert "مهر ۱۴۰۲ در پروندهٔ شما نیست" in text


async def test_no_month_named_gives_the_last_payslip_and_recent_months(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    text = chat.joined(await chat.send("فیش حقوقی"))
    assert "فیش مستمری تیر ۱۴۰۳" in text and "ماه‌های اخیر" in text


# --- amounts in words ------------------------------------------------------------------------
async def test_the_voluntary_estimate_takes_an_amount_in_words(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("بیمه اختیاری با دستمزد پونزده میلیون چقدر میشه"))
    # 27 % of 150,000,000 Rial = 40,500,000 Rial.
    assert "۴۰٬۵۰۰٬۰۰۰ ریال" in text


async def test_the_wage_step_reads_colloquial_tomans_and_says_which_bound_is_crossed(
    harness: Harness,
) -> None:
    chat = harness.chat()
    await chat.send("بیمه اختیاری")
    await chat.click(texts.BTN_VOLUNTARY_ESTIMATE)
    text = chat.joined(await chat.send("۲۰۰ میلیون تومان"))
    assert "بیشتر از سقف دستمزد مبنا" in text
    text = chat.joined(await chat.send("دو میلیون و پانصد"))
    assert "کمتر از حداقل دستمزد مبنا" in text and "۲۵٬۰۰۰٬۰۰۰ ریال" in text
    # «۲۰ تومن» for a wage is twenty million Toman: 27 % of 200,000,000 Rial.
    text = chat.joined(await chat.send("20 تومن"))
    assert "۵۴٬۰۰۰٬۰۰۰ ریال" in text


# --- topics a personal intent must not answer by accident ---------------------------------------
async def test_when_will_i_retire_gets_the_record_not_a_payslip(harness: Harness) -> None:
    chat = await verified(harness, MARYAM)
    text = chat.joined(await chat.send("کی بازنشسته میشم؟"))
    assert "سابقهٔ ثبت‌شدهٔ شما تا امروز" in text and "۱۴۲۰" in text
    assert "فیش" not in text and "مستمری‌بگیر نیستید" not in text


async def test_retirement_before_verification_says_where_to_ask(harness: Harness) -> None:
    chat = harness.chat()
    text = chat.joined(await chat.send("کی بازنشسته میشم؟"))
    assert "نمی‌توانم آن را محاسبه کنم" in text and "«سابقهٔ کل»" in text
    # A personal request kept across verification is still answered by its own handler.
    assert "باید هویت شما را تأیید کنم" in chat.joined(await chat.send("بیمه‌ام فعاله؟"))
    await chat.share_contact(MARYAM[1])
    assert "نتیجهٔ استعلام استحقاق درمان" in chat.joined(await chat.send(MARYAM[0]))


async def test_eidi_and_unemployment_are_not_answered_with_a_payslip(harness: Harness) -> None:
    chat = await verified(harness, HASSAN)
    for asked in ("عیدی بازنشسته ها کی واریز میشه", "عیدی امسال چقدره؟"):
        text = chat.joined(await chat.send(asked))
        assert "مبلغ ناخالص" not in text, asked  # no payslip
        assert "عیدی" in text or "متوجه" in text or "از کارهای من بیرون" in text, text
    text = chat.joined(await chat.send("بیمه بیکاری من فعاله؟"))
    assert "حمایت درمانی دارد" not in text and "سابقهٔ کل شما" not in text
