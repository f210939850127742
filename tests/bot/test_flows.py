"""Multi-step flows: complaint tickets, tracking, the guided dependant request, /cancel."""

from __future__ import annotations

import re

from aiogram.types import Document, PhotoSize

from bot import texts
from bot.keyboards import CategoryPick, TicketPick
from tests.bot.conftest import HASSAN, MARYAM, REZA, ChatDriver, Harness

CODE = re.compile(r"(۱۴۲۰-[۰-۹]{6})")


def photo() -> list[PhotoSize]:
    return [
        PhotoSize(file_id="small-1", file_unique_id="s1", width=90, height=90),
        PhotoSize(file_id="large-1", file_unique_id="l1", width=1280, height=960),
    ]


async def file_ticket(chat: ChatDriver, *, attach: bool) -> str:
    calls = await chat.send("میخوام شکایت ثبت کنم")
    assert "دربارهٔ کدام موضوع" in chat.joined(calls)
    assert calls[-1].buttons() == list(texts.CATEGORY_LABELS.values())
    calls = await chat.click(texts.CATEGORY_LABELS["insurance"])
    assert "شرح شکایت" in chat.joined(calls)
    calls = await chat.send("کارفرما")
    assert "خیلی کوتاه" in chat.joined(calls)
    calls = await chat.send("کارفرمای من حق بیمهٔ سه ماه اخیر را پرداخت نکرده است.")
    assert "عکس یا سندی" in chat.joined(calls)
    if attach:
        calls = await chat.send(photo=photo())
        assert "پیوست دریافت شد" in chat.joined(calls)
        doc = Document(
            file_id="doc-1", file_unique_id="d1", file_name="فیش.pdf", mime_type="application/pdf"
        )
        calls = await chat.send(document=doc)
        assert "پیوست: ۲ فایل" in chat.joined(calls)
    else:
        calls = await chat.send("چیزی ندارم")
        assert "فقط عکس یا فایل" in chat.joined(calls)
        calls = await chat.click(texts.BTN_SKIP_ATTACHMENT)
        assert "پیوست: ندارد" in chat.joined(calls)
    text = chat.joined(calls)
    assert "امور بیمه‌ای" in text and "حق بیمهٔ سه ماه اخیر" in text
    calls = await chat.click(texts.BTN_YES)
    text = chat.joined(calls)
    assert "شکایت شما در سامانهٔ ۱۴۲۰ ثبت شد" in text
    # Filed Saturday 13 Mordad 1403: three working days (Friday excluded) → Tuesday 16 Mordad.
    assert "پاسخ حداکثر تا ۱۶ مرداد ۱۴۰۳" in text
    assert "answerCallbackQuery" in [c.name for c in calls]
    match = CODE.search(text)
    assert match, text
    return match.group(1)


async def test_complaint_with_attachments_then_tracking_by_code(harness: Harness) -> None:
    chat = harness.chat()
    code = await file_ticket(chat, attach=True)
    text = chat.joined(await chat.send(f"وضعیت درخواست {code}"))
    assert f"درخواست {code}" in text
    assert "امور بیمه‌ای" in text and "ثبت شده، در نوبت بررسی" in text
    assert "موعد پاسخ: ۱۶ مرداد ۱۴۰۳" in text


async def test_complaint_without_attachment_and_tracking_from_my_tickets(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    code = await file_ticket(chat, attach=False)
    calls = await chat.send("🔎 پیگیری درخواست")
    assert "درخواست‌های شما" in chat.joined(calls)
    assert any(code in label for label in calls[-1].buttons())
    ascii_code = code.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    calls = await chat.press(TicketPick(code=ascii_code).pack())
    assert f"درخواست {code}" in chat.joined(calls)


async def test_nobody_else_can_track_a_ticket(harness: Harness) -> None:
    owner = harness.chat()
    code = await file_ticket(owner, attach=False)
    other = harness.chat()
    text = other.joined(await other.send(f"پیگیری {code}"))
    assert "پیدا نشد" in text
    calls = await other.send("🔎 پیگیری درخواست")
    assert "هنوز شکایت یا درخواستی ثبت نکرده‌اید" in other.joined(calls)


async def test_complaint_declined_at_confirmation(harness: Harness) -> None:
    chat = harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="medical").pack())
    await chat.send("داروخانه گفت دفترچه‌ام اعتبار ندارد در حالی که بیمه‌ام پرداخت شده است.")
    await chat.click(texts.BTN_SKIP_ATTACHMENT)
    calls = await chat.send("باشه")
    assert "با دکمه‌های پیام قبلی" in chat.joined(calls)
    calls = await chat.click(texts.BTN_NO)
    assert "شکایت ثبت نشد" in chat.joined(calls)
    calls = await chat.send("🔎 پیگیری درخواست")
    assert "هنوز شکایت" in chat.joined(calls)


