"""The control API under ``/sandbox/api``: what tests, the benchmark and the web chat do as people.

Every endpoint takes and returns JSON (one multipart upload for the web chat). A user action
answers with the update it produced and a ``cursor``: the events after that cursor are the
bot's reaction. ``bot`` (id, username, token, or "telegram"/"bale") picks the bot when the
sandbox hosts several; it defaults to the first. Refusals answer ``{"ok": false, "error": …}``
with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from sandbox import media
from sandbox.config import FloodLimits, Platform, SandboxBot
from sandbox.errors import ControlError
from sandbox.models import PendingUpdate, StoredMessage
from sandbox.web_strings import PERSONAS, UNKNOWN_NUMBER
from sandbox.world import SandboxWorld

BotRef = str | int | None
MediaKind = Literal["sticker", "voice", "video", "audio", "animation", "video_note"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BotIn(_Body):
    token: str
    platform: Platform = "telegram"
    username: str | None = None
    first_name: str = "دستیار تأمین اجتماعی"


class UserIn(_Body):
    id: int | None = None
    first_name: str = "کاربر آزمایشی"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fa"
    phone_number: str | None = None


class _ToBot(_Body):
    bot: BotRef = None
    chat_id: int | None = None


class TextIn(_ToBot):
    text: str
    reply_to_message_id: int | None = None
    chat_title: str | None = None


class CommandIn(_ToBot):
    command: str
    args: str | None = None


class ContactIn(_ToBot):
    phone_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    own: bool = True
    contact_user_id: int | None = None
    forwarded_from: int | None = None


class ReplyButtonIn(_ToBot):
    text: str
    phone_number: str | None = None
    own: bool = True
    contact_user_id: int | None = None


class InlineButtonIn(_ToBot):
    message_id: int | None = None
    text: str | None = None
    callback_data: str | None = None


class PhotoIn(_ToBot):
    data_base64: str | None = None
    width: int = Field(64, ge=1, le=4096)
    height: int = Field(48, ge=1, le=4096)
    color: str = "#2e7d32"
    caption: str | None = None


class DocumentIn(_ToBot):
    data_base64: str | None = None
    content: str | None = None
    file_name: str = "document.txt"
    mime_type: str | None = None
    caption: str | None = None


class MediaIn(_ToBot):
    data_base64: str | None = None
    caption: str | None = None
    duration: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


class LocationIn(_ToBot):
    latitude: float = 35.6892
    longitude: float = 51.3890


class EditIn(_ToBot):
    message_id: int
    text: str


class BlockIn(_Body):
    bot: BotRef = None


class WaitIdleIn(_Body):
    quiet_ms: float = Field(100, ge=0)
    timeout_ms: float = Field(10_000, gt=0, le=600_000)
    bot: BotRef = None


class ResetIn(_Body):
    bot_settings: bool = False


class FaultIn(_Body):
    bot: BotRef = None
    method: str | None = None
    chat_id: int | None = None
    count: int | None = 1
    probability: float = 1.0
    error_code: int = 429
    retry_after: int | None = 1
    description: str | None = None


def _decode(data_base64: str | None) -> bytes | None:
    if data_base64 is None:
        return None
    try:
        return base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(422, "data_base64 is not valid base64") from None


def _action(
    world: SandboxWorld, message: StoredMessage, update: PendingUpdate | None
) -> dict[str, Any]:
    return {
        "ok": True,
        "update_id": update.update_id if update else None,
        "dropped": update is None,
        "message": message.snapshot(),
        "cursor": world.seq,
    }


def build_router(world: SandboxWorld) -> APIRouter:
    """The control API routes over one world."""
    router = APIRouter(prefix="/sandbox/api")

    # ---------------------------------------------------------------------------- bots

    @router.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "ok": True,
            "bots": [bot.snapshot() for bot in world.bots.values()],
            "users": [user.snapshot() for user in world.users.values()],
            "cursor": world.seq,
        }

    @router.get("/bots")
    async def list_bots() -> dict[str, Any]:
        return {"ok": True, "bots": [bot.snapshot() for bot in world.bots.values()]}

    @router.post("/bots", status_code=201)
    async def add_bot(body: BotIn) -> dict[str, Any]:
        try:
            spec = SandboxBot(**body.model_dump())
        except ValueError as error:
            raise ControlError(422, str(error)) from None
        return {"ok": True, "bot": world.add_bot(spec).snapshot()}

    # --------------------------------------------------------------------------- users

    @router.get("/users")
    async def list_users() -> dict[str, Any]:
        return {"ok": True, "users": [user.snapshot() for user in world.users.values()]}

    @router.post("/users", status_code=201)
    async def create_user(body: UserIn) -> dict[str, Any]:
        user = world.create_user(
            body.id,
            body.first_name,
            body.last_name,
            body.username,
            body.language_code,
            body.phone_number,
        )
        return {"ok": True, "user": user.snapshot()}

    @router.get("/users/{user_id}")
    async def get_user(user_id: int) -> dict[str, Any]:
        return {"ok": True, "user": world.user(user_id).snapshot()}

    # ------------------------------------------------------------------ user actions

    @router.post("/users/{user_id}/text")
    async def send_text(user_id: int, body: TextIn) -> dict[str, Any]:
        message, update = world.send_text(
            user_id,
            body.text,
            bot=body.bot,
            chat_id=body.chat_id,
            reply_to_message_id=body.reply_to_message_id,
            chat_title=body.chat_title,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/command")
    async def send_command(user_id: int, body: CommandIn) -> dict[str, Any]:
        command = body.command.lstrip("/")
        if not command:
            raise ControlError(422, "command is empty")
        text = f"/{command}" + (f" {body.args}" if body.args else "")
        message, update = world.send_text(user_id, text, bot=body.bot, chat_id=body.chat_id)
        return _action(world, message, update)

    @router.post("/users/{user_id}/contact")
    async def share_contact(user_id: int, body: ContactIn) -> dict[str, Any]:
        message, update = world.share_contact(
            user_id,
            body.phone_number,
            bot=body.bot,
            first_name=body.first_name,
            last_name=body.last_name,
            contact_user_id=body.contact_user_id,
            own=body.own,
            forwarded_from=body.forwarded_from,
            chat_id=body.chat_id,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/reply_button")
    async def press_reply_button(user_id: int, body: ReplyButtonIn) -> dict[str, Any]:
        message, update = world.press_reply_button(
            user_id,
            body.text,
            bot=body.bot,
            chat_id=body.chat_id,
            phone_number=body.phone_number,
            own=body.own,
            contact_user_id=body.contact_user_id,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/inline_button")
    async def press_inline_button(user_id: int, body: InlineButtonIn) -> dict[str, Any]:
        record, update = world.press_inline_button(
            user_id,
            message_id=body.message_id,
            text=body.text,
            callback_data=body.callback_data,
            bot=body.bot,
            chat_id=body.chat_id,
        )
        return {
            "ok": True,
            "update_id": update.update_id if update else None,
            "dropped": update is None,
            "callback_query_id": record.id,
            "message_id": record.message_id,
            "data": record.data,
            "cursor": world.seq,
        }

    @router.post("/users/{user_id}/photo")
    async def send_photo(user_id: int, body: PhotoIn) -> dict[str, Any]:
        data = _decode(body.data_base64) or media.make_png(body.width, body.height, body.color)
        message, update = world.send_media(
            user_id, "photo", data, bot=body.bot, caption=body.caption, chat_id=body.chat_id
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/document")
    async def send_document(user_id: int, body: DocumentIn) -> dict[str, Any]:
        data = _decode(body.data_base64)
        if data is None:
            data = (body.content if body.content is not None else "سند آزمایشی").encode()
        message, update = world.send_media(
            user_id,
            "document",
            data,
            bot=body.bot,
            file_name=body.file_name,
            mime_type=body.mime_type,
            caption=body.caption,
            chat_id=body.chat_id,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/media/{kind}")
    async def send_other_media(user_id: int, kind: MediaKind, body: MediaIn) -> dict[str, Any]:
        data = _decode(body.data_base64)
        if data is None:
            data = media.make_png(512, 512) if kind == "sticker" else b"\x00" * 2048
        message, update = world.send_media(
            user_id,
            kind,
            data,
            bot=body.bot,
            file_name=body.file_name,
            mime_type=body.mime_type,
            caption=body.caption,
            chat_id=body.chat_id,
            duration=body.duration,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/upload")
    async def upload(
        user_id: int,
        file: UploadFile = File(...),  # noqa: B008 - FastAPI's way of declaring a file part
        kind: Literal["photo", "document"] = Form("photo"),
        caption: str | None = Form(None),
        bot: str | None = Form(None),
    ) -> dict[str, Any]:
        data = await file.read()
        if kind == "photo" and media.image_size(data) is None:
            kind = "document"
        message, update = world.send_media(
            user_id,
            kind,
            data,
            bot=bot,
            file_name=file.filename,
            mime_type=file.content_type,
            caption=caption or None,
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/location")
    async def send_location(user_id: int, body: LocationIn) -> dict[str, Any]:
        message, update = world.send_location(
            user_id, body.latitude, body.longitude, bot=body.bot, chat_id=body.chat_id
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/edit")
    async def edit_message(user_id: int, body: EditIn) -> dict[str, Any]:
        message, update = world.edit_user_message(
            user_id, body.message_id, body.text, bot=body.bot, chat_id=body.chat_id
        )
        return _action(world, message, update)

    @router.post("/users/{user_id}/block")
    async def block(user_id: int, body: BlockIn) -> dict[str, Any]:
        world.set_blocked(user_id, True, body.bot)
        return {"ok": True, "cursor": world.seq}

    @router.post("/users/{user_id}/unblock")
    async def unblock(user_id: int, body: BlockIn) -> dict[str, Any]:
        world.set_blocked(user_id, False, body.bot)
        return {"ok": True, "cursor": world.seq}

    # ------------------------------------------------------------------ what the bot did

    @router.get("/cursor")
    async def cursor() -> dict[str, Any]:
        return {"ok": True, "cursor": world.seq}

    @router.get("/chats/{chat_id}/events")
    async def chat_events(
        chat_id: int, bot: str | None = None, since: int = 0, wait: float = 0
    ) -> dict[str, Any]:
        the_bot = world.resolve_bot(bot)
        wait = min(max(wait, 0.0), 60.0)
        events = await world.wait_events(the_bot, chat_id, since, wait)
        chat = the_bot.chats.get(chat_id)
        return {
            "ok": True,
            "events": events,
            "cursor": events[-1]["seq"] if events else max(since, 0),
            "keyboard": chat.keyboard_snapshot() if chat else None,
            "blocked": chat.blocked if chat else False,
        }

    @router.get("/chats/{chat_id}/messages")
    async def chat_messages(
        chat_id: int,
        bot: str | None = None,
        sender: Literal["bot", "user", "any"] = "bot",
        after_message_id: int = 0,
        include_deleted: bool = False,
    ) -> dict[str, Any]:
        the_bot = world.resolve_bot(bot)
        chat = the_bot.chats.get(chat_id)
        messages = (
            [] if chat is None else sorted(chat.messages.values(), key=lambda m: m.message_id)
        )
        return {
            "ok": True,
            "messages": [
                m.snapshot()
                for m in messages
                if m.message_id > after_message_id
                and (sender == "any" or m.sender == sender)
                and (include_deleted or not m.deleted)
            ],
        }

    @router.get("/chats/{chat_id}/keyboard")
    async def chat_keyboard(chat_id: int, bot: str | None = None) -> dict[str, Any]:
        chat = world.chat_view(world.resolve_bot(bot), chat_id)
        return {"ok": True, "keyboard": chat.keyboard_snapshot()}

    @router.get("/callbacks")
    async def callbacks(bot: str | None = None, unanswered: bool = False) -> dict[str, Any]:
        the_bot = world.resolve_bot(bot)
        found = [
            {
                "id": record.id,
                "chat_id": record.chat_id,
                "message_id": record.message_id,
                "user_id": record.user_id,
                "data": record.data,
                "created_at": record.created_at,
                "answer": record.answer,
            }
            for record in the_bot.callbacks.values()
            if not unanswered or record.answer is None
        ]
        return {"ok": True, "callbacks": found}

    @router.get("/calls")
    async def calls(
        bot: str | None = None, method: str | None = None, since: int = 0
    ) -> dict[str, Any]:
        bot_id = world.resolve_bot(bot).id if bot else None
        found = [
            call
            for call in world.calls
            if call["seq"] > since
            and (bot_id is None or call["bot_id"] == bot_id)
            and (method is None or call["method"].lower() == method.lower())
        ]
        return {"ok": True, "calls": found}

    @router.get("/commands")
    async def commands(bot: str | None = None) -> dict[str, Any]:
        return {"ok": True, "commands": world.resolve_bot(bot).commands}

    @router.post("/wait_idle")
    async def wait_idle(body: WaitIdleIn) -> dict[str, Any]:
        result = await world.wait_idle(body.quiet_ms / 1000, body.timeout_ms / 1000, body.bot)
        return {"ok": True, **result, "cursor": world.seq}

    @router.get("/files/{file_id}")
    async def file_bytes(file_id: str) -> Response:
        stored = world.files.get(file_id)
        if stored is None:
            raise ControlError(404, "no such file")
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    # ------------------------------------------------------------- faults and floods

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"ok": True, "faults": [fault.snapshot() for fault in world.faults]}

    @router.post("/faults", status_code=201)
    async def add_fault(body: FaultIn) -> dict[str, Any]:
        fault = world.add_fault(**body.model_dump())
        return {"ok": True, "fault": fault.snapshot()}

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        return {"ok": True, "removed": world.clear_faults()}

    @router.delete("/faults/{fault_id}")
    async def remove_fault(fault_id: int) -> dict[str, Any]:
        removed = world.clear_faults(fault_id)
        if not removed:
            raise ControlError(404, f"no fault {fault_id}")
        return {"ok": True, "removed": removed}

    @router.put("/flood")
    async def set_flood(body: FloodLimits) -> dict[str, Any]:
        world.set_flood(body)
        return {"ok": True, "flood_limits": body.model_dump()}

    @router.delete("/flood")
    async def clear_flood() -> dict[str, Any]:
        world.set_flood(None)
        return {"ok": True, "flood_limits": None}

    # ------------------------------------------------------------------------- admin

    @router.post("/reset")
    async def reset(body: ResetIn | None = None) -> dict[str, Any]:
        world.reset(bot_settings=body.bot_settings if body else False)
        return {"ok": True, "cursor": world.seq}

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return {"ok": True, **world.stats()}

    @router.get("/personas")
    async def personas() -> dict[str, Any]:
        return {"ok": True, "personas": PERSONAS, "unknown_number": UNKNOWN_NUMBER}

    return router
