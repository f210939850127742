"""The Bot API side of the sandbox: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Requests come as Telegram takes them (GET query, JSON, urlencoded or multipart form; aiogram's
AiohttpSession posts a form, multipart when it uploads, with JSON-encoded objects and
``attach://<name>`` references to file parts). Method names are case-insensitive. Answers use
Telegram's JSON shapes so aiogram's pydantic types parse them, and refusals use Telegram's
status codes and descriptions so aiogram raises the same exceptions it would in production.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from sandbox import errors
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
from sandbox.keyboards import markup_kind, validate_reply_markup
from sandbox.models import StoredMessage, Upload, WebhookState
from sandbox.webhook import start_delivery
from sandbox.world import BotState, SandboxWorld

logger = logging.getLogger(__name__)


_INT_FIELDS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "duration",
        "width",
        "height",
        "user_id",
        "length",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "remove_caption",
        "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "message_ids",
        "menu_button",
    }
)
# Calls that read or wait rather than act: they do not keep the sandbox from being idle.
_PASSIVE = frozenset(
    {"getupdates", "getme", "getwebhookinfo", "getmycommands", "getchat", "getfile"}
)
# Calls Telegram's flood control counts.
_FLOOD_COUNTED = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvoice",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendsticker",
        "sendlocation",
        "sendcontact",
        "copymessage",
        "forwardmessage",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
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
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_MEDIA_METHODS = {
    "sendphoto": "photo",
    "senddocument": "document",
    "sendvoice": "voice",
    "sendaudio": "audio",
    "sendvideo": "video",
    "sendanimation": "animation",
    "sendsticker": "sticker",
    "sendvideonote": "video_note",
}


def coerce_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn form strings into the types Telegram reads them as (JSON bodies are typed already)."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name in _JSON_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise bad_request(errors.MARKUP_JSON) from None
                if name in ("entities", "caption_entities"):
                    raise bad_request(errors.ENTITIES_JSON) from None
                raise bad_request(f"can't parse {name} JSON object") from None
        elif name in _INT_FIELDS and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise bad_request(f'field "{name}" must be of type Integer') from None
        elif name in _BOOL_FIELDS and isinstance(value, str):
            value = value.strip().lower() in ("true", "1", "yes")
        elif name in ("chat_id", "from_chat_id") and isinstance(value, str):
            stripped = value.strip()
            if stripped.lstrip("-").isdigit():
                value = int(stripped)
        params[name] = value
    return params


Handler = Callable[["Call"], Awaitable[Any]]


@dataclass
class Call:
    """One Bot API call in progress."""

    world: SandboxWorld
    bot: BotState
    method: str
    params: dict[str, Any]
    files: dict[str, Upload]

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f'field "{name}" must be of type Integer')
        return value


class BotApi:
    """Executes Bot API methods against a :class:`SandboxWorld`."""

    def __init__(self, world: SandboxWorld) -> None:
        self.world = world
        self._methods: dict[str, Handler] = {
            "getme": self.get_me,
            "logout": self.ok_true,
            "close": self.ok_true,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setmydescription": self.set_property("description"),
            "setmyshortdescription": self.set_property("short_description"),
            "setmyname": self.set_property("name"),
            "setchatmenubutton": self.ok_true,
            "getfile": self.get_file,
            "sendlocation": self.send_location,
            "sendcontact": self.send_contact,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "getchat": self.get_chat,
        }
        for method_name in _MEDIA_METHODS:
            self._methods[method_name] = self.send_media

    async def call(
        self,
        token: str,
        method: str,
        raw_params: dict[str, Any],
        files: dict[str, Upload] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Run one method; returns the HTTP status and Telegram's JSON body."""
        bot = self.world.bot_by_token(token)
        if bot is None:
            return 401, BotApiError(401, errors.UNAUTHORIZED).body()
        name = method.lower()
        handler = self._methods.get(name)
        if handler is None:
            return 404, BotApiError(404, errors.NOT_FOUND).body()
        passive = name in _PASSIVE
        started = time.monotonic()
        if not passive:
            self.world.begin_call()
        body: dict[str, Any]
        params: dict[str, Any] = raw_params
        try:
            params = coerce_params(raw_params)
            self.world.check_faults(bot, method, params.get("chat_id"))
            if name in _FLOOD_COUNTED:
                self.world.check_flood(bot, params.get("chat_id"))
            result = await handler(Call(self.world, bot, method, params, files or {}))
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            else:
                body = {"ok": True, "result": result}
            status = 200
        except BotApiError as error:
            status, body = error.error_code, error.body()
        finally:
            if not passive:
                self.world.end_call()
        # The call log (control API /calls) shows parameters as read, file parts by name only.
        logged = {k: v for k, v in params.items() if not isinstance(v, (bytes, bytearray))}
        if files:
            logged["_files"] = {k: (f.filename, len(f.data)) for k, f in files.items()}
        self.world.log_call(bot, method, logged, body, started)
        return status, body

    # ------------------------------------------------------------------------- basics

    async def ok_true(self, call: Call) -> bool:
        return True

    async def get_me(self, call: Call) -> dict[str, Any]:
        return call.bot.me_api()

    def set_property(self, key: str) -> Handler:
        async def handler(call: Call) -> bool:
            value = call.params.get(key, "")
            call.bot.properties[key] = str(value)
            return True

        return handler

    async def get_chat(self, call: Call) -> dict[str, Any]:
        chat = call.world.chat_for_bot(call.bot, call.params.get("chat_id"))
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    # ------------------------------------------------------------------------ updates

    async def get_updates(self, call: Call) -> list[dict[str, Any]]:
        bot, world = call.bot, call.world
        if bot.webhook is not None:
            raise BotApiError(409, errors.WEBHOOK_ACTIVE)
        offset = call.int_param("offset")
        limit = call.int_param("limit", 100) or 100
        limit = min(max(limit, 1), 100)
        timeout = max(call.int_param("timeout", 0) or 0, 0)
        allowed = call.params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(t, str) for t in allowed):
                raise bad_request("can't parse allowed_updates JSON object")
            bot.allowed_updates = allowed
        bot.has_consumer = True
        bot.poll_generation += 1
        generation = bot.poll_generation
        # A newer poll ends an older one, which gets 409: Telegram's guard against two instances.
        bot.arrived.notify()
        if offset is not None:
            world.confirm(bot, offset)
        deadline = time.monotonic() + timeout
        while True:
            if bot.poll_generation != generation:
                raise BotApiError(409, errors.POLL_TERMINATED)
            if bot.webhook is not None:
                raise BotApiError(409, errors.WEBHOOK_ACTIVE)
            ready = [u for u in bot.updates if bot.allows(u.type)]
            if len(ready) != len(bot.updates):
                bot.keep_updates(ready)
            if ready or world.closing:
                batch = ready[:limit]
                world.mark_delivered(bot, batch)
                return [update.to_api() for update in batch]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await bot.arrived.wait(remaining)

    async def set_webhook(self, call: Call) -> _Described:
        bot, world = call.bot, call.world
        url = str(call.params.get("url", "") or "").strip()
        if not url:
            return await self.delete_webhook(call)
        if not re.match(r"^https?://", url, re.I):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        if world.config.webhook_require_https and not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = call.params.get("secret_token")
        if bot.is_bale:
            # Bale's setWebhook has no secret token; its requests never carry the header.
            secret = None
        elif secret is not None:
            secret = str(secret)
            if not _SECRET_TOKEN_RE.match(secret):
                raise BotApiError(400, errors.SECRET_TOKEN_CHARS)
        max_connections = call.int_param("max_connections", 40) or 40
        allowed = call.params.get("allowed_updates")
        if allowed is not None:
            bot.allowed_updates = list(allowed)
        if call.params.get("drop_pending_updates"):
            bot.clear_updates()
        previous = bot.webhook
        bot.webhook = WebhookState(url, secret, max(1, min(max_connections, 100)))
        bot.has_consumer = True
        if previous is not None and previous.task is not None:
            previous.task.cancel()
        # Any getUpdates still waiting must now fail with 409, as on Telegram.
        bot.arrived.notify()
        bot.webhook.task = start_delivery(world, bot, self)
        return _Described(True, "Webhook was set")

    async def delete_webhook(self, call: Call) -> _Described:
        bot = call.bot
        if call.params.get("drop_pending_updates"):
            bot.clear_updates()
        if bot.webhook is None:
            return _Described(True, "Webhook is already deleted")
        task = bot.webhook.task
        bot.webhook = None
        bot.webhook_inbox.clear()
        if task is not None:
            task.cancel()
        return _Described(True, "Webhook was deleted")

    async def get_webhook_info(self, call: Call) -> dict[str, Any]:
        bot = call.bot
        info: dict[str, Any] = {
            "url": bot.webhook.url if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": bot.undelivered(),
        }
        if bot.webhook is not None:
            info["max_connections"] = bot.webhook.max_connections
            if bot.webhook.last_error_date is not None:
                info["last_error_date"] = bot.webhook.last_error_date
                info["last_error_message"] = bot.webhook.last_error_message
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
        return info

    # ---------------------------------------------------------------------- messages

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
            and markup == _inline_or_none(message.reply_markup)
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
        if markup == _inline_or_none(message.reply_markup):
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

    # ---------------------------------------------------------------------- commands

    @staticmethod
    def _commands_key(call: Call) -> str:
        scope = call.params.get("scope") or {"type": "default"}
        language = call.params.get("language_code") or ""
        return json.dumps([scope, language], sort_keys=True, ensure_ascii=False)

    async def set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise BotApiError(400, errors.COMMANDS_TOO_MUCH)
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse commands JSON object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise BotApiError(400, errors.COMMAND_INVALID)
            if not 1 <= len(description.strip()) <= 256:
                raise BotApiError(400, errors.COMMAND_DESCRIPTION_INVALID)
            cleaned.append({"command": command, "description": description})
        call.bot.commands[self._commands_key(call)] = cleaned
        return True

    async def get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        return call.bot.commands.get(self._commands_key(call), [])

    async def delete_my_commands(self, call: Call) -> bool:
        call.bot.commands.pop(self._commands_key(call), None)
        return True

    # ------------------------------------------------------------------------- files

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
        kind = _MEDIA_METHODS[call.method.lower()]
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


