"""The console's issue-18 pages in headless Chromium against the whole product over real HTTP:
badges and the tab title, the chime and the browser notification for a new chat, keyboard
shortcuts with the demo's canned replies, search, the audit log in Persian, the dashboard's
rate line with gaps. (The requests desk and files: tests/e2e/test_desk.py.)"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import insert

from demo.desk import ensure_demo_catalogue
from nlu import NluModel
from services.agents import AgentRole
from services.clock import TEHRAN, SystemClock
from services.db.handoff_models import IntentLogEntry
from services.enums import TicketCategory
from services.identity import IdentityService
from services.settings import Settings
from services.tickets import TicketService
from tests.console.stack import Stack, stack_settings, start_stack
from tests.console.test_browser import (
    CHROMIUM,
    bot_texts,
    eventually,
    launch_chromium,
)
from tests.handoff.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]

# Records what the page asks of the Notification API (the headless browser shows nothing).
NOTIFICATION_SPY = """
(() => {
  window.__notifications = [];
  const Real = window.Notification;
  function Spy(title, options) { window.__notifications.push(title); return new Real(title, options); }
  Spy.requestPermission = () => Real.requestPermission();
  Object.defineProperty(Spy, "permission", { get: () => Real.permission });
  window.Notification = Spy;
})();
"""


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


async def sign_in(browser: Browser, stack: Stack, username: str) -> Page:
    context = await browser.new_context(locale="fa-IR")
    await context.grant_permissions(["notifications"], origin=stack.console_url)
    await context.add_init_script(NOTIFICATION_SPY)
    page = await context.new_page()
    await page.goto(f"{stack.console_url}/queue")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(re.compile(r"/queue$"))
    return page


async def test_badges_title_chime_notification_and_shortcuts(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("sara")
    async with stack.session_factory() as session:
        await ensure_demo_catalogue(session, SystemClock())
        await session.commit()
    user = await stack.verified_user()
    page = await sign_in(browser, stack, "sara")
    base_title = await page.title()
    await expect(page.locator("#count-queue")).to_be_hidden()
    await page.click("#enable-alerts")  # the gesture browsers want before sound

    await stack.control.say(user, "می‌خوام با کارشناس صحبت کنم")
    await expect(page.locator("#count-queue")).to_have_text("۱", timeout=10_000)
    await expect(page).to_have_title(f"(۱) {base_title}")
    notified = await eventually(lambda: page.evaluate("window.__notified || 0"))
    assert notified == 1
    assert await page.evaluate("window.__notifications") == ["گفتگوی تازه در صف انتظار"]

    row = page.locator("#queue-rows tr[data-id]")
    await expect(row).to_have_count(1, timeout=10_000)
    await row.locator("button.take").click()
    await page.wait_for_url(re.compile(r"/conversations/\d+$"))
    await expect(page.locator("#count-queue")).to_be_hidden(timeout=10_000)

    # Alt+R: to the reply box; Alt+1: the first canned reply; Ctrl+Enter: send.
    await page.keyboard.press("Alt+r")
    assert await page.evaluate("document.activeElement.id") == "reply-text"
    await page.keyboard.press("Alt+1")
    # The demo's replies, by short code: «closing» comes first.
    await expect(page.locator("#reply-text")).to_have_value(re.compile("از شکیبایی شما"))
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".flash")).to_contain_text("در صف ارسال")

    async def told() -> bool:
        return any("از شکیبایی شما" in t for t in await bot_texts(stack, user))

    assert await eventually(told)

    # The user writes: «my chats» shows one waiting, and so does the title.
    await stack.control.send_text(user, "ممنون، سؤالی دربارهٔ دفترچه دارم")
    await expect(page.locator("#count-mine")).to_have_text("۱", timeout=10_000)
    await expect(page).to_have_title(re.compile(r"^\(۱\) "))


async def test_search_and_the_audit_log_in_persian(stack: Stack, browser: Browser) -> None:
    await stack.add_agent("boss", AgentRole.SUPERVISOR)
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
    page = await sign_in(browser, stack, "boss")
    code_fa = ticket.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    await page.keyboard.press("/")
    assert await page.evaluate("document.activeElement.id") == "nav-search"
    await page.keyboard.type(code_fa.replace("-", ""))
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/search\?q="))
    await expect(page.locator("#ticket-results tr[data-code]")).to_have_count(1)
    await expect(page.locator("#ticket-results bdi.code")).to_have_text(code_fa)

    await page.fill("#search-q", "۰۹۱۲***۴۵۶۷")
    await page.click("form.filters button")
    await expect(page.locator(".search-kind")).to_contain_text("موبایل")
    await expect(page.locator("#ticket-results tr[data-code]")).to_have_count(1)

    await page.goto(f"{stack.console_url}/settings/audit")
    await page.select_option("#audit-filters select[name=action]", "desk.search_mobile")
    await page.click("#audit-filters button")
    rows = page.locator("#audit-rows tbody tr[data-action]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("جستجو با شمارهٔ موبایل")
    await expect(rows.first).to_contain_text("کارشناس boss")
    await expect(rows.first).not_to_contain_text("09121234567")


async def test_dashboard_rate_line_skips_days_without_messages(
    stack: Stack, browser: Browser
) -> None:
    await stack.add_agent("boss", AgentRole.SUPERVISOR)
    now = dt.datetime.now(TEHRAN).replace(hour=12, minute=0, second=0, microsecond=0)
    rows = [
        {
            "platform": "telegram",
            "chat_id": 1,
            "text": None,
            "intent": "greet",
            "confidence": 0.9,
            "is_fallback": fallback,
            "from_bot": False,
            "created_at": now - dt.timedelta(days=days_ago),
        }
        for days_ago, fallback in ((5, False), (5, True), (2, True), (2, False), (1, True))
    ]
    async with stack.session_factory() as session:
        await session.execute(insert(IntentLogEntry), rows)
        await session.commit()
    page = await sign_in(browser, stack, "boss")
    await page.goto(f"{stack.console_url}/dashboard")
    chart = page.locator("#messages-chart")
    # Day −5 alone (days −4…−3 and today have nothing): a dot; days −2…−1: one line. Every
    # day with messages had a fallback, so no point of the line may sit on the 0 % baseline.
    await expect(chart.locator("polyline.rate")).to_have_count(1)
    await expect(chart.locator("circle.rate-dot")).to_have_count(1)
    baseline = await chart.locator("line.gridline").first.get_attribute("y1")
    assert baseline is not None
    points = await chart.locator("polyline.rate").get_attribute("points")
    assert points is not None and len(points.split()) == 2
    assert all(float(p.split(",")[1]) < float(baseline) for p in points.split())
