"""The Bot API methods that send and change messages: text, edits, deletions, callback answers
and chat actions (:class:`MessageMethods`), then media, locations, contacts, files, copies and
forwards (:class:`MediaMethods`). :class:`sandbox.botapi.BotApi` routes calls to them.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sandbox import errors
from sandbox.bot_calls import Call, inline_or_none
from sandbox.errors import BotApiError, bad_request
from sandbox.formatting import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    EntityParseError,
    Formatted,
    parse_text,
    render_bale,
    strip_formatted,
    utf16_len,
)
from sandbox.keyboards import validate_reply_markup
from sandbox.models import StoredMessage, Upload

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEDIA_METHODS = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendvoice": "voice",
    "sendaudio": "audio",
    "sendvideo": "video",
    "sendanimation": "animation",
    "sendsticker": "sticker",
    "sendvideonote": "video_note",
}


class MessageMethods:
    """sendMessage, the edits and deletions, answerCallbackQuery and sendChatAction."""

    def _formatted(
        self, call: Call, text: Any, *, limit: int, entities_key: str, empty: str, too_long: str
    ) -> tuple[str, list[dict[str, Any]], Formatted, str | None]:
        """Text (as the API reports it), entities, what the reader sees, and the parse mode."""
        bot = call.bot
        source = "" if text is None else str(text)
        parse_mode = call.params.get("parse_mode")
        parse_mode = str(parse_mode) if parse_mode else None
        if bot.is_bale:
            # Bale has no parse_mode (it is ignored) and reports the text as sent; its clients
            # render Markdown from it.
            if not source.strip():
                raise bad_request(empty)
            if utf16_len(source) > limit:
                raise bad_request(too_long)
            shown = strip_formatted(render_bale(source))
            return source, [], shown, parse_mode
        given_entities = call.params.get(entities_key)
        if given_entities is not None:
            if not isinstance(given_entities, list):
                raise bad_request(errors.ENTITIES_JSON)
            parsed = Formatted(source, [e for e in given_entities if isinstance(e, dict)])
        else:
            try:
                parsed = parse_text(
                    source, parse_mode, strict_ampersand=call.world.config.strict_html_ampersand
                )
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        parsed = strip_formatted(parsed)
        if not parsed.text:
            raise bad_request(empty)
        if parsed.utf16_length > limit:
            raise bad_request(too_long)
        return parsed.text, parsed.entities, parsed, parse_mode

    def _reply_to(self, call: Call, chat: Any) -> StoredMessage | None:
        reply_id = call.params.get("reply_to_message_id")
        allow_missing = bool(call.params.get("allow_sending_without_reply"))
        parameters = call.params.get("reply_parameters")
        if isinstance(parameters, dict):
            reply_id = parameters.get("message_id", reply_id)
            allow_missing = bool(parameters.get("allow_sending_without_reply", allow_missing))
        if reply_id is None:
            return None
        message: StoredMessage | None = chat.messages.get(int(reply_id))
        if message is None or message.deleted:
            if allow_missing:
                return None
            raise BotApiError(400, errors.REPLY_NOT_FOUND)
        return message

    async def send_message(self, call: Call) -> dict[str, Any]:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        text, entities, shown, parse_mode = self._formatted(
            call,
            call.params.get("text"),
            limit=MAX_TEXT_LENGTH,
            entities_key="entities",
            empty=errors.TEXT_EMPTY,
            too_long=errors.TEXT_TOO_LONG,
        )
        markup = validate_reply_markup(call.params.get("reply_markup"))
        reply_to = self._reply_to(call, chat)
        message = call.world.store_bot_message(
            call.bot,
            chat,
            kind="text",
            text=text,
            entities=entities,
            source_text=str(call.params.get("text")),
            parse_mode=parse_mode,
            rendered=shown,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return message.to_api()

    def _own_message(self, call: Call, *, not_found: str) -> tuple[Any, StoredMessage]:
        if call.params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        message_id = call.int_param("message_id")
        if message_id is None:
            raise BotApiError(400, errors.MESSAGE_ID_MISSING)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request(not_found)
        if message.sender != "bot":
            raise BotApiError(400, errors.MESSAGE_CANT_BE_EDITED)
        return chat, message

    async def edit_message_text(self, call: Call) -> dict[str, Any]:
        chat, message = self._own_message(call, not_found=errors.MESSAGE_TO_EDIT_NOT_FOUND)
        if message.text is None:
            raise BotApiError(400, errors.NO_TEXT_TO_EDIT)
        text, entities, shown, parse_mode = self._formatted(
            call,
            call.params.get("text"),
            limit=MAX_TEXT_LENGTH,
            entities_key="entities",
            empty=errors.TEXT_EMPTY,
            too_long=errors.TEXT_TOO_LONG,
        )
        markup = validate_reply_markup(call.params.get("reply_markup"), inline_only=True)
        if (
            text == message.text
            and entities == message.entities
            and markup == inline_or_none(message.reply_markup)
        ):
            raise BotApiError(400, errors.NOT_MODIFIED)
        message.text = text
        message.entities = entities
        message.source_text = str(call.params.get("text"))
        message.parse_mode = parse_mode
        message.rendered = shown
        # Telegram drops the inline keyboard when an edit does not repeat it.
        message.reply_markup = markup
        message.edit_date = int(time.time())
        call.world.note_edit(chat, message)
        return message.to_api()

    async def edit_message_caption(self, call: Call) -> dict[str, Any]:
        chat, message = self._own_message(call, not_found=errors.MESSAGE_TO_EDIT_NOT_FOUND)
        if message.file is None:
            raise bad_request("there is no caption in the message to edit")
        caption = call.params.get("caption")
        markup = validate_reply_markup(call.params.get("reply_markup"), inline_only=True)
        if caption:
            text, entities, shown, parse_mode = self._formatted(
                call,
                caption,
                limit=MAX_CAPTION_LENGTH,
                entities_key="caption_entities",
                empty=errors.TEXT_EMPTY,
                too_long=errors.CAPTION_TOO_LONG,
            )
            message.caption, message.caption_entities, message.rendered = text, entities, shown
            message.parse_mode = parse_mode
            message.source_text = str(caption)
        else:
            message.caption, message.caption_entities, message.rendered = None, [], None
        message.reply_markup = markup
        message.edit_date = int(time.time())
        call.world.note_edit(chat, message)
        return message.to_api()

    async def edit_message_reply_markup(self, call: Call) -> dict[str, Any]:
        chat, message = self._own_message(call, not_found=errors.MESSAGE_TO_EDIT_NOT_FOUND)
        markup = validate_reply_markup(call.params.get("reply_markup"), inline_only=True)
        if markup == inline_or_none(message.reply_markup):
            raise BotApiError(400, errors.NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        call.world.note_edit(chat, message)
        return message.to_api()

    async def delete_message(self, call: Call) -> bool:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        message_id = call.int_param("message_id")
        if message_id is None:
            raise BotApiError(400, errors.MESSAGE_ID_MISSING)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise BotApiError(400, errors.MESSAGE_TO_DELETE_NOT_FOUND)
        message.deleted = True
        call.world.note_delete(chat, message)
        return True

    async def delete_messages(self, call: Call) -> bool:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        ids = call.params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a list of 1-100 message identifiers")
        for message_id in ids:
            message = chat.messages.get(int(message_id))
            if message is not None and not message.deleted:
                message.deleted = True
                call.world.note_delete(chat, message)
        return True

    async def answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        record = call.bot.callbacks.get(query_id)
        if record is None or record.answer is not None:
            raise BotApiError(400, errors.QUERY_TOO_OLD)
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = {
            "text": text,
            "show_alert": bool(call.params.get("show_alert", False)),
            "url": call.params.get("url"),
            "answered_at": time.time(),
        }
        call.world.note_callback_answer(call.bot, record)
        return True

    async def send_chat_action(self, call: Call) -> bool:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        action = call.params.get("action")
        if action not in _CHAT_ACTIONS:
            raise BotApiError(400, errors.WRONG_ACTION)
        call.world.note_chat_action(chat, str(action))
        return True


class MediaMethods(MessageMethods):
    """The media senders, sendLocation, sendContact, getFile, copyMessage and forwardMessage."""

    def _input_file(self, call: Call, field: str) -> Upload | str:
        value = call.params.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"wrong remote file identifier specified: {field} not found")
            return upload
        if value is None and field in call.files:
            return call.files[field]
        if value is None or value == "":
            raise bad_request(f"there is no {field} in the request")
        return str(value)

    async def send_media(self, call: Call) -> dict[str, Any]:
        kind = MEDIA_METHODS[call.method.lower()]
        world, bot = call.world, call.bot
        chat = world.chat_for_bot(bot, call.params.get("chat_id"))
        given = self._input_file(call, kind)
        media_fields: dict[str, Any]
        if isinstance(given, Upload):
            if len(given.data) > world.config.max_upload_bytes:
                raise BotApiError(413, "Request Entity Too Large")
            if kind == "photo":
                made = world.photo_sizes(given.data)
                if made is None:
                    raise BotApiError(400, errors.IMAGE_PROCESS_FAILED)
                media_fields, stored = {"photo": made[0]}, made[1]
            else:
                stored = world.store_file(
                    kind,
                    given.data,
                    file_name=given.filename,
                    mime_type=given.content_type or None,
                )
                media_fields = {kind: stored.media_api()}
        elif re.match(r"^https?://", given, re.I):
            # The sandbox has no internet to fetch from, as a bot behind a firewall would find.
            raise BotApiError(400, errors.URL_CONTENT)
        else:
            found = world.files.get(given)
            if found is None:
                raise BotApiError(400, errors.WRONG_FILE_ID)
            if (found.kind == "photo") != (kind == "photo"):
                raise bad_request(f"can't use file of type {found.kind.title()} as {kind.title()}")
            stored = found
            media_fields = (
                {"photo": [{**found.base_api(), "width": found.width, "height": found.height}]}
                if kind == "photo"
                else {kind: found.media_api()}
            )
        caption = call.params.get("caption")
        text = entities = shown = parse_mode = None
        if caption:
            text, entities, shown, parse_mode = self._formatted(
                call,
                caption,
                limit=MAX_CAPTION_LENGTH,
                entities_key="caption_entities",
                empty=errors.TEXT_EMPTY,
                too_long=errors.CAPTION_TOO_LONG,
            )
        markup = validate_reply_markup(call.params.get("reply_markup"))
        message = world.store_bot_message(
            bot,
            chat,
            kind=kind,
            caption=text,
            caption_entities=entities,
            source_text=str(caption) if caption else None,
            parse_mode=parse_mode,
            rendered=shown,
            media_fields=media_fields,
            file=stored,
            reply_markup=markup,
            reply_to=self._reply_to(call, chat),
        )
        return message.to_api()

    async def send_location(self, call: Call) -> dict[str, Any]:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        try:
            latitude = float(call.params["latitude"])
            longitude = float(call.params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("latitude and longitude are required") from None
        markup = validate_reply_markup(call.params.get("reply_markup"))
        message = call.world.store_bot_message(
            call.bot,
            chat,
            kind="location",
            media_fields={"location": {"latitude": latitude, "longitude": longitude}},
            reply_markup=markup,
        )
        return message.to_api()

    async def send_contact(self, call: Call) -> dict[str, Any]:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        phone = call.params.get("phone_number")
        first_name = call.params.get("first_name")
        if not phone or not first_name:
            raise bad_request("phone_number and first_name are required")
        contact = {"phone_number": str(phone), "first_name": str(first_name)}
        if call.params.get("last_name"):
            contact["last_name"] = str(call.params["last_name"])
        markup = validate_reply_markup(call.params.get("reply_markup"))
        message = call.world.store_bot_message(
            call.bot, chat, kind="contact", media_fields={"contact": contact}, reply_markup=markup
        )
        return message.to_api()

    async def get_file(self, call: Call) -> dict[str, Any]:
        file_id = str(call.params.get("file_id", ""))
        stored = call.world.files.get(file_id)
        if stored is None:
            raise BotApiError(400, errors.INVALID_FILE_ID)
        if stored.size > call.world.config.max_download_bytes:
            raise BotApiError(400, errors.FILE_TOO_BIG)
        return {**stored.base_api(), "file_path": stored.file_path}

    # ------------------------------------------------------------------ copy and forward

    def _source_message(self, call: Call) -> StoredMessage:
        source_chat = call.world.chat_for_bot(call.bot, call.params.get("from_chat_id"))
        message_id = call.int_param("message_id")
        if message_id is None:
            raise BotApiError(400, errors.MESSAGE_ID_MISSING)
        message = source_chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to copy not found")
        return message

    async def copy_message(self, call: Call) -> dict[str, Any]:
        source = self._source_message(call)
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        caption = call.params.get("caption", source.caption)
        markup = validate_reply_markup(call.params.get("reply_markup"))
        copy = call.world.store_bot_message(
            call.bot,
            chat,
            kind=source.kind,
            text=source.text,
            entities=source.entities,
            caption=caption,
            caption_entities=source.caption_entities if caption == source.caption else [],
            source_text=source.source_text,
            parse_mode=source.parse_mode,
            rendered=source.rendered,
            media_fields=dict(source.media),
            file=source.file,
            reply_markup=markup,
        )
        return {"message_id": copy.message_id}

    async def forward_message(self, call: Call) -> dict[str, Any]:
        source = self._source_message(call)
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        origin = source.forward_origin or {
            "type": "user",
            "date": source.date,
            "sender_user": source.from_api,
        }
        forwarded = call.world.store_bot_message(
            call.bot,
            chat,
            kind=source.kind,
            text=source.text,
            entities=source.entities,
            caption=source.caption,
            caption_entities=source.caption_entities,
            source_text=source.source_text,
            parse_mode=source.parse_mode,
            rendered=source.rendered,
            media_fields=dict(source.media),
            file=source.file,
            forward_origin=origin,
        )
        return forwarded.to_api()
