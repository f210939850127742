"""Documents sent in the chat with a dependant request reach the desk (issue 18), end to end:
the sandbox Bot API (the user uploads a photo and a PDF), the real bot polling it, the console
over HTTP and Chromium. The desk's request page lists both and opens them through getFile."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from bot import texts
from bot.render import visible_text
from nlu import NluModel
from sandbox.media import make_png
from services.settings import Settings
from tests.console.stack import Stack, stack_settings, start_stack
from tests.console.test_browser import CHROMIUM, eventually, launch_chromium, login
from tests.services.helpers import make_national_id

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
# A small but real PDF: the desk serves it back byte for byte.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
async def stack(settings: Settings, nlu_model: NluModel, tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(stack_settings(settings, tmp_path / "docs.db"), nlu_model)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as launched:
        yield launched


async def test_documents_sent_in_the_chat_are_listed_and_open_on_the_desk(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    user = await stack.verified_user()
    control = stack.control
    await control.say(user, "چطوری پسرم رو تحت تکفل اضافه کنم؟")
    await control.tap(user, texts.BTN_START_DEPENDANT_REQUEST)
    await control.say(user, make_national_id(744).translate(FA))
    await control.say(user, "۱۴۰۰/۰۲/۱۰")
    asked = await control.tap(user, texts.BTN_YES)
    found = re.search(r"کد رهگیری: ([۰-۹]{10})", asked.text)
    assert found, asked.text
    assert "عکس یا فایل PDF این مدارک" in asked.text
    assert texts.BTN_DOCUMENTS_DONE in asked.buttons()
    code_fa = found.group(1)
    code = code_fa.translate(ASCII)

    photo = await control.reaction(user, await control.send_photo(user, make_png(200, 120)))
    assert "۱ مدرک دریافت شد" in photo.text
    sent = await control.send_document(user, PDF, "شناسنامه.pdf", mime_type="application/pdf")
    assert "۲ مدرک دریافت شد" in (await control.reaction(user, sent)).text
    refused = await control.reaction(
        user, await control.send_document(user, b"PK\x03\x04", "مدارک.zip")
    )
    assert "نمی‌توانم به‌عنوان مدرک بپذیرم" in refused.text
    done = await control.tap(user, texts.BTN_DOCUMENTS_DONE)
    assert f"۲ مدرک برای درخواست با کد رهگیری {code_fa}" in visible_text(done.text)

    page = await login(browser, stack, "sara")
    await page.goto(f"{stack.console_url}/requests/{code}")
    items = page.locator("ul.files li.file-item")
    await expect(items).to_have_count(2)
    # The photo is its largest size (the sandbox keeps the original, 200 px wide).
    thumb = items.nth(0).locator("img.thumb")
    width = await eventually(lambda: thumb.evaluate("i => i.complete ? i.naturalWidth : 0"))
    assert width == 200
    await expect(items.nth(1)).to_contain_text("شناسنامه.pdf")
    pdf = await page.request.get(f"{stack.console_url}/requests/{code}/files/1")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert await pdf.body() == PDF
