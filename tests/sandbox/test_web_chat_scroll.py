"""The web chat in Chromium at 390×844 (issue 18): it follows new replies when the reply keyboard
appears or grows and when a chat is reopened; «شروع» starts a new chat; codes read left to right.
"""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from bot import formatting as fmt
from sandbox import SandboxClient, SandboxServer
from tests.sandbox.test_web_chat import PROJECT_SCREENSHOTS

pytestmark = pytest.mark.browser

LAST_VISIBLE = """() => {
  const box = document.querySelector('[data-testid=messages]').getBoundingClientRect();
  const bubbles = document.querySelectorAll('.bubble');
  const last = bubbles[bubbles.length - 1].getBoundingClientRect();
  return last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
}"""

# The left edges of two substrings of the last bot bubble, wherever the render split its text.
ORDER = """([first, second]) => {
  const bubbles = document.querySelectorAll('[data-testid=bot-message]');
  const root = bubbles[bubbles.length - 1];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const left = {};
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const needle of [first, second]) {
      const at = node.nodeValue.indexOf(needle);
      if (at < 0 || needle in left) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + needle.length);
      const box = range.getBoundingClientRect();
      left[needle] = [box.left, box.top];
    }
  }
  // Both on one line (the test's sentences are short), then compared left to right.
  if (left[first][1] !== left[second][1]) return [null, null];
  return [left[first][0], left[second][0]];
}"""


def menu(rows: int) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=f"دکمهٔ {r}-{c}") for c in range(2)] for r in range(rows)],
        resize_keyboard=True,
        is_persistent=True,
    )


async def test_the_chat_follows_replies_past_a_growing_keyboard(
    sandbox: SandboxServer, client: SandboxClient, tg_bot: Bot, browser_page: object
) -> None:
    from playwright.async_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(sandbox.chat_url)
    await page.get_by_test_id("new-first-name").fill("سارا")
    await page.get_by_test_id("create-user").click()

    # A new chat offers «شروع», which sends /start and goes away.
    start = page.get_by_test_id("start-button")
    await expect(start).to_be_visible()
    await expect(start).to_have_text("شروع")
    await start.click()
    await expect(page.get_by_test_id("user-message")).to_have_count(1)
    await expect(page.get_by_test_id("user-message")).to_contain_text("/start")
    await expect(start).to_be_hidden()
    user = (await client.info())["users"][-1]
    assert (await client.messages(user["id"], sender="user"))[-1]["text"] == "/start"

    bot_messages = page.get_by_test_id("bot-message")
    for i in range(10):
        await tg_bot.send_message(user["id"], f"پیام شمارهٔ {i} از ربات، کمی بلند تا جا بگیرد.")
    await expect(bot_messages).to_have_count(10)
    # Right after verification: the menu appears with the message, then an answer follows.
    await tg_bot.send_message(user["id"], "هویت شما تأیید شد.", reply_markup=menu(3))
    await expect(page.get_by_test_id("reply-button")).to_have_count(6)
    assert await page.evaluate(LAST_VISIBLE)
    await tg_bot.send_message(user["id"], "پاسخ پس از منو.")
    await expect(bot_messages).to_have_count(12)
    await expect(bot_messages.last).to_be_in_viewport()
    assert await page.evaluate(LAST_VISIBLE)
    # The keyboard grows: the newest message still shows.
    await tg_bot.send_message(user["id"], "منوی بزرگ‌تر.", reply_markup=menu(6))
    await expect(page.get_by_test_id("reply-button")).to_have_count(12)
    assert await page.evaluate(LAST_VISIBLE)
    await tg_bot.send_message(user["id"], "پاسخ پس از منوی بزرگ‌تر.")
    await expect(bot_messages).to_have_count(14)
    assert await page.evaluate(LAST_VISIBLE)

    # Reopened: the history comes back with its keyboard, and the end shows.
    await page.reload()
    await expect(bot_messages).to_have_count(14)
    await expect(page.get_by_test_id("reply-button")).to_have_count(12)
    await page.wait_for_function(LAST_VISIBLE)
    await expect(page.get_by_test_id("start-button")).to_be_hidden()
    await tg_bot.send_message(user["id"], "پاسخ پس از بازگشایی.")
    await expect(bot_messages).to_have_count(15)
    assert await page.evaluate(LAST_VISIBLE)

    # Tracking codes read left to right inside Persian text: as a bot writes them (Latin
    # digits, nothing isolated: the web chat isolates them) and as ours does (LRI … PDI).
    await tg_bot.send_message(user["id"], "کد رهگیری 1420-022185 ثبت شد.")
    await expect(bot_messages).to_have_count(16)
    first, second = await page.evaluate(ORDER, ["1420", "022185"])
    assert first is not None and first < second
    code = fmt.code("1420-022185")
    await tg_bot.send_message(user["id"], f"کد رهگیری <b>{code}</b> ثبت شد.", parse_mode="HTML")
    await expect(bot_messages).to_have_count(17)
    first, second = await page.evaluate(ORDER, ["۱۴۲۰", "۰۲۲۱۸۵"])
    assert first is not None and first < second
    PROJECT_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(PROJECT_SCREENSHOTS / "web-chat-scroll-and-codes.png"))
