"""The console in headless Chromium against the whole product over real HTTP.

An agent signs in, takes the queued chat of a sandbox user who asked for a person, replies
(the user receives it), sees the user's next message appear without reloading, resolves (the
user gets the 1–5 question and answers it); a supervisor sees the dashboard; a ticket answered
in the console reaches the user with its tracking code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot import texts
from bot.render import visible_text
from nlu import NluModel
from sandbox.media import make_png
from services.agents import AgentRole
from services.clock import SystemClock
from services.enums import TicketCategory
from services.identity import IdentityService
from services.settings import Settings
from services.tickets import TicketService
from tests.console.stack import Stack, stack_settings, start_stack
from tests.handoff.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]


@pytest.fixture
async def stack(settings: Settings, nlu_model: NluModel, tmp_path: Path) -> AsyncIterator[Stack]:
    running = await start_stack(stack_settings(settings, tmp_path / "e2e.db"), nlu_model)
    try:
        yield running
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Debian's chromium through Playwright, closed on the way out (the browser tests' one launch)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as launched:
        yield launched


async def login(browser: Browser, stack: Stack, username: str) -> Page:
    context = await browser.new_context(locale="fa-IR")
    page = await context.new_page()
    await page.goto(f"{stack.console_url}/queue")
    await expect(page.locator("h1")).to_have_text("ورود کارشناسان")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(re.compile(r"/queue$"))
    return page


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 15.0) -> Any:
    """Retry ``check`` until it returns something truthy (the outbox and polling are async)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def bot_texts(stack: Stack, user_id: int) -> list[str]:
    return [visible_text(m["rendered_text"] or "") for m in await stack.control.messages(user_id)]


