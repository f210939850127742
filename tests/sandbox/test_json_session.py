"""The assistant's Bot API session (``bot.session``): JSON bodies, the same answers and refusals.

The bodies are checked as built, and then over real HTTP against the sandbox, which reads JSON
as Telegram does: the text, its formatting, keyboards and defaults arrive as they did in a form;
an upload still goes as multipart; a refusal comes back as aiogram's usual exception.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import ClientDecodeError, TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import GetMe, SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.factory import build_bot
from bot.platform import Platform, PlatformBot
from bot.session import JsonAiohttpSession
from sandbox import SandboxClient, SandboxServer
from sandbox.media import make_png
from tests.sandbox.conftest import TG_TOKEN, UserFactory


@pytest_asyncio.fixture(loop_scope="session")
async def json_bot(sandbox: SandboxServer) -> AsyncIterator[PlatformBot]:
    bot = build_bot(Platform.TELEGRAM, TG_TOKEN, sandbox.api_base)
    assert isinstance(bot.session, JsonAiohttpSession)
    yield bot
    await bot.session.close()


def test_the_body_is_json_with_nested_objects_and_resolved_defaults() -> None:
    session = JsonAiohttpSession()
    bot = PlatformBot(
        TG_TOKEN,
        platform=Platform.TELEGRAM,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="بله", callback_data="yes")]]
    )
    method = SendMessage(chat_id=42, text="سلام <b>مریم</b>", reply_markup=keyboard)
    body = session.json_body(bot, method)
    assert body is not None
    assert "سلام".encode() in body  # Persian as UTF-8, not \\u escapes or %XX
    sent = json.loads(body)
    assert sent["chat_id"] == 42 and sent["text"] == "سلام <b>مریم</b>"
    assert sent["parse_mode"] == "HTML"  # the bot's default, resolved
    assert sent["link_preview_options"] == {"is_disabled": True}
    # A keyboard is an object in the body, not a JSON string inside a form field.
    assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "بله", "callback_data": "yes"}]]}
    # Nothing unset is sent (the form left out exactly these too).
    assert None not in sent.values()
    assert "disable_notification" not in sent and "message_thread_id" not in sent


def test_a_method_with_an_upload_goes_as_a_form() -> None:
    session = JsonAiohttpSession()
    bot = PlatformBot(TG_TOKEN, platform=Platform.TELEGRAM, session=session)
    upload = SendPhoto(chat_id=42, photo=BufferedInputFile(b"...", "scan.png"))
    assert session.json_body(bot, upload) is None
    by_id = SendPhoto(chat_id=42, photo="AgACAgIAAxkBAAIB")  # a file_id is plain JSON
    body = session.json_body(bot, by_id)
    assert body is not None and json.loads(body)["photo"] == "AgACAgIAAxkBAAIB"


async def test_over_http_messages_keyboards_and_uploads_arrive(
    json_bot: PlatformBot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    cursor = await client.cursor()
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="ارسال شماره", request_contact=True)]],
        resize_keyboard=True,
    )
    sent = await json_bot.send_message(
        user["id"], "<b>سلام</b> &lt;مریم&gt;", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    # A sent text is answered with its message's id, date, chat and text (bot.session); the
    # rest of what arrived is read from the platform's side below.
    assert sent.text == "سلام <مریم>" and sent.message_id > 0
    assert sent.chat.id == user["id"] and sent.entities is None
    inline = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="بله", callback_data="yes")]]
    )
    second = await json_bot.send_message(user["id"], "مطمئن هستید؟", reply_markup=inline)
    assert second.message_id == sent.message_id + 1 and second.reply_markup is None
    photo = await json_bot.send_photo(
        user["id"], BufferedInputFile(make_png(120, 80), "scan.png"), caption="رسید"
    )
    assert photo.photo is not None and photo.caption == "رسید"

    data = await client.events(user["id"], since=cursor)
    shown = [e["message"] for e in data["events"] if e["kind"] == "message"]
    assert [m.get("rendered_text") or m.get("caption") for m in shown][:2] == [
        "سلام <مریم>",
        "مطمئن هستید؟",
    ]
    assert shown[0]["html"] == "<b>سلام</b> &lt;مریم&gt;"
    assert [e["type"] for e in shown[0]["entities"]] == ["bold"]
    assert shown[1]["reply_markup"] == inline.model_dump(exclude_none=True)
    assert data["keyboard"]["markup"]["keyboard"][0][0]["request_contact"] is True


async def test_over_http_a_refusal_is_aiograms_exception(
    json_bot: PlatformBot, new_user: UserFactory
) -> None:
    user = await new_user()
    with pytest.raises(TelegramBadRequest) as caught:
        await json_bot.send_message(user["id"], "<b>سلام", parse_mode=ParseMode.HTML)
    assert caught.value.message.startswith("Bad Request: can't parse entities: ")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await json_bot.send_message(user["id"], "")


def _answer(result: dict[str, object]) -> str:
    return json.dumps({"ok": True, "result": result}, ensure_ascii=False)


_ECHOED = {
    "message_id": 77,
    "from": {"id": 7000001, "is_bot": True, "first_name": "دستیار"},
    "chat": {"id": 42, "type": "private", "first_name": "مریم"},
    "date": 1765000000,
    "text": "بیمه درمان شما فعال است.",
    "entities": [{"type": "bold", "offset": 0, "length": 4}],
    "reply_markup": {"inline_keyboard": [[{"text": "بله", "callback_data": "yes"}]]},
}


def test_a_sent_text_is_answered_with_its_id_date_chat_and_text() -> None:
    session = JsonAiohttpSession()
    bot = PlatformBot(TG_TOKEN, platform=Platform.TELEGRAM, session=session)
    method = SendMessage(chat_id=42, text="بیمه درمان شما فعال است.")
    response = session.check_response(bot, method, 200, _answer(_ECHOED))
    sent = response.result
    assert isinstance(sent, Message)
    assert (sent.message_id, sent.chat.id, sent.chat.type) == (77, 42, "private")
    assert sent.date == dt.datetime.fromtimestamp(1765000000, dt.UTC)
    assert sent.text == "بیمه درمان شما فعال است."
    assert sent.bot is bot  # bound, as aiogram binds the messages it reads
    # What no caller reads is left out (bot.session's rule).
    assert sent.entities is None and sent.reply_markup is None and sent.from_user is None
    # The four are what aiogram's own check reads from the same answer.
    full = AiohttpSession.check_response(session, bot, method, 200, _answer(_ECHOED)).result
    assert isinstance(full, Message)
    assert (full.message_id, full.date, full.chat.id, full.text) == (
        sent.message_id,
        sent.date,
        sent.chat.id,
        sent.text,
    )


def test_refusals_and_odd_answers_go_through_aiograms_check() -> None:
    session = JsonAiohttpSession()
    bot = PlatformBot(TG_TOKEN, platform=Platform.TELEGRAM, session=session)
    method = SendMessage(chat_id=42, text="سلام")
    refused = json.dumps(
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    )
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        session.check_response(bot, method, 400, refused)
    flood = json.dumps(
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }
    )
    with pytest.raises(TelegramRetryAfter) as waited:
        session.check_response(bot, method, 429, flood)
    assert waited.value.retry_after == 3
    # A 200 whose message lacks its chat is not a sent message: aiogram's check refuses it.
    broken = {k: v for k, v in _ECHOED.items() if k != "chat"}
    with pytest.raises(ClientDecodeError):
        session.check_response(bot, method, 200, _answer(broken))
    with pytest.raises(ClientDecodeError):
        session.check_response(bot, method, 200, "not json")
    # Another method's answer is aiogram's whole object.
    me = {"id": 7000001, "is_bot": True, "first_name": "دستیار", "username": "tamin_bot"}
    user = session.check_response(bot, GetMe(), 200, _answer(me)).result
    assert user is not None and user.username == "tamin_bot"
