"""Bale mode: no parse_mode, the text reported as sent, Markdown rendered by the client."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import SandboxClient

from .conftest import BALE_TOKEN, UserFactory


@pytest.mark.parametrize(
    ("sent", "seen"),
    [
        ("برای شمارهٔ *1420*4# را بگیرید.", "برای شمارهٔ 14204# را بگیرید."),  # unescaped: broken
        ("برای شمارهٔ \\*1420\\*4# را بگیرید.", "برای شمارهٔ *1420*4# را بگیرید."),
        ("کد_رهگیری_شما", "کدرهگیریشما"),
        ("کد\\_رهگیری\\_شما", "کد_رهگیری_شما"),
        ("\\[ثبت‌نام](es.tamin.ir)", "[ثبت‌نام](es.tamin.ir)"),
    ],
)
async def test_bale_shows_markdown_rendered_text(
    bale_bot: Bot, client: SandboxClient, new_user: UserFactory, sent: str, seen: str
) -> None:
    user = await new_user(bots=(BALE_TOKEN,))
    message = await bale_bot.send_message(user["id"], sent)
    assert message.text == sent  # Bale reports what the bot sent, with no entities
    assert message.entities is None
    shown = (await client.messages(user["id"], bot="bale"))[-1]
    assert shown["rendered_text"] == seen
    assert shown["source_text"] == sent


async def test_bale_ignores_parse_mode(
    bale_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(bots=(BALE_TOKEN,))
    # Telegram would refuse this HTML; Bale has no parse_mode, so the person sees the tags.
    message = await bale_bot.send_message(user["id"], "<b>سلام</b> <br>", parse_mode="HTML")
    assert message.text == "<b>سلام</b> <br>"
    shown = (await client.messages(user["id"], bot="bale"))[-1]
    assert shown["rendered_text"] == "<b>سلام</b> <br>"
    assert shown["html"] == "&lt;b&gt;سلام&lt;/b&gt; &lt;br&gt;"
    assert shown["parse_mode"] == "HTML"


async def test_bale_renders_bold_and_links_for_display(
    bale_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(bots=(BALE_TOKEN,))
    await bale_bot.send_message(user["id"], "*وضعیت:* [پرتال](https://es.tamin.ir)")
    shown = (await client.messages(user["id"], bot="bale"))[-1]
    assert shown["rendered_text"] == "وضعیت: پرتال"
    assert shown["html"].startswith('<b>وضعیت:</b> <a href="https://es.tamin.ir"')


async def test_bale_still_refuses_what_no_platform_takes(
    bale_bot: Bot, new_user: UserFactory
) -> None:
    from aiogram.exceptions import TelegramBadRequest

    user = await new_user(bots=(BALE_TOKEN,))
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bale_bot.send_message(user["id"], " ")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bale_bot.send_message(user["id"], "ب" * 4097)
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="x" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bale_bot.send_message(user["id"], "x", reply_markup=too_long)


async def test_two_platforms_in_one_sandbox_keep_apart(
    tg_bot: Bot, bale_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    """The same user id on both bots: separate chats, separate updates, separate renderings."""
    user = await new_user(started=False)
    await client.send_text(user["id"], "تلگرام", bot="telegram")
    await client.send_text(user["id"], "بله", bot="bale")
    assert [u.message.text for u in await tg_bot.get_updates() if u.message] == ["تلگرام"]
    assert [u.message.text for u in await bale_bot.get_updates() if u.message] == ["بله"]
    await tg_bot.send_message(user["id"], "*1420*4#", parse_mode=None)
    await bale_bot.send_message(user["id"], "*1420*4#")
    assert (await client.messages(user["id"], bot="telegram"))[-1]["rendered_text"] == "*1420*4#"
    assert (await client.messages(user["id"], bot="bale"))[-1]["rendered_text"] == "14204#"