async def test_agent_takes_replies_sees_new_messages_and_resolves(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    user = await stack.verified_user()
    page = await login(browser, stack, "sara")  # signed in: Sara counts as online

    reaction = await stack.control.say(user, "می‌خوام با کارشناس صحبت کنم")
    assert "نوبت شما در صف: ۱" in visible_text(reaction.text)
    keyboard = reaction.last.get("reply_markup") or {}
    assert [b["text"] for row in keyboard.get("keyboard", []) for b in row] == [
        texts.BTN_BACK_TO_BOT
    ]

    # The queue refreshes itself: the chat appears without reloading.
    row = page.locator("#queue-rows tr[data-id]")
    await expect(row).to_have_count(1, timeout=10_000)
    await expect(row).to_contain_text("مریم رضایی")
    await row.locator("button.take").click()
    await page.wait_for_url(re.compile(r"/conversations/\d+$"))
    await expect(page.locator("#national-id")).to_have_text("۶۵۰*****۲۶")
    # The escalation record: what the user wrote before, and what the bot made of it.
    await expect(page.locator("ol.transcript")).to_contain_text("می‌خوام با کارشناس صحبت کنم")
    await expect(page.locator("ol.transcript")).to_contain_text("گفتگو با کارشناس")

    # The user is told an agent has joined (through the outbox).
    await eventually(lambda: _contains(stack, user, "کارشناس ۱۴۲۰، گفتگو را پذیرفت"))
    await page.fill("#reply-text", "سلام مریم خانم، پرونده را بررسی می‌کنم.")
    await page.click("#send")
    await expect(page.locator(".flash")).to_contain_text("در صف ارسال")
    last = await eventually(
        lambda: _contains(stack, user, "سلام مریم خانم، پرونده را بررسی می‌کنم.")
    )
    assert last.startswith("👤 کارشناس sara، کارشناس ۱۴۲۰:")
    await expect(page.locator(".msg.agent .delivery").last).to_have_text("رسید", timeout=10_000)

    # The user writes again: it appears on the open page without a reload, and the bot stays
    # silent.
    before = len(await stack.control.messages(user))
    await stack.control.send_text(user, "پسرم علی ۲۰ ساله است، چرا بیمه ندارد؟")
    await expect(page.locator("#messages")).to_contain_text(
        "پسرم علی ۲۰ ساله است، چرا بیمه ندارد؟", timeout=10_000
    )
    # A photo reaches the console too, and shows as a picture.
    await stack.control.send_photo(user, make_png(120, 80), caption="کارت دانشجویی علی")
    photo = page.locator("#messages img.thumb")
    await expect(photo).to_have_count(1, timeout=10_000)
    await expect(page.locator("#messages")).to_contain_text("کارت دانشجویی علی")
    width = await eventually(lambda: photo.evaluate("img => img.complete ? img.naturalWidth : 0"))
    assert width == 120
    await stack.control.wait_idle()
    assert len(await stack.control.messages(user)) == before

    # Resolve (confirming the dialog): the user gets the end notice and the 1–5 question.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#resolve")
    await expect(page.locator("#status-badge")).to_have_text("بسته‌شده")
    question = await eventually(lambda: _contains(stack, user, "چقدر از این گفتگو راضی بودید"))
    assert question
    assert any(
        texts.HANDOFF_RESOLVED.replace("<b>", "") in t for t in await bot_texts(stack, user)
    )
    reaction = await stack.control.tap(user, texts.RATING_BUTTONS[5])
    assert "امتیاز شما: ۵ از ۵" in visible_text(reaction.text)
    await page.reload()
    await expect(page.locator(".rating")).to_have_text("امتیاز رضایت: ۵ از ۵")
    # The bot answers the user again.
    reaction = await stack.control.say(user, "بیمه دارم؟")
    assert "حمایت درمانی دارد" in visible_text(reaction.text)


async def _contains(stack: Stack, user: int, fragment: str) -> str | None:
    for text in await bot_texts(stack, user):
        if fragment in text:
            return text
    return None


async def test_supervisor_sees_the_dashboard(stack: Stack, browser: Browser) -> None:
    await stack.add_agent("boss", AgentRole.SUPERVISOR)
    user = await stack.verified_user()
    await stack.control.say(user, "بیمه دارم؟")
    page = await login(browser, stack, "boss")
    await page.click("a[href='/dashboard']")
    await expect(page.locator("h1")).to_have_text("داشبورد سرپرست")
    await expect(page.locator("#messages-chart rect.bar").first).to_be_attached()
    await expect(page.locator("#kpi-queue strong")).to_have_text("۰")
    assert await page.locator("#messages-chart").is_visible()
    box = await page.locator("#messages-chart").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100


async def test_ticket_answered_in_the_console_reaches_the_user(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    user = await stack.verified_user()
    async with stack.session_factory() as session:
        chat_user = await IdentityService(session, stack.settings, SystemClock()).find_user(
            "telegram", user
        )
        assert chat_user is not None
        ticket = await TicketService(session, stack.settings, SystemClock()).create(
            chat_user.id, TicketCategory.MEDICAL, "دفترچهٔ پسرم اعتبار ندارد"
        )
        await session.commit()
    page = await login(browser, stack, "sara")
    await page.click("a[href='/tickets']")
    row = page.locator(f"tr[data-code='{ticket.tracking_code}']")
    await expect(row).to_contain_text("دفترچهٔ پسرم اعتبار ندارد")
    await row.locator("a").click()
    await page.fill("#answer-text", "لطفاً گواهی تحصیلی پسرتان را به شعبه ببرید.")
    await page.click("#send-answer")
    await expect(page.locator(".ticket-answer")).to_have_text(
        "لطفاً گواهی تحصیلی پسرتان را به شعبه ببرید."
    )
    code = ticket.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    text = await eventually(lambda: _contains(stack, user, "لطفاً گواهی تحصیلی پسرتان"))
    # The notices branch isolates the code (LRI … PDI) and ends every notice with its footer.
    assert f"کد رهگیری \u2066{code}\u2069" in text
    assert text.endswith(texts.NOTICE_FOOTER)
    await page.reload()
    await expect(page.locator(".delivery").first).to_have_text("رسید")


# --- knowledge base (issue 16) ----------------------------------------------------------------


async def test_supervisor_edits_an_entry_and_the_running_bot_serves_it(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("boss", AgentRole.SUPERVISOR)
    page = await login(browser, stack, "boss")
    await page.click("a[href='/knowledge']")
    await expect(page.locator("h1")).to_contain_text("پایگاه دانش")
    await page.select_option("select[name=status]", "draft")
    await page.click("form.filters button")
    await expect(page.locator("#kb-entries tbody tr")).to_have_count(3)
    await page.fill("input[name=q]", "unemployment-amount")
    await page.select_option("select[name=status]", "")
    await page.click("form.filters button")
    await page.click("a[href='/knowledge/unemployment-amount']")
    marker = "پاسخ تازهٔ سرپرست دربارهٔ مقرری بیمهٔ بیکاری."
    await page.fill("textarea[name=answer]", marker)
    await page.click("#kb-save")
    await expect(page.locator(".flash")).to_contain_text("مدخل ذخیره شد")
    await expect(page.locator("textarea[name=answer]")).to_have_value(marker)
    user = int((await stack.control.create_user("کاربر"))["id"])

    async def served() -> bool:
        await stack.control.say(user, "مقرری بیمه بیکاری چقدره؟")
        return any(marker in text for text in await bot_texts(stack, user))

    # The bot's process holds its own store: it rebuilds within refresh_seconds (5 s).
    assert await eventually(served, within=20)


async def test_supervisor_adds_an_unanswered_question_to_an_entry(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("boss", AgentRole.SUPERVISOR)
    user = int((await stack.control.create_user("کاربر"))["id"])
    reaction = await stack.control.say(user, "پایتخت فرانسه کجاست")
    assert "از کارهای من بیرون است" in reaction.text
    page = await login(browser, stack, "boss")
    await page.goto(f"{stack.console_url}/knowledge/feedback")
    group = page.locator("tr.kb-group").filter(has_text="پایتخت فرانسه کجاست")
    await expect(group).to_have_count(1)
    await group.locator("select[name=entry_id]").select_option("channels-1420-ways")
    await group.locator("button.kb-add").click()
    await expect(page.locator(".flash")).to_contain_text("channels-1420-ways")
    await expect(page.locator("tr.kb-group")).to_have_count(0)
    await page.goto(f"{stack.console_url}/knowledge/channels-1420-ways")
    await expect(page.locator("textarea[name=questions]")).to_contain_text("پایتخت فرانسه کجاست")
