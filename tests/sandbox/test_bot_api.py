"""The Bot API side over real HTTP: aiogram's own Bot calls every method the assistant uses."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from sandbox import SandboxClient, SandboxServer
from sandbox.media import make_png

from .conftest import TG_TOKEN, UserFactory, make_bot


async def raw(
    sandbox: SandboxServer, method: str, *, token: str = TG_TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    """Call a method with a JSON body, bypassing aiogram's client-side checks."""
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(f"{sandbox.url}/bot{token}/{method}", json=params)
    return response.status_code, response.json()


async def test_get_me(tg_bot: Bot) -> None:
    me = await tg_bot.get_me()
    assert me.id == 4242001
    assert me.is_bot
    assert me.username == "tamin_test_bot"


async def test_get_json_and_form_bodies_are_all_read(
    sandbox: SandboxServer, new_user: UserFactory
) -> None:
    user = await new_user()
    base = f"{sandbox.url}/bot{TG_TOKEN}"
    async with httpx.AsyncClient(trust_env=False) as http:
        by_get = await http.get(
            f"{base}/sendMessage", params={"chat_id": user["id"], "text": "GET"}
        )
        by_json = await http.post(
            f"{base}/sendMessage", json={"chat_id": user["id"], "text": "JSON"}
        )
        by_form = await http.post(
            f"{base}/SENDMESSAGE",  # method names are case-insensitive
            data={
                "chat_id": str(user["id"]),
                "text": "FORM",
                "reply_markup": '{"inline_keyboard": [[{"text": "x", "callback_data": "y"}]]}',
            },
        )
    assert [r.json()["result"]["text"] for r in (by_get, by_json, by_form)] == [
        "GET",
        "JSON",
        "FORM",
    ]
    assert (
        by_form.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "y"
    )


async def test_unknown_token_and_method(sandbox: SandboxServer, tg_bot: Bot) -> None:
    stranger = make_bot(sandbox, "999:unknown-token-zzzzzzzzzz")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    status, body = await raw(sandbox, "sendTelepathy", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_send_message_with_html_and_keyboards(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    cursor = await client.cursor()
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="ارسال شماره", request_contact=True)],
            [KeyboardButton(text="راهنما")],
        ],
        resize_keyboard=True,
    )
    sent = await tg_bot.send_message(
        user["id"], "<b>سلام</b> &lt;مریم&gt;", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.text == "سلام <مریم>"
    assert sent.entities is not None and sent.entities[0].type == "bold"
    assert sent.reply_markup is None  # Telegram never echoes a reply keyboard in a Message
    assert sent.chat.id == user["id"] and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.is_bot

    inline = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="بله", callback_data="yes")]]
    )
    second = await tg_bot.send_message(
        user["id"],
        "مطمئن هستید؟",
        reply_markup=inline,
        reply_parameters=ReplyParameters(message_id=sent.message_id),
    )
    assert second.reply_markup is not None
    assert second.reply_markup.model_dump() == inline.model_dump()
    assert second.reply_to_message is not None
    assert second.reply_to_message.message_id == sent.message_id

    data = await client.events(user["id"], since=cursor)
    shown = [e["message"] for e in data["events"] if e["kind"] == "message"]
    assert shown[0]["rendered_text"] == "سلام <مریم>"
    assert shown[0]["html"] == "<b>سلام</b> &lt;مریم&gt;"
    assert shown[0]["parse_mode"] == "HTML"
    assert shown[0]["source_text"] == "<b>سلام</b> &lt;مریم&gt;"
    assert data["keyboard"]["markup"]["keyboard"][0][0]["request_contact"] is True

    await tg_bot.send_message(user["id"], "خداحافظ", reply_markup=ReplyKeyboardRemove())
    assert await client.keyboard(user["id"]) is None


