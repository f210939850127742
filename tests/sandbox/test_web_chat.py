"""The person's web chat: the page itself, and a real browser using it against the echo bot."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from aiogram import Bot
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from sandbox import SandboxClient, SandboxServer
from sandbox.echo_bot import BUTTON_DONE, RECEIVED
from sandbox.web_strings import STRINGS

CHROMIUM = Path("/usr/bin/chromium")
PROJECT_SCREENSHOTS = Path(__file__).resolve().parents[2] / "var"
HAVE_CHROMIUM = CHROMIUM.exists()
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


async def test_page_is_persian_rtl_and_phone_sized(sandbox: SandboxServer) -> None:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as http:
        page = await http.get(f"{sandbox.url}/")
        script = await http.get(f"{sandbox.url}/sandbox/static/chat.js")
    assert page.status_code == 200 and str(page.url).endswith("/chat")
    html = page.text
    assert '<html lang="fa" dir="rtl">' in html
    assert 'name="viewport" content="width=device-width' in html
    assert STRINGS["page_title"] in html and STRINGS["input_placeholder"] in html
    assert script.status_code == 200
    # Every word shown comes from the one catalogue: the script holds only digit tables.
    runs = set(re.findall(r"[\u0600-\u06FF]+", script.text))
    assert runs <= {"۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩", "۰", "۹", "٠", "٩"}


@pytest.mark.browser
@pytest.mark.usefixtures("echo_bot")
async def test_a_person_chats_with_the_echo_bot(
    sandbox: SandboxServer, client: SandboxClient, tg_bot: Bot, browser_page: object
) -> None:
    from playwright.async_api import Page, expect

    page = browser_page
    assert isinstance(page, Page)
    await page.goto(sandbox.chat_url)
    await page.get_by_test_id("new-first-name").fill("زهرا")
    await page.get_by_test_id("create-user").click()

    await page.get_by_test_id("message-input").fill("سلام، تست مرورگر")
    await page.get_by_test_id("send").click()
    bot_messages = page.get_by_test_id("bot-message")
    await expect(bot_messages.first).to_contain_text("سلام، تست مرورگر")

    await page.get_by_test_id("message-input").fill("/button")
    await page.get_by_test_id("message-input").press("Enter")
    await page.get_by_test_id("inline-button").click()
    await expect(bot_messages.last).to_contain_text(BUTTON_DONE)
    await expect(page.locator("#toast")).to_contain_text("دکمه زده شد.")

    # A reply keyboard with a "share my contact" button: the person picks a persona's number.
    user = (await client.info())["users"][-1]
    assert user["first_name"] == "زهرا"
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="ارسال شمارهٔ من", request_contact=True)]],
        resize_keyboard=True,
    )
    await tg_bot.send_message(user["id"], "لطفاً شمارهٔ خود را بفرستید.", reply_markup=keyboard)
    user_messages = page.get_by_test_id("user-message")
    await expect(user_messages).to_have_count(2)
    await expect(bot_messages).to_have_count(3)
    await page.get_by_test_id("reply-button").click()
    await page.get_by_text("رضا کاظمی").click()
    await page.get_by_test_id("contact-send").click()
    await expect(user_messages).to_have_count(3)
    await expect(bot_messages).to_have_count(4)
    await expect(bot_messages.last).to_contain_text(RECEIVED)
    sent = await client.messages(user["id"], sender="user")
    assert sent[-1]["contact"] == {
        "phone_number": "989351112233",
        "first_name": "زهرا",
        "user_id": user["id"],
    }

    # Someone else's contact through the attachment menu: no user_id of the sender's.
    await page.get_by_test_id("attach").click()
    await page.get_by_test_id("attach-contact").click()
    await page.get_by_text("شمارهٔ ناشناس").click()
    await page.get_by_test_id("contact-send").click()
    await expect(user_messages).to_have_count(4)
    await expect(bot_messages).to_have_count(5)
    other = (await client.messages(user["id"], sender="user"))[-1]["contact"]
    assert other["phone_number"] == "989390000000" and "user_id" not in other

    # A photo from the file picker.
    from sandbox.media import make_png

    await page.get_by_test_id("file-input").set_input_files(
        {"name": "scan.png", "mimeType": "image/png", "buffer": make_png(120, 80)}
    )
    await expect(page.locator(".bubble.user img")).to_have_count(1)
    await expect(bot_messages).to_have_count(6)
    await expect(bot_messages.last).to_contain_text(RECEIVED)