@dataclass
class _Described:
    """A result that Telegram answers with a ``description`` as well (the webhook methods)."""

    result: Any
    description: str


def _inline_or_none(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup_kind(markup) == "inline" else None


async def read_request(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters and file parts of a Bot API request, whatever its encoding."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    if request.method != "POST":
        return params, files
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            params.update(body)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=1000, max_fields=1000, max_part_size=4 * 1024 * 1024)
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = Upload(value.filename, value.content_type, await value.read())
            else:
                params[key] = value
        await form.close()
    return params, files


def build_router(api: BotApi) -> APIRouter:
    """The Bot API routes, bound to one :class:`BotApi`."""
    router = APIRouter()

    @router.api_route("/bot{token}/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def bot_method(token: str, method: str, request: Request) -> Response:
        try:
            params, files = await read_request(request)
        except BotApiError as error:
            return JSONResponse(error.body(), status_code=error.error_code)
        status, body = await api.call(token, method, params, files)
        return JSONResponse(body, status_code=status)

    @router.get("/file/bot{token}/{file_path:path}", include_in_schema=False)
    async def download(token: str, file_path: str) -> Response:
        if api.world.bot_by_token(token) is None:
            return JSONResponse(BotApiError(401, errors.UNAUTHORIZED).body(), status_code=401)
        stored = api.world.files_by_path.get(file_path)
        if stored is None:
            return JSONResponse(BotApiError(404, errors.NOT_FOUND).body(), status_code=404)
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    return router
