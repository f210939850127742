"""A person in headless Chromium verifies as مریم رضایی in the product's web chat.

The real ``tamin-bot run`` process (see ``conftest.py``) serves the sandbox's web chat; the
browser is Debian's chromium driven by Playwright, with no download at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import PROJECT_ROOT, RunningProduct

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = PROJECT_ROOT / "var" / "e2e-web-chat-maryam.png"
TIMEOUT_MS = 20_000


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (/usr/bin/chromium); apt-get install chromium",
)
async def test_maryam_verifies_and_sees_her_eligibility_in_the_web_chat(
    product: RunningProduct,
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, locale="fa-IR"
            )
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(product.chat_url)
            await page.get_by_test_id("new-first-name").fill("مریم")
            await page.get_by_test_id("create-user").click()

            bot_messages = page.get_by_test_id("bot-message")
            # «شروع», as the README says (it sends /start).
            await page.get_by_test_id("start-button").click()
            await expect(bot_messages.first).to_contain_text("به دستیار تأمین اجتماعی خوش آمدید")

            # «ارسال شمارهٔ همراه من» on the reply keyboard, then her number in the chooser.
            await page.get_by_test_id("reply-button").filter(has_text="شمارهٔ همراه").click()
            await page.get_by_test_id("contact-dialog").get_by_text("مریم رضایی").click()
            await page.get_by_test_id("contact-send").click()
            await expect(bot_messages.last).to_contain_text("کد ملی")

            await page.get_by_test_id("message-input").fill("6508124226")
            await page.get_by_test_id("message-input").press("Enter")
            await expect(bot_messages.last).to_contain_text("هویت شما تأیید شد")

            await page.get_by_test_id("message-input").fill("استحقاق درمان دارم؟")
            await page.get_by_test_id("send").click()
            await expect(page.get_by_test_id("messages")).to_contain_text(
                "حمایت درمانی دارد", timeout=TIMEOUT_MS
            )
            await expect(bot_messages.last).to_contain_text("مریم رضایی")
            # The message list scrolls by itself; show its end (the answer) in the screenshot.
            await page.get_by_test_id("messages").evaluate("el => el.scrollTo(0, el.scrollHeight)")
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()