async def test_cancel_leaves_any_flow(harness: Harness) -> None:
    chat = harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="other").pack())
    calls = await chat.send("/cancel")
    assert "لغو شد" in chat.joined(calls)
    # The next text is a question again, not the complaint's description.
    assert "وقت شما بخیر" in chat.joined(await chat.send("سلام"))
    calls = await chat.send(texts.BTN_CANCEL)
    assert "کار نیمه‌تمامی نداشتید" in chat.joined(calls)


async def test_a_menu_button_leaves_a_flow(harness: Harness) -> None:
    chat = harness.chat()
    await chat.send("میخوام شکایت ثبت کنم")
    await chat.press(CategoryPick(category="other").pack())
    calls = await chat.send("☎️ راه‌های ارتباطی")
    assert "راه‌های ارتباط با تأمین اجتماعی" in chat.joined(calls)
    assert "وقت شما بخیر" in chat.joined(await chat.send("سلام"))


async def test_dependant_conditions_then_a_guided_request(harness: Harness) -> None:
    chat = harness.chat()
    calls = await chat.send("چطوری پسرم رو تحت تکفل اضافه کنم؟")
    text = chat.joined(calls)
    assert "پسر تا پیش از ۲۰ سالگی" in text
    assert "مشاهده و ثبت افراد تبعی" in text
    # The request is personal: verification first, then the request starts by itself.
    calls = await chat.click(texts.BTN_START_DEPENDANT_REQUEST)
    assert "باید هویت شما را تأیید کنم" in chat.joined(calls)
    await chat.share_contact(REZA[1])
    calls = await chat.send(REZA[0])
    assert "کد ملی ده‌رقمی پسر" in chat.joined(calls)
    calls = await chat.send("۱۲۳۴۵۶۷۸۹۰")
    assert "رقم کنترل" in chat.joined(calls)
    calls = await chat.send("0499370899")
    assert "تاریخ تولد پسر" in chat.joined(calls)
    calls = await chat.send("دیروز")
    assert "متوجه نشدم" in chat.joined(calls)
    calls = await chat.send("۱۴۱۰/۰۱/۰۱")
    assert "بعد از امروز" in chat.joined(calls)
    calls = await chat.send("۱۳۹۵/۰۲/۱۰")
    text = chat.joined(calls)
    assert "کد ملی: ۰۴۹۹۳۷۰۸۹۹" in text and "تاریخ تولد: ۱۳۹۵/۰۲/۱۰" in text
    calls = await chat.click(texts.BTN_YES)
    text = chat.joined(calls)
    assert "درخواست افزودن پسر ثبت شد" in text
    assert re.search(r"کد رهگیری: [۰-۹]{10}", text)
    assert "در حال بررسی در شعبه" in text
    assert "شناسنامه" in text
    # The same person again is a duplicate under review.
    await chat.click(texts.BTN_START_DEPENDANT_REQUEST)
    await chat.send("0499370899")
    await chat.send("۱۳۹۵/۰۲/۱۰")
    calls = await chat.click(texts.BTN_YES)
    assert "پیش‌تر درخواستی با کد رهگیری" in chat.joined(calls)


async def test_dependant_relation_asked_when_unclear(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*HASSAN)
    calls = await chat.send("شرایط اضافه کردن همسر")
    # Hassan is a man: his spouse is a wife, no need to ask.
    assert "همسر (زن) بیمه‌شده همواره" in chat.joined(calls)
    # The family button lists the family; adding someone is a button under the list.
    calls = await chat.send("👪 افراد تحت تکفل")
    assert "فاطمه" in chat.joined(calls)
    calls = await chat.click(texts.BTN_ADD_DEPENDANT)
    assert "کدام عضو خانواده" in chat.joined(calls)
    assert len(next(c for c in calls if c.name == "sendMessage").buttons()) == 6
    calls = await chat.click(texts.RELATION_LABELS["mother"])
    assert "مادر از ۵۵ سالگی" in chat.joined(calls)


async def test_an_existing_dependant_cannot_be_requested_again(harness: Harness) -> None:
    chat = harness.chat()
    await chat.verify(*MARYAM)
    await chat.send("شرایط اضافه کردن دخترم")
    await chat.click(texts.BTN_START_DEPENDANT_REQUEST)
    await chat.send("0536362165")
    await chat.send("۱۳۸۹/۰۵/۰۱")
    calls = await chat.click(texts.BTN_YES)
    assert "هم‌اکنون جزو افراد تحت تکفل شما ثبت شده" in chat.joined(calls)