async def test_edit_and_delete(tg_bot: Bot, client: SandboxClient, new_user: UserFactory) -> None:
    user = await new_user()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="الف", callback_data="a")]]
    )
    sent = await tg_bot.send_message(user["id"], "نسخهٔ اول", reply_markup=markup)

    edited = await tg_bot.edit_message_text(
        "<i>نسخهٔ دوم</i>",
        chat_id=user["id"],
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert not isinstance(edited, bool)
    assert edited.text == "نسخهٔ دوم" and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg_bot.edit_message_text(
            "<i>نسخهٔ دوم</i>",
            chat_id=user["id"],
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=markup,
        )
    other = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="ب", callback_data="b")]]
    )
    changed = await tg_bot.edit_message_reply_markup(
        chat_id=user["id"], message_id=sent.message_id, reply_markup=other
    )
    assert not isinstance(changed, bool) and changed.reply_markup is not None
    assert changed.reply_markup.model_dump() == other.model_dump()
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg_bot.edit_message_reply_markup(
            chat_id=user["id"], message_id=sent.message_id, reply_markup=other
        )
    # An edit that does not repeat the inline keyboard removes it, as on Telegram.
    plain = await tg_bot.edit_message_text("سوم", chat_id=user["id"], message_id=sent.message_id)
    assert not isinstance(plain, bool) and plain.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await tg_bot.edit_message_text("x", chat_id=user["id"], message_id=9999)

    assert await tg_bot.delete_message(user["id"], sent.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await tg_bot.delete_message(user["id"], sent.message_id)
    messages = await client.messages(user["id"], include_deleted=True)
    final = next(m for m in messages if m["message_id"] == sent.message_id)
    assert final["deleted"] and final["edited"] and final["rendered_text"] == "سوم"


async def test_chat_action_commands_and_properties(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    cursor = await client.cursor()
    assert await tg_bot.send_chat_action(user["id"], ChatAction.TYPING)
    events = (await client.events(user["id"], since=cursor))["events"]
    assert [(e["kind"], e["action"]) for e in events] == [("chat_action", "typing")]

    commands = [
        BotCommand(command="start", description="شروع"),
        BotCommand(command="help", description="راهنما"),
    ]
    assert await tg_bot.set_my_commands(commands)
    assert [c.model_dump() for c in await tg_bot.get_my_commands()] == [
        c.model_dump() for c in commands
    ]
    assert await tg_bot.set_my_commands(
        [BotCommand(command="menu", description="فهرست")], language_code="fa"
    )
    assert [c.command for c in await tg_bot.get_my_commands(language_code="fa")] == ["menu"]
    assert await tg_bot.delete_my_commands()
    assert await tg_bot.get_my_commands() == []
    assert await tg_bot.set_my_description("دستیار")
    assert await tg_bot.set_my_short_description("دستیار")
    chat = await tg_bot.get_chat(user["id"])
    assert chat.id == user["id"] and chat.first_name == "مریم"


async def test_photo_document_get_file_and_download(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user()
    png = make_png(200, 100)
    photo = await tg_bot.send_photo(
        user["id"], BufferedInputFile(png, "scan.png"), caption="<b>رسید</b>", parse_mode="HTML"
    )
    assert photo.photo is not None and photo.photo[-1].width == 200
    assert photo.photo[0].width == 90  # a thumbnail first, the original last
    assert photo.caption == "رسید"

    document = await tg_bot.send_document(
        user["id"], BufferedInputFile(b"%PDF-1.4 test", "fish.pdf"), caption="فیش حقوقی"
    )
    assert document.document is not None and document.document.file_name == "fish.pdf"

    file = await tg_bot.get_file(document.document.file_id)
    assert file.file_path and file.file_size == len(b"%PDF-1.4 test")
    buffer = io.BytesIO()
    await tg_bot.download_file(file.file_path, buffer)
    assert buffer.getvalue() == b"%PDF-1.4 test"

    # The same file again, by file_id, with no upload.
    again = await tg_bot.send_photo(user["id"], photo.photo[-1].file_id)
    assert again.photo is not None and again.photo[-1].file_id == photo.photo[-1].file_id

    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await tg_bot.send_photo(user["id"], BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await tg_bot.send_document(user["id"], "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await tg_bot.get_file("no-such-file-id")

    shown = await client.messages(user["id"])
    assert shown[-2]["file"]["file_name"] == "fish.pdf"
    assert shown[-3]["html"] == "<b>رسید</b>"


async def test_user_sent_photo_can_be_downloaded_by_the_bot(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    png = make_png(300, 300, "#123456")
    import base64

    await client.request(
        "POST",
        f"/users/{user['id']}/photo",
        {"data_base64": base64.b64encode(png).decode(), "caption": "پیوست"},
    )
    updates = await tg_bot.get_updates()
    message = updates[-1].message
    assert message is not None and message.photo is not None and message.caption == "پیوست"
    buffer = io.BytesIO()
    await tg_bot.download(message.photo[-1].file_id, buffer)
    assert buffer.getvalue() == png


async def test_copy_forward_location_contact(tg_bot: Bot, new_user: UserFactory) -> None:
    user = await new_user()
    sent = await tg_bot.send_message(user["id"], "اصل")
    copied = await tg_bot.copy_message(user["id"], user["id"], sent.message_id)
    assert copied.message_id == sent.message_id + 1
    forwarded = await tg_bot.forward_message(user["id"], user["id"], sent.message_id)
    assert forwarded.text == "اصل" and forwarded.forward_origin is not None
    located = await tg_bot.send_location(user["id"], 35.7, 51.4)
    assert located.location is not None and located.location.latitude == 35.7
    contact = await tg_bot.send_contact(user["id"], "1420", "تأمین اجتماعی")
    assert contact.contact is not None and contact.contact.phone_number == "1420"


async def test_chat_not_found_cannot_initiate_and_blocked(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await tg_bot.send_message(123456789, "سلام")
    silent = await new_user(started=False)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await tg_bot.send_message(silent["id"], "سلام")

    user = await new_user()
    await client.block(user["id"])
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await tg_bot.send_message(user["id"], "سلام")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await tg_bot.send_chat_action(user["id"], "typing")
    await client.unblock(user["id"])
    assert (await tg_bot.send_message(user["id"], "سلام دوباره")).text == "سلام دوباره"

    kinds = [u.event_type for u in await tg_bot.get_updates()]
    assert kinds.count("my_chat_member") == 2  # blocked, then unblocked


async def test_answer_callback_query(
    tg_bot: Bot, client: SandboxClient, new_user: UserFactory
) -> None:
    user = await new_user(started=False)
    await client.send_text(user["id"], "سلام")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="تأیید", callback_data="ok")]]
    )
    sent = await tg_bot.send_message(user["id"], "تأیید می‌کنید؟", reply_markup=markup)
    pressed = await client.press_inline_button(user["id"], text="تأیید")
    assert pressed["message_id"] == sent.message_id

    updates = await tg_bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.data == "ok" and query.id == pressed["callback_query_id"]
    assert query.message is not None and query.message.message_id == sent.message_id
    assert (await client.callbacks(unanswered=True))[0]["id"] == query.id

    assert await tg_bot.answer_callback_query(query.id, text="ثبت شد", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await tg_bot.answer_callback_query(query.id)
    assert await client.callbacks(unanswered=True) == []
    answered = (await client.callbacks())[0]["answer"]
    assert answered["text"] == "ثبت شد" and answered["show_alert"] is True


# ----------------------------------------------------------------------------- refusals


async def test_text_rules(tg_bot: Bot, sandbox: SandboxServer, new_user: UserFactory) -> None:
    user = await new_user()
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await tg_bot.send_message(user["id"], "")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await tg_bot.send_message(user["id"], "  \n ")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message text is empty"):
        await tg_bot.send_message(user["id"], "<b> </b>", parse_mode="HTML")
    assert (await tg_bot.send_message(user["id"], "ب" * 4096)).text == "ب" * 4096
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await tg_bot.send_message(user["id"], "ب" * 4097)
    # The limit applies after parsing: tags do not count.
    assert await tg_bot.send_message(user["id"], "<b>" + "ب" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message caption is too long"):
        await tg_bot.send_photo(
            user["id"], BufferedInputFile(make_png(), "a.png"), caption="ک" * 1025
        )


@pytest.mark.parametrize(
    ("text", "parse_mode", "reason"),
    [
        ("سطر<br>سطر", "HTML", 'Unsupported start tag "br"'),
        ("<b>پررنگ", "HTML", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "HTML", "Unmatched end tag"),
        ("سن < ۱۸", "HTML", 'Unsupported start tag ""'),
        ("تأمین & رفاه", "HTML", 'Unescaped "&"'),
        ("کد *1420*4#. ", "MarkdownV2", "Character '#' is reserved"),
    ],
)
async def test_unparsable_text_is_refused(
    tg_bot: Bot, new_user: UserFactory, text: str, parse_mode: str, reason: str
) -> None:
    user = await new_user()
    with pytest.raises(TelegramBadRequest) as caught:
        await tg_bot.send_message(user["id"], text, parse_mode=parse_mode)
    assert caught.value.message.startswith("Bad Request: can't parse entities: ")
    assert reason in caught.value.message


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        (
            {"keyboard": [[{"request_contact": True}]]},
            "can't parse keyboard button: Can't find field \"text\"",
        ),
        ({"keyboard": [[{"text": " "}]]}, "BUTTON_TEXT_INVALID"),
        (
            {"keyboard": [{"text": "x"}]},
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays',
        ),
        (
            {"inline_keyboard": [[{"text": "x"}]]},
            "Text buttons are unallowed in the inline keyboard",
        ),
        ({"inline_keyboard": [[{"callback_data": "x"}]]}, 'Can\'t find field "text"'),
        (
            {
                "inline_keyboard": [
                    [{"text": "x", "callback_data": "a", "url": "https://tamin.ir"}]
                ]
            },
            "exactly one of the optional fields must be used",
        ),
        (
            {"inline_keyboard": [[{"text": "x", "callback_data": "ب" * 33}]]},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        ({"inline_keyboard": [[{"text": "x", "url": "tamin"}]]}, "BUTTON_URL_INVALID"),
        (
            {"inline_keyboard": [[{"text": "x", "callback_data": str(i)} for i in range(101)]]},
            "REPLY_MARKUP_TOO_LONG",
        ),
        ({"colour": "green"}, "can't parse reply keyboard markup JSON object"),
    ],
)
async def test_malformed_keyboards_are_refused(
    sandbox: SandboxServer, new_user: UserFactory, markup: dict[str, Any], reason: str
) -> None:
    user = await new_user()
    status, body = await raw(
        sandbox, "sendMessage", chat_id=user["id"], text="x", reply_markup=markup
    )
    assert status == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request: ")
    assert reason in body["description"]


async def test_callback_data_of_exactly_64_bytes_is_taken(
    tg_bot: Bot, new_user: UserFactory
) -> None:
    user = await new_user()
    data = "ب" * 32  # 64 bytes in UTF-8
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data=data)]]
    )
    assert await tg_bot.send_message(user["id"], "x", reply_markup=markup)
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data=data + "a")]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await tg_bot.send_message(user["id"], "x", reply_markup=too_long)


async def test_other_refusals(tg_bot: Bot, sandbox: SandboxServer, new_user: UserFactory) -> None:
    user = await new_user()
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await tg_bot.send_chat_action(user["id"], "dancing")
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await tg_bot.set_my_commands([BotCommand(command="Start-Now", description="x")])
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await tg_bot.send_message(
            user["id"], "x", reply_parameters=ReplyParameters(message_id=999)
        )
    status, body = await raw(sandbox, "sendMessage", text="x")
    assert status == 400 and body["description"] == "Bad Request: chat_id is empty"
    status, body = await raw(
        sandbox, "sendMessage", chat_id=user["id"], text="x", reply_markup="{oops"
    )
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
