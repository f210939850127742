"""The documents step of the guided dependant request (issue 18): photos and PDFs kept
against the request for the desk, counted back; other types refused; «تمام شد»; «بعداً
می‌فرستم» and its «ارسال مدارک» button; a text or another request inside the step."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid

from aiogram.types import Document, PhotoSize, Voice
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts
from bot.factory import BotDeps
from bot.keyboards import SendDocuments
from services.clock import FixedClock
from services.db.models import DependantRequest, DependantRequestDocument
from tests.bot import fakes
from tests.bot.conftest import MARYAM, REZA, ChatDriver, Harness, make_harness
from tests.bot.fakes import Call
from tests.bot.test_odd_inputs import sticker
from tests.conftest import with_config
from tests.services.helpers import make_national_id

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
MB = 1024 * 1024


def photo(n: int = 1, *, size: int = 180_000) -> list[PhotoSize]:
    return [
        PhotoSize(
            file_id=f"small-{n}", file_unique_id=f"s{n}", width=90, height=68, file_size=3_000
        ),
        PhotoSize(
            file_id=f"large-{n}", file_unique_id=f"l{n}", width=1280, height=960, file_size=size
        ),
    ]


def pdf(
    name: str = "شناسنامه.pdf", *, mime: str | None = "application/pdf", size: int = 250_000
) -> Document:
    return Document(
        file_id=f"doc-{name}",
        file_unique_id=f"u-{name}",
        file_name=name,
        mime_type=mime,
        file_size=size,
    )


def sent(calls: list[Call]) -> list[Call]:
    """The messages among the calls (a button press also answers the callback)."""
    return [c for c in calls if c.name == "sendMessage"]


async def file_request(chat: ChatDriver, person: tuple[str, str] = REZA, seed: int = 901) -> str:
    """Verify, file a request for a son and return its tracking code (ASCII digits)."""
    await chat.verify(*person)
    await chat.send("شرایط اضافه کردن پسرم")
    await chat.click(texts.BTN_START_DEPENDANT_REQUEST)
    await chat.send(make_national_id(seed))
    await chat.send("۱۳۹۵/۰۲/۱۰")
    calls = await chat.click(texts.BTN_YES)
    text = chat.joined(calls)
    found = re.search(r"کد رهگیری: ([۰-۹]{10})", text)
    assert found, text
    # The documents the relation needs are listed, and asked for with the two buttons.
    assert "شناسنامه" in text and "کارت ملی" in text
    assert "عکس یا فایل PDF این مدارک" in text
    assert sent(calls)[-1].buttons() == [texts.BTN_DOCUMENTS_DONE, texts.BTN_DOCUMENTS_LATER]
    return found.group(1).translate(ASCII)


async def documents_of(
    session_factory: async_sessionmaker[AsyncSession], code: str
) -> list[DependantRequestDocument]:
    async with session_factory() as session:
        rows = await session.scalars(
            select(DependantRequestDocument)
            .join(DependantRequest)
            .where(DependantRequest.tracking_code == code)
            .order_by(DependantRequestDocument.id)
        )
        return list(rows)


async def test_photo_and_pdf_are_kept_counted_and_done(harness: Harness) -> None:
    chat = harness.chat()
    code = await file_request(chat)
    calls = await chat.send(photo=photo(1))
    assert "۱ مدرک دریافت شد" in chat.joined(calls)
    assert sent(calls)[-1].buttons() == [texts.BTN_DOCUMENTS_DONE, texts.BTN_DOCUMENTS_LATER]
    calls = await chat.send(document=pdf())
    assert "۲ مدرک دریافت شد" in chat.joined(calls)
    # A file without a MIME type: its name tells (and the desk gets the type).
    calls = await chat.send(document=pdf("کارت-ملی.JPG", mime=None))
    assert "۳ مدرک دریافت شد" in chat.joined(calls)

    kept = await documents_of(harness.deps.session_factory, code)
    assert [(d.file_id, d.kind, d.mime_type, d.file_size) for d in kept] == [
        ("large-1", "photo", None, 180_000),  # the largest size of the photo
        ("doc-شناسنامه.pdf", "document", "application/pdf", 250_000),
        ("doc-کارت-ملی.JPG", "document", "image/jpeg", 250_000),
    ]
    assert {d.platform for d in kept} == {"telegram"}
    assert kept[1].file_name == "شناسنامه.pdf"

    calls = await chat.click(texts.BTN_DOCUMENTS_DONE)
    text = chat.joined(calls)
    assert "۳ مدرک برای درخواست با کد رهگیری" in text and code.translate(FA) in text
    assert texts.BTN_DOCUMENTS_DONE not in sent(calls)[-1].buttons()
    # The step is over: a photo now is one outside any flow.
    assert "فقط هنگام ثبت شکایت" in chat.joined(await chat.send(photo=photo(9)))
    assert len(await documents_of(harness.deps.session_factory, code)) == 3


async def test_other_types_are_refused_and_the_step_kept(harness: Harness) -> None:
    chat = harness.chat()
    code = await file_request(chat)
    calls = await chat.send(document=pdf("مدارک.zip", mime="application/zip"))
    assert "نمی‌توانم به‌عنوان مدرک بپذیرم" in chat.joined(calls)
    calls = await chat.send(document=pdf("logo.svg", mime="image/svg+xml"))
    assert "نمی‌توانم به‌عنوان مدرک بپذیرم" in chat.joined(calls)
    calls = await chat.send(sticker=sticker())
    assert "نمی‌توانم به‌عنوان مدرک بپذیرم" in chat.joined(calls)
    assert sent(calls)[-1].buttons() == [texts.BTN_DOCUMENTS_DONE, texts.BTN_DOCUMENTS_LATER]
    calls = await chat.send(voice=Voice(file_id="v-1", file_unique_id="v1", duration=3))
    assert "نمی‌توانم به‌عنوان مدرک بپذیرم" in chat.joined(calls)
    # Over the limit from config.yml (20 MB, what getFile serves): refused with the limit.
    calls = await chat.send(document=pdf("بزرگ.pdf", size=21 * MB))
    assert "بیش از ۲۰ مگابایت" in chat.joined(calls)
    calls = await chat.send(photo=photo(2, size=25 * MB))
    assert "بیش از ۲۰ مگابایت" in chat.joined(calls)
    assert await documents_of(harness.deps.session_factory, code) == []
    # «تمام شد» with nothing sent asks for a document (or «بعداً می‌فرستم»); the step stays.
    calls = await chat.click(texts.BTN_DOCUMENTS_DONE)
    assert "هنوز مدرکی دریافت نکرده‌ام" in chat.joined(calls)
    calls = await chat.send(photo=photo(3))
    assert "۱ مدرک دریافت شد" in chat.joined(calls)
    assert len(await documents_of(harness.deps.session_factory, code)) == 1


async def test_text_in_the_step_is_answered_with_the_buttons(harness: Harness) -> None:
    chat = harness.chat()
    await file_request(chat)
    calls = await chat.send("الان کدومشو بفرستم؟")
    assert "منتظر عکس یا فایل PDF مدارک هستم" in chat.joined(calls)
    assert sent(calls)[-1].buttons() == [texts.BTN_DOCUMENTS_DONE, texts.BTN_DOCUMENTS_LATER]
    # Another request is answered, with the way back to the step; the step's data is kept.
    calls = await chat.send("شماره تلفن ۱۴۲۰ چنده؟")
    assert texts.RESUME_OFFER in chat.joined(calls)
    calls = await chat.click(sent(calls)[-1].buttons()[0])
    assert "عکس یا فایل PDF مدارک درخواست" in chat.joined(calls)
    assert sent(calls)[-1].buttons() == [texts.BTN_DOCUMENTS_DONE, texts.BTN_DOCUMENTS_LATER]
    calls = await chat.send(photo=photo(4))
    assert "۱ مدرک دریافت شد" in chat.joined(calls)


async def test_later_leaves_a_button_to_send_them_later(harness: Harness) -> None:
    chat = harness.chat()
    code = await file_request(chat)
    await chat.send(photo=photo(1))
    calls = await chat.click(texts.BTN_DOCUMENTS_LATER)
    text = chat.joined(calls)
    assert "۱ مدرک تاکنون دریافت شده است" in text
    assert "بدون مدارک نمی‌تواند آن را تأیید کند" in text and code.translate(FA) in text
    later = next(c for c in calls if texts.BTN_SEND_DOCUMENTS in c.buttons())
    assert later.callback_data() == [SendDocuments(code=code).pack()]
    assert next(iter(texts.MENU)) in sent(calls)[-1].buttons()
    # The step is over; the chat goes on …
    assert "فقط هنگام ثبت شکایت" in chat.joined(await chat.send(photo=photo(8)))
    # … and the button brings it back, counting what was sent before.
    calls = await chat.click(texts.BTN_SEND_DOCUMENTS)
    assert "تاکنون ۱ مدرک دریافت شده است" in chat.joined(calls)
    calls = await chat.send(document=pdf())
    assert "۲ مدرک دریافت شد" in chat.joined(calls)
    calls = await chat.click(texts.BTN_DOCUMENTS_DONE)
    assert "۲ مدرک برای درخواست" in chat.joined(calls)
    assert len(await documents_of(harness.deps.session_factory, code)) == 2


async def test_send_documents_only_for_ones_own_request_under_review(harness: Harness) -> None:
    owner = harness.chat()
    code = await file_request(owner)
    await owner.click(texts.BTN_DOCUMENTS_LATER)
    other = harness.chat()
    await other.verify(*MARYAM)
    calls = await other.press(SendDocuments(code=code).pack())
    assert "دیگر مدرکی پذیرفته نمی‌شود" in other.joined(calls)
    calls = await other.send(photo=photo(5))
    assert "فقط هنگام ثبت شکایت" in other.joined(calls)
    assert await documents_of(harness.deps.session_factory, code) == []


async def test_an_album_keeps_every_photo_and_the_limit_holds(
    bot_deps: BotDeps, clock: FixedClock
) -> None:
    # Two documents at most here (config.yml's dependants.max_documents).
    deps = dataclasses.replace(
        bot_deps, settings=with_config(bot_deps.settings, "dependants", max_documents=2)
    )
    harness = make_harness(deps, (None, f"tamin-test-{uuid.uuid4().hex[:10]}"), clock=clock)
    chat = harness.chat()
    code = await file_request(chat)
    # An album is one update per photo, handled at the same time.
    await asyncio.gather(
        *(
            harness.dp.feed_update(
                chat.bot, fakes.update(message=fakes.message(chat.user, photo=photo(n)))
            )
            for n in (1, 2)
        )
    )
    kept = await documents_of(harness.deps.session_factory, code)
    assert sorted(d.file_id for d in kept) == ["large-1", "large-2"]
    calls = await chat.send(document=pdf())
    assert "حداکثر ۲ مدرک" in chat.joined(calls)
    assert len(await documents_of(harness.deps.session_factory, code)) == 2
    calls = await chat.click(texts.BTN_DOCUMENTS_DONE)
    assert "۲ مدرک برای درخواست" in chat.joined(calls)


async def test_cancel_or_an_exit_word_defers_the_documents_and_keeps_the_request(
    harness: Harness,
) -> None:
    chat = harness.chat()
    code = await file_request(chat)
    # /cancel does not cancel a recorded request: it says so and leaves the button.
    calls = await chat.send("/cancel")
    text = chat.joined(calls)
    assert "لغو شد" not in text
    assert "در حال بررسی است" in text and code.translate(FA) in text
    assert any(texts.BTN_SEND_DOCUMENTS in c.buttons() for c in sent(calls))
    await chat.click(texts.BTN_SEND_DOCUMENTS)
    await chat.send(photo=photo(1))
    calls = await chat.send("بیخیال")
    text = chat.joined(calls)
    assert "۱ مدرک تاکنون دریافت شده است" in text and "در حال بررسی است" in text
    assert "فقط هنگام ثبت شکایت" in chat.joined(await chat.send(photo=photo(2)))
    assert len(await documents_of(harness.deps.session_factory, code)) == 1
