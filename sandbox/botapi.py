"""The Bot API side of the sandbox: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Requests come as Telegram takes them (GET query, JSON, urlencoded or multipart form; aiogram's
AiohttpSession posts a form, multipart when it uploads, with JSON-encoded objects and
``attach://<name>`` references to file parts). Method names are case-insensitive. Answers use
Telegram's JSON shapes so aiogram's pydantic types parse them, and refusals use Telegram's
status codes and descriptions so aiogram raises the same exceptions it would in production.

:class:`BotApi` runs a call (faults, flood control, the call log) and holds the update,
webhook and command methods; reading a request is :mod:`sandbox.bot_calls`, and the methods
that send or change messages are :mod:`sandbox.bot_messages`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox import errors
from sandbox.bot_calls import Call, Described, Handler, coerce_params, read_request
from sandbox.bot_messages import MEDIA_METHODS, MediaMethods
from sandbox.errors import BotApiError, bad_request
from sandbox.models import Upload, WebhookState
from sandbox.webhook import start_delivery
from sandbox.world import SandboxWorld

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
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class BotApi(MediaMethods):
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
        for method_name in MEDIA_METHODS:
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
            if isinstance(result, Described):
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

    async def set_webhook(self, call: Call) -> Described:
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
        return Described(True, "Webhook was set")

    async def delete_webhook(self, call: Call) -> Described:
        bot = call.bot
        if call.params.get("drop_pending_updates"):
            bot.clear_updates()
        if bot.webhook is None:
            return Described(True, "Webhook is already deleted")
        task = bot.webhook.task
        bot.webhook = None
        bot.webhook_inbox.clear()
        if task is not None:
            task.cancel()
        return Described(True, "Webhook was deleted")

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
