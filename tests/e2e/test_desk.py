"""The desk behind the bot, end to end (issue 18): the whole product in one loop (sandbox Bot
API, the real bot polling it, the outbound sender, the console over HTTP) and Chromium.

- A dependant request filed in the chat is approved in the console; the user is told with the
  tracking code; the dependant's eligibility is then «حمایت درمانی دارد».
- A ticket's photo (kept as a file_id) opens in the console: thumbnail, full size, download,
  each opening audited; the tracking code in the heading reads left to right.
- A chat an agent starts from a ticket does not tell the user the agent "accepted" it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from bot import texts
from nlu import NluModel
from sandbox.media import make_png
from services.agents import AgentRole
from services.clock import SystemClock
from services.db.models import AuditLog, ChatUser, Dependant
from services.eligibility import EligibilityService
from services.enums import TicketCategory
from services.identity import IdentityService
from services.settings import Settings
from services.tickets import AttachmentRef, TicketService
from tests.console.stack import Stack, stack_settings, start_stack
from tests.console.test_browser import (
    CHROMIUM,
    bot_texts,
    eventually,
    launch_chromium,
    login,
)
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var"


@pytest.fixture
async def stack(settings: Settings, nlu_model: NluModel, tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(stack_settings(settings, tmp_path / "desk.db"), nlu_model)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as launched:
        yield launched


async def _contains(stack: Stack, user: int, fragment: str) -> str | None:
    for text in await bot_texts(stack, user):
        if fragment in text:
            return text
    return None


async def test_dependant_request_filed_in_chat_approved_in_console_user_told_and_covered(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    user = await stack.verified_user()
    son = make_national_id(733)
    control = stack.control
    await control.say(user, "چطوری پسرم رو تحت تکفل اضافه کنم؟")
    asked = await control.tap(user, texts.BTN_START_DEPENDANT_REQUEST)
    assert "کد ملی" in asked.text
    await control.say(user, son.translate(FA))
    summary = await control.say(user, "۱۴۰۰/۰۲/۱۰")
    assert son.translate(FA) in summary.text
    done = await control.tap(user, texts.BTN_YES)
    found = re.search(r"کد رهگیری: ([۰-۹]{10})", done.text)
    assert found, done.text
    code_fa = found.group(1)
    code = code_fa.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))

    page = await login(browser, stack, "sara")
    await page.click("a[href='/requests']")
    row = page.locator(f"#request-rows tr[data-code='{code}']")
    await expect(row).to_contain_text("در انتظار بررسی")
    await expect(row).to_contain_text("پسر")
    await row.locator("a").click()
    await expect(page.locator("h1 bdi.code")).to_have_text(code_fa)
    await page.click("#take-request")
    await expect(page.locator(".flash")).to_contain_text("روی میز شما")
    await page.fill("#first-name", "علی")
    await page.fill("#last-name", "رضایی")
    await page.click("#approve")
    await expect(page.locator(".flash")).to_contain_text("تأیید شد")
    await expect(page.locator("#request-status")).to_have_text("تأییدشده")

    # The decision comes as a request_decided notice: the code isolated (LRI … PDI), the
    # cover's start date, and the notices' footer.
    told = await eventually(lambda: _contains(stack, user, f"کد رهگیری \u2066{code_fa}\u2069"))
    assert "تأیید شد" in told and "پسر" in told and "پوشش درمانی از" in told
    assert told.endswith(texts.NOTICE_FOOTER)
    await page.reload()
    await expect(page.locator(".delivery").first).to_have_text("رسید")

    # The son is now in the registry and covered; the bot says so when asked.
    async with stack.session_factory() as session:
        dependant = await session.scalar(select(Dependant).where(Dependant.national_id == son))
        assert dependant is not None and dependant.first_name == "علی"
        chat_user_id = await session.scalar(
            select(ChatUser.id).where(ChatUser.platform_user_id == user)
        )
        assert chat_user_id is not None
        result = await EligibilityService(session, stack.settings, SystemClock()).inquire(
            chat_user_id
        )
        await session.commit()
    row_of_son = next(r for r in result.rows if r.national_id == son)
    assert row_of_son.covered
    answer = await control.say(user, "بیمه دارم؟")
    assert "علی رضایی" in answer.text


async def test_ticket_photo_opens_in_the_console_and_the_code_reads_left_to_right(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    user = await stack.verified_user()
    photo = stack.sandbox.world.store_file(
        "photo", make_png(160, 90), mime_type="image/png", width=160, height=90
    )
    async with stack.session_factory() as session:
        chat_user = await IdentityService(session, stack.settings, SystemClock()).find_user(
            "telegram", user
        )
        assert chat_user is not None
        ticket = await TicketService(session, stack.settings, SystemClock()).create(
            chat_user.id,
            TicketCategory.MEDICAL,
            "عکس نسخه را فرستادم",
            attachments=[AttachmentRef(photo.file_id, "photo", None, "image/png")],
        )
        await session.commit()
    code = ticket.tracking_code
    page = await login(browser, stack, "sara")
    await page.goto(f"{stack.console_url}/tickets/{code}")
    thumb = page.locator("ul.files img.thumb")
    await expect(thumb).to_have_count(1)
    width = await eventually(lambda: thumb.evaluate("i => i.complete ? i.naturalWidth : 0"))
    assert width == 160
    full = await page.request.get(f"{stack.console_url}/tickets/{code}/files/0")
    assert full.status == 200 and full.headers["content-type"] == "image/png"
    assert full.headers["content-disposition"].startswith("inline")
    download = await page.request.get(f"{stack.console_url}/tickets/{code}/files/0?download=1")
    assert download.status == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert await download.body() == photo.data

    # Signed out, nobody gets the file.
    anonymous = await browser.new_context()
    refused = await anonymous.request.get(
        f"{stack.console_url}/tickets/{code}/files/0", max_redirects=0
    )
    assert refused.status in (303, 401)
    await anonymous.close()
    async with stack.session_factory() as session:
        openings = list(
            await session.scalars(
                select(AuditLog.actor).where(AuditLog.action == "ticket.open_attachment")
            )
        )
    assert len(openings) >= 3 and set(openings) == {"agent:sara"}

    # «۱۴۲۰-۰۲۲۱۸۵» inside «درخواست …»: isolated, its first digit is drawn left of its last.
    await _reads_left_to_right(page, "h1 bdi.code")
    assert "\u2068" in await page.title()
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.locator("header.conv-head").screenshot(path=SCREENSHOTS / "desk-ticket-code.png")


async def _reads_left_to_right(page: Page, selector: str) -> None:
    first_last = await page.locator(selector).evaluate(
        """el => {
            const node = el.firstChild, n = node.textContent.length, r = document.createRange();
            r.setStart(node, 0); r.setEnd(node, 1); const first = r.getBoundingClientRect().left;
            r.setStart(node, n - 1); r.setEnd(node, n); const last = r.getBoundingClientRect().left;
            return [first, last];
        }"""
    )
    first, last = first_last
    assert first < last, first_last


async def test_a_chat_started_from_a_ticket_does_not_say_the_agent_accepted_it(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara", AgentRole.SUPERVISOR)
    user = await stack.verified_user()
    async with stack.session_factory() as session:
        chat_user = await IdentityService(session, stack.settings, SystemClock()).find_user(
            "telegram", user
        )
        assert chat_user is not None
        ticket = await TicketService(session, stack.settings, SystemClock()).create(
            chat_user.id, TicketCategory.INSURANCE, "سابقهٔ دو ماه ثبت نشده است"
        )
        await session.commit()
    page = await login(browser, stack, "sara")
    await page.goto(f"{stack.console_url}/tickets/{ticket.tracking_code}")
    await page.click("#start-chat")
    await page.wait_for_url(re.compile(r"/conversations/\d+$"))
    code_fa = ticket.tracking_code.translate(FA)
    told = await eventually(lambda: _contains(stack, user, "گفتگویی را آغاز کرد"))
    assert code_fa in told
    assert not await _contains(stack, user, "گفتگو را پذیرفت")
