"""The sandbox's whole state, in memory: bots, users, chats, updates, files, faults, events.

One :class:`SandboxWorld` per sandbox. The Bot API (``botapi``) is the bot's door into it and the
control API (``control``) and the web chat are the person's; both call the methods here, and
in-process callers (a benchmark injecting load) may call them directly. Everything runs on one
event loop, so no locks are needed: state changes only between awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox import media
from sandbox.config import FloodLimits, SandboxBot, SandboxConfig
from sandbox.errors import (
    BLOCKED,
    CANT_INITIATE,
    CHAT_NOT_FOUND,
    BotApiError,
    ControlError,
    bad_request,
    retry_after,
)
from sandbox.formatting import Formatted, detect_entities, render_bale
from sandbox.keyboards import inline_buttons, markup_kind, reply_buttons
from sandbox.models import (
    CallbackRecord,
    ChatState,
    Fault,
    Notifier,
    PendingUpdate,
    SandboxUser,
    StoredFile,
    StoredMessage,
    WebhookState,
)

logger = logging.getLogger(__name__)

# Telegram's default when a bot names no allowed_updates: everything but these three.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_FILE_FOLDERS = {
    "photo": ("photos", "jpg"),
    "document": ("documents", "bin"),
    "voice": ("voice", "oga"),
    "audio": ("music", "mp3"),
    "video": ("videos", "mp4"),
    "animation": ("animations", "mp4"),
    "sticker": ("stickers", "webp"),
    "video_note": ("video_notes", "mp4"),
}
MAX_CALL_LOG = 20_000


class BotState:
    """One hosted bot: its update queue, webhook, commands and the chats it takes part in."""

    def __init__(self, spec: SandboxBot, first_update_id: int) -> None:
        self.spec = spec
        self.id = spec.bot_id
        self.token = spec.token
        self.platform = spec.platform
        # Unconfirmed updates in id order; ``_undelivered`` counts those never handed out.
        self.updates: deque[PendingUpdate] = deque()
        self._undelivered = 0
        # Updates the webhook delivery loop has not seen yet (only while a webhook is set).
        self.webhook_inbox: deque[PendingUpdate] = deque()
        self.next_update_id = first_update_id
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookState | None = None
        self.poll_generation = 0
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.properties: dict[str, str] = {}
        self.chats: dict[int, ChatState] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.arrived = Notifier()
        self.stats: Counter[str] = Counter()
        self.has_consumer = False

    @property
    def is_bale(self) -> bool:
        return self.platform == "bale"

    def user_api(self) -> dict[str, Any]:
        """The bot as a User in messages (Telegram adds the capability flags only in getMe)."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.properties.get("name") or self.spec.first_name,
            "username": self.spec.resolved_username,
        }

    def me_api(self) -> dict[str, Any]:
        return {
            **self.user_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def allows(self, update_type: str) -> bool:
        if not self.allowed_updates:
            return update_type not in _NOT_BY_DEFAULT
        return update_type in self.allowed_updates

    def undelivered(self) -> int:
        return self._undelivered

    def add_update(self, update: PendingUpdate) -> None:
        self.updates.append(update)
        self._undelivered += 1
        if self.webhook is not None:
            self.webhook_inbox.append(update)

    def mark_delivered(self, update: PendingUpdate, now: float) -> bool:
        if update.delivered_at is not None:
            return False
        update.delivered_at = now
        self._undelivered -= 1
        return True

    def drop_first(self) -> PendingUpdate:
        update = self.updates.popleft()
        if update.delivered_at is None:
            self._undelivered -= 1
        return update

    def keep_updates(self, updates: list[PendingUpdate]) -> None:
        """Replace the queue (dropping updates), keeping the counts right."""
        self.updates = deque(updates)
        self._undelivered = sum(1 for u in updates if u.delivered_at is None)
        kept = {id(u) for u in updates}
        self.webhook_inbox = deque(u for u in self.webhook_inbox if id(u) in kept)

    def clear_updates(self) -> None:
        self.keep_updates([])

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform": self.platform,
            "username": self.spec.resolved_username,
            "first_name": self.user_api()["first_name"],
            "mode": "webhook" if self.webhook else ("polling" if self.has_consumer else "idle"),
            "webhook_url": self.webhook.url if self.webhook else None,
            "pending_updates": self.undelivered(),
            "allowed_updates": self.allowed_updates,
            "commands": self.commands,
            "stats": dict(self.stats),
        }


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class SandboxWorld:
    """All sandbox state and the operations on it (see the module docstring)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        # Seeded when a test asks for repeatable probabilistic faults; ids need no secrecy here.
        self._rng = random.Random(config.random_seed)
        self.users: dict[int, SandboxUser] = {}
        self.bots: dict[str, BotState] = {}
        self.bots_by_id: dict[int, BotState] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.faults: list[Fault] = []
        self.flood: FloodLimits | None = config.flood_limits
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self.seq = 0
        self.changed = Notifier()
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALL_LOG)
        self._call_seq = 0
        self._next_user_id = 500_000_001
        self._next_fault_id = 1
        self._next_file = 1
        self.closing = False
        self._http: aiohttp.ClientSession | None = None
        for spec in config.bots:
            self.add_bot(spec)

    # ------------------------------------------------------------------------------ bots

    def add_bot(self, spec: SandboxBot) -> BotState:
        existing = self.bots_by_id.get(spec.bot_id)
        if existing is not None and existing.token != spec.token:
            raise ControlError(409, f"bot id {spec.bot_id} is already hosted with another token")
        if existing is not None:
            return existing
        if self.config.first_update_id is not None:
            first = self.config.first_update_id
        else:
            first = self._rng.randrange(10_000_000, 900_000_000)
        bot = BotState(spec, first)
        self.bots[spec.token] = bot
        self.bots_by_id[bot.id] = bot
        return bot

    def bot_by_token(self, token: str) -> BotState | None:
        return self.bots.get(token)

    def resolve_bot(self, ref: str | int | None = None) -> BotState:
        """A bot by id, token, username or platform name; the first hosted bot by default."""
        if not self.bots:
            raise ControlError(404, "the sandbox hosts no bot")
        if ref is None or ref == "":
            return next(iter(self.bots.values()))
        text = str(ref).lstrip("@")
        if text.isdigit() and int(text) in self.bots_by_id:
            return self.bots_by_id[int(text)]
        for bot in self.bots.values():
            if text in (bot.token, bot.spec.resolved_username):
                return bot
        for bot in self.bots.values():
            if text == bot.platform:
                return bot
        raise ControlError(404, f"no such bot: {ref}")

    # ----------------------------------------------------------------------------- users

    def create_user(
        self,
        user_id: int | None = None,
        first_name: str = "کاربر آزمایشی",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fa",
        phone_number: str | None = None,
    ) -> SandboxUser:
        """Create a user, or update the given fields of an existing one (idempotent)."""
        if user_id is None:
            while self._next_user_id in self.users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        if user_id <= 0:
            raise ControlError(422, "a user id is a positive integer")
        if user_id in self.bots_by_id:
            raise ControlError(409, "that id belongs to a bot")
        if not first_name or not first_name.strip():
            raise ControlError(422, "first_name is required")
        user = self.users.get(user_id)
        if user is None:
            user = SandboxUser(
                user_id, first_name, last_name, username, language_code, phone_number
            )
            self.users[user_id] = user
        else:
            user.first_name = first_name
            user.last_name = last_name if last_name is not None else user.last_name
            user.username = username if username is not None else user.username
            user.language_code = language_code
            user.phone_number = phone_number if phone_number is not None else user.phone_number
        self.changed.notify()
        return user

    def user(self, user_id: int) -> SandboxUser:
        user = self.users.get(user_id)
        if user is None:
            raise ControlError(404, f"no such user: {user_id}")
        return user

    # ----------------------------------------------------------------------------- chats

    def _chat_instance(self) -> str:
        return str(self._rng.getrandbits(63))

    def private_chat(self, bot: BotState, user: SandboxUser) -> ChatState:
        chat = bot.chats.get(user.id)
        if chat is None:
            chat = ChatState(bot.id, user.id, "private", self._chat_instance(), user=user)
            bot.chats[user.id] = chat
        return chat

    def group_chat(self, bot: BotState, chat_id: int, title: str | None = None) -> ChatState:
        if chat_id >= 0:
            raise ControlError(422, "a group chat id is negative")
        chat = bot.chats.get(chat_id)
        if chat is None:
            chat = ChatState(bot.id, chat_id, "group", self._chat_instance(), title=title)
            bot.chats[chat_id] = chat
        return chat

    def chat_for_bot(self, bot: BotState, chat_id: Any) -> ChatState:
        """The chat a bot addresses, refused as Telegram refuses it."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        key: int | None
        if isinstance(chat_id, int):
            key = chat_id
        else:
            text = str(chat_id).strip()
            key = int(text) if text.lstrip("-").isdigit() else None
            if key is None and text.startswith("@"):
                for user in self.users.values():
                    if user.username and user.username.lower() == text[1:].lower():
                        key = user.id
                        break
        chat = bot.chats.get(key) if key is not None else None
        if chat is None:
            if key is not None and key in self.users:
                raise BotApiError(403, CANT_INITIATE)
            raise BotApiError(400, CHAT_NOT_FOUND)
        if chat.type == "private" and not chat.started:
            raise BotApiError(403, CANT_INITIATE)
        if chat.blocked:
            raise BotApiError(403, BLOCKED)
        return chat

    def chat_view(self, bot: BotState, chat_id: int) -> ChatState:
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"no chat {chat_id} with bot {bot.id}")
        return chat

    # ---------------------------------------------------------------------------- events

    def _event(self, chat: ChatState, kind: str, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        event: dict[str, Any] = {
            "seq": self.seq,
            "at": time.time(),
            "bot_id": chat.bot_id,
            "chat_id": chat.id,
            "kind": kind,
        }
        for key, value in fields.items():
            event[key] = value.snapshot() if isinstance(value, StoredMessage) else value
        chat.events.append(event)
        self.changed.notify()
        return event

    def events(self, bot: BotState, chat_id: int, since: int = 0) -> list[dict[str, Any]]:
        chat = bot.chats.get(chat_id)
        if chat is None:
            return []
        found: list[dict[str, Any]] = []
        for event in reversed(chat.events):
            if event["seq"] <= since:
                break
            found.append(event)
        found.reverse()
        return found

    async def wait_events(
        self, bot: BotState, chat_id: int, since: int, wait_s: float
    ) -> list[dict[str, Any]]:
        """Events after ``since``; waits up to ``wait_s`` seconds for the first one."""
        deadline = time.monotonic() + wait_s
        while True:
            found = self.events(bot, chat_id, since)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or self.closing:
                return found
            await self.changed.wait(remaining)

    # ---------------------------------------------------------------------------- updates

    def enqueue(
        self, bot: BotState, update_type: str, payload: dict[str, Any], chat_id: int | None
    ) -> PendingUpdate | None:
        """Queue an update for the bot, or drop it as Telegram does if the bot did not ask for it."""
        update_id = bot.next_update_id
        bot.next_update_id += 1
        update = PendingUpdate(update_id, update_type, payload, chat_id, time.time())
        if not bot.allows(update_type):
            bot.stats["updates_dropped"] += 1
            logger.info(
                "update %s of type %s dropped: not in allowed_updates", update_id, update_type
            )
            return None
        bot.add_update(update)
        bot.stats["updates_created"] += 1
        bot.arrived.notify()
        self.touch()
        return update

    def mark_delivered(self, bot: BotState, updates: list[PendingUpdate]) -> None:
        now = time.time()
        for update in updates:
            if bot.mark_delivered(update, now):
                bot.stats["updates_delivered"] += 1
        if updates:
            self.touch()

    def confirm(self, bot: BotState, offset: int) -> None:
        """getUpdates' offset: every update with a smaller id is confirmed and forgotten."""
        if offset < 0:
            keep = -offset
            while len(bot.updates) > keep:
                bot.drop_first()
            return
        while bot.updates and bot.updates[0].update_id < offset:
            bot.drop_first()

    # -------------------------------------------------------------------- what users do

    def _touch_chat_for_user(self, bot: BotState, chat: ChatState, user: SandboxUser) -> None:
        if chat.type == "private":
            if chat.blocked:
                # A person who writes to a bot they blocked has restarted it.
                self.set_blocked(user.id, False, bot)
            chat.started = True

    def _user_chat(
        self, bot: BotState, user: SandboxUser, chat_id: int | None, title: str | None = None
    ) -> ChatState:
        if chat_id is None or chat_id == user.id:
            chat = self.private_chat(bot, user)
        else:
            chat = self.group_chat(bot, chat_id, title)
        self._touch_chat_for_user(bot, chat, user)
        return chat

    def _store_user_message(
        self,
        bot: BotState,
        user: SandboxUser,
        chat: ChatState,
        *,
        kind: str,
        text: str | None = None,
        caption: str | None = None,
        media_fields: dict[str, Any] | None = None,
        file: StoredFile | None = None,
        reply_to: int | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        reply = None
        if reply_to is not None:
            reply = chat.messages.get(reply_to)
            if reply is None or reply.deleted:
                raise ControlError(404, f"no message {reply_to} to reply to")
        entities = detect_entities(text) if text else []
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            sender="user",
            from_api=user.to_api(),
            date=int(time.time()),
            kind=kind,
            text=text,
            entities=entities,
            caption=caption,
            source_text=text if text is not None else caption,
            media=media_fields or {},
            file=file,
            reply_to=reply,
            forward_origin=forward_origin,
        )
        shown = text if text is not None else caption
        message.rendered = Formatted(shown, entities) if shown is not None else None
        chat.messages[message.message_id] = message
        update = self.enqueue(bot, "message", message.to_api(), chat.id)
        message.update_id = update.update_id if update else None
        self._event(chat, "message", sender="user", message=message)
        return message, update

    def send_text(
        self,
        user_id: int,
        text: str,
        bot: str | int | None = None,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
        chat_title: str | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        if text is None or text == "":
            raise ControlError(422, "text is empty")
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self._user_chat(the_bot, user, chat_id, chat_title)
        return self._store_user_message(
            the_bot, user, chat, kind="text", text=text, reply_to=reply_to_message_id
        )

    def share_contact(
        self,
        user_id: int,
        phone_number: str | None = None,
        *,
        bot: str | int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        own: bool = True,
        forwarded_from: int | None = None,
        chat_id: int | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        """Send a contact: the user's own (``user_id`` = sender), someone else's, or forwarded."""
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        phone = phone_number or user.phone_number
        if not phone:
            raise ControlError(422, "no phone_number given and the user has none")
        contact: dict[str, Any] = {"phone_number": phone}
        if own:
            contact["first_name"] = first_name or user.first_name
            if last_name or (last_name is None and user.last_name):
                contact["last_name"] = last_name or user.last_name
            contact["user_id"] = user.id
        else:
            contact["first_name"] = first_name or "مخاطب"
            if last_name:
                contact["last_name"] = last_name
            if contact_user_id is not None:
                contact["user_id"] = contact_user_id
        origin = None
        if forwarded_from is not None:
            origin = self._forward_origin(forwarded_from)
        chat = self._user_chat(the_bot, user, chat_id)
        return self._store_user_message(
            the_bot,
            user,
            chat,
            kind="contact",
            media_fields={"contact": contact},
            forward_origin=origin,
        )

    def _forward_origin(self, from_user_id: int) -> dict[str, Any]:
        sender = self.users.get(from_user_id)
        sender_api = (
            sender.to_api()
            if sender
            else {"id": from_user_id, "is_bot": False, "first_name": "کاربر دیگر"}
        )
        return {"type": "user", "date": int(time.time()) - 60, "sender_user": sender_api}

    def send_location(
        self,
        user_id: int,
        latitude: float = 35.6892,
        longitude: float = 51.3890,
        *,
        bot: str | int | None = None,
        chat_id: int | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self._user_chat(the_bot, user, chat_id)
        location = {"latitude": latitude, "longitude": longitude}
        return self._store_user_message(
            the_bot, user, chat, kind="location", media_fields={"location": location}
        )

    def store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        folder, default_ext = _FILE_FOLDERS.get(kind, ("documents", "bin"))
        number = self._next_file
        self._next_file += 1
        ext = media.extension_for(mime_type, file_name, default_ext)
        file_id = f"{kind[:2].upper()}{number:06d}{secrets.token_urlsafe(24)}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"U{number:06d}{secrets.token_urlsafe(6)}",
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{number}.{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def photo_sizes(self, data: bytes) -> tuple[list[dict[str, Any]], StoredFile] | None:
        """PhotoSize objects for an image (a 90 px thumbnail, then the original), or None."""
        size = media.image_size(data)
        if size is None:
            return None
        width, height = size
        sizes: list[dict[str, Any]] = []
        if max(width, height) > media.THUMBNAIL_SIDE:
            thumb = media.thumbnail(data)
            if thumb is not None:
                small = self.store_file(
                    "photo", thumb[0], mime_type="image/jpeg", width=thumb[1], height=thumb[2]
                )
                sizes.append({**small.base_api(), "width": thumb[1], "height": thumb[2]})
        original = self.store_file(
            "photo", data, mime_type="image/jpeg", width=width, height=height
        )
        sizes.append({**original.base_api(), "width": width, "height": height})
        return sizes, original

    def send_media(
        self,
        user_id: int,
        kind: str,
        data: bytes,
        *,
        bot: str | int | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
        duration: int | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        """The user sends a photo, document, voice, sticker, video, audio or animation."""
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        if len(data) > self.config.max_upload_bytes:
            raise ControlError(413, "file too large")
        if kind == "photo":
            made = self.photo_sizes(data)
            if made is None:
                raise ControlError(422, "a photo must be an image (PNG, JPEG …)")
            fields: dict[str, Any] = {"photo": made[0]}
            stored = made[1]
        elif kind in _FILE_FOLDERS:
            width = height = None
            if kind in ("sticker", "video", "animation", "video_note"):
                size = media.image_size(data) or (512, 512)
                width, height = size
            default_mime = {
                "voice": "audio/ogg",
                "sticker": "image/webp",
                "video": "video/mp4",
                "audio": "audio/mpeg",
            }.get(kind, "application/octet-stream")
            stored = self.store_file(
                kind,
                data,
                file_name=file_name
                if kind in ("document", "audio", "video", "animation")
                else None,
                mime_type=mime_type or media.guess_mime(file_name, default_mime),
                width=width,
                height=height,
                duration=duration
                or (3 if kind in ("voice", "audio", "video", "video_note") else None),
            )
            fields = {kind: stored.media_api()}
            if kind == "animation":
                fields["document"] = stored.media_api()
        else:
            raise ControlError(422, f"unknown media kind: {kind}")
        chat = self._user_chat(the_bot, user, chat_id)
        if caption is not None and kind in ("sticker", "video_note"):
            caption = None
        return self._store_user_message(
            the_bot, user, chat, kind=kind, caption=caption, media_fields=fields, file=stored
        )

    def edit_user_message(
        self,
        user_id: int,
        message_id: int,
        text: str,
        *,
        bot: str | int | None = None,
        chat_id: int | None = None,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self.chat_view(the_bot, chat_id if chat_id is not None else user.id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or message.sender != "user":
            raise ControlError(404, f"no message {message_id} of this user to edit")
        if message.from_api.get("id") != user.id:
            raise ControlError(403, "a user edits only their own messages")
        if message.text is None:
            raise ControlError(422, "only text messages are edited here")
        if not text:
            raise ControlError(422, "text is empty")
        message.text = text
        message.source_text = text
        message.entities = detect_entities(text)
        message.rendered = Formatted(text, message.entities)
        message.edit_date = int(time.time())
        update = self.enqueue(the_bot, "edited_message", message.to_api(), chat.id)
        self._event(chat, "edit", sender="user", message=message)
        return message, update

    def press_reply_button(
        self,
        user_id: int,
        text: str,
        *,
        bot: str | int | None = None,
        chat_id: int | None = None,
        phone_number: str | None = None,
        contact_user_id: int | None = None,
        own: bool = True,
    ) -> tuple[StoredMessage, PendingUpdate | None]:
        """Press a button of the reply keyboard the bot is showing (contact/location buttons too)."""
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self.chat_view(the_bot, chat_id if chat_id is not None else user.id)
        buttons = reply_buttons(chat.reply_keyboard)
        button = next((b for b in buttons if b.get("text") == text), None)
        if button is None:
            shown = [b.get("text") for b in buttons]
            raise ControlError(
                409, f"no reply-keyboard button {text!r}; the keyboard shows {shown}"
            )
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.keyboard_collapsed = True
        if button.get("request_contact"):
            return self.share_contact(
                user_id,
                phone_number,
                bot=the_bot.id,
                own=own,
                contact_user_id=contact_user_id,
                chat_id=chat_id,
            )
        if button.get("request_location"):
            return self.send_location(user_id, bot=the_bot.id, chat_id=chat_id)
        return self.send_text(user_id, text, bot=the_bot.id, chat_id=chat_id)

    def press_inline_button(
        self,
        user_id: int,
        *,
        message_id: int | None = None,
        text: str | None = None,
        callback_data: str | None = None,
        bot: str | int | None = None,
        chat_id: int | None = None,
    ) -> tuple[CallbackRecord, PendingUpdate | None]:
        """Press an inline button, found by its text or data, on a message (the latest by default)."""
        if text is None and callback_data is None:
            raise ControlError(422, "name the button by text or callback_data")
        the_bot = self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self.chat_view(the_bot, chat_id if chat_id is not None else user.id)

        def matches(button: dict[str, Any]) -> bool:
            if text is not None and button.get("text") != text:
                return False
            return callback_data is None or button.get("callback_data") == callback_data

        newest_first = sorted(chat.messages.values(), key=lambda m: -m.message_id)
        candidates: list[StoredMessage | None] = (
            [chat.messages.get(message_id)] if message_id is not None else [*newest_first]
        )
        for message in candidates:
            if message is None or message.deleted or message.sender != "bot":
                continue
            button = next((b for b in inline_buttons(message.reply_markup) if matches(b)), None)
            if button is None:
                continue
            if "callback_data" not in button:
                kinds = [k for k in button if k != "text"]
                raise ControlError(
                    409, f"button {button.get('text')!r} is a {kinds} button; it sends no callback"
                )
            return self._callback(the_bot, user, chat, message, button["callback_data"])
        where = f"message {message_id}" if message_id is not None else "any message"
        raise ControlError(
            409, f"no inline button text={text!r} callback_data={callback_data!r} on {where}"
        )

    def _callback(
        self,
        bot: BotState,
        user: SandboxUser,
        chat: ChatState,
        message: StoredMessage,
        data: str,
    ) -> tuple[CallbackRecord, PendingUpdate | None]:
        self._touch_chat_for_user(bot, chat, user)
        query_id = str(self._rng.getrandbits(62))
        record = CallbackRecord(query_id, chat.id, message.message_id, user.id, data, time.time())
        bot.callbacks[query_id] = record
        payload = {
            "id": query_id,
            "from": user.to_api(),
            "message": message.to_api(),
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        update = self.enqueue(bot, "callback_query", payload, chat.id)
        self._event(
            chat,
            "callback_query",
            sender="user",
            callback={"id": query_id, "message_id": message.message_id, "data": data},
        )
        return record, update

    def set_blocked(
        self, user_id: int, blocked: bool, bot: str | int | BotState | None = None
    ) -> None:
        """The user blocks or unblocks the bot; the bot hears of it as Telegram tells it."""
        the_bot = bot if isinstance(bot, BotState) else self.resolve_bot(bot)
        user = self.user(user_id)
        chat = self.private_chat(the_bot, user)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        member = "kicked" if blocked else "member"
        previous = "member" if blocked else "kicked"
        bot_user = the_bot.user_api()
        old: dict[str, Any] = {"status": previous, "user": bot_user}
        new: dict[str, Any] = {"status": member, "user": bot_user}
        if previous == "kicked":
            old["until_date"] = 0
        if member == "kicked":
            new["until_date"] = 0
        payload = {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        self.enqueue(the_bot, "my_chat_member", payload, chat.id)
        self._event(chat, "blocked" if blocked else "unblocked", sender="user")

    # ------------------------------------------------------------------- what bots send

    def store_bot_message(
        self,
        bot: BotState,
        chat: ChatState,
        *,
        kind: str,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        source_text: str | None = None,
        parse_mode: str | None = None,
        rendered: Formatted | None = None,
        media_fields: dict[str, Any] | None = None,
        file: StoredFile | None = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> StoredMessage:
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            sender="bot",
            from_api=bot.user_api(),
            date=int(time.time()),
            kind=kind,
            text=text,
            entities=entities or [],
            caption=caption,
            caption_entities=caption_entities or [],
            source_text=source_text,
            parse_mode=parse_mode,
            rendered=rendered,
            media=media_fields or {},
            file=file,
            reply_markup=reply_markup,
            reply_to=reply_to,
            forward_origin=forward_origin,
        )
        chat.messages[message.message_id] = message
        kind_of_markup = markup_kind(reply_markup)
        if kind_of_markup == "reply":
            chat.reply_keyboard = reply_markup
            chat.keyboard_collapsed = False
        elif kind_of_markup == "remove":
            chat.reply_keyboard = None
        bot.stats["messages_sent"] += 1
        self._event(chat, "message", sender="bot", message=message)
        return message

    def note_edit(self, chat: ChatState, message: StoredMessage) -> None:
        self._event(chat, "edit", sender="bot", message=message)

    def note_delete(self, chat: ChatState, message: StoredMessage) -> None:
        self._event(chat, "delete", sender="bot", message=message)

    def note_chat_action(self, chat: ChatState, action: str) -> None:
        self._event(chat, "chat_action", sender="bot", action=action)

    def note_callback_answer(self, bot: BotState, record: CallbackRecord) -> None:
        chat = bot.chats.get(record.chat_id)
        if chat is not None:
            self._event(
                chat,
                "callback_answer",
                sender="bot",
                callback={
                    "id": record.id,
                    "message_id": record.message_id,
                    "data": record.data,
                    **(record.answer or {}),
                },
            )

    def rendered_for(self, bot: BotState, shown: str, parsed: Formatted) -> Formatted:
        """What the person reads: Telegram shows the parsed text, Bale renders its Markdown."""
        return render_bale(shown) if bot.is_bale else parsed

    # ----------------------------------------------------------- faults, floods, activity

    def add_fault(
        self,
        *,
        bot: str | int | None = None,
        method: str | None = None,
        chat_id: int | None = None,
        count: int | None = 1,
        probability: float = 1.0,
        error_code: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> Fault:
        bot_id = self.resolve_bot(bot).id if bot not in (None, "") else None
        if not 0 < probability <= 1:
            raise ControlError(422, "probability is in (0, 1]")
        if count is not None and count < 1:
            raise ControlError(422, "count is at least 1 (or null for no limit)")
        if error_code == 429:
            seconds = retry_after if retry_after is not None else 1
            text = description or f"Too Many Requests: retry after {seconds}"
            retry_after = seconds
        else:
            text = description or {
                400: "Bad Request: injected failure",
                403: BLOCKED,
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Injected failure")
            retry_after = None
        fault = Fault(
            id=self._next_fault_id,
            bot_id=bot_id,
            method=method,
            chat_id=chat_id,
            count=count,
            probability=probability,
            error_code=error_code,
            description=text,
            retry_after=retry_after,
        )
        self._next_fault_id += 1
        self.faults.append(fault)
        return fault

    def clear_faults(self, fault_id: int | None = None) -> int:
        before = len(self.faults)
        self.faults = [f for f in self.faults if fault_id is not None and f.id != fault_id]
        return before - len(self.faults)

    def check_faults(self, bot: BotState, method: str, chat_id: Any) -> None:
        for fault in self.faults:
            if not fault.matches(bot.id, method, chat_id):
                continue
            if fault.probability < 1 and self._rng.random() >= fault.probability:
                continue
            fault.fired += 1
            bot.stats["faults_fired"] += 1
            parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
            raise BotApiError(fault.error_code, fault.description, parameters)

    def check_flood(self, bot: BotState, chat_id: Any) -> None:
        """Telegram-like flood control, when switched on: token buckets per chat and overall."""
        limits = self.flood
        if limits is None:
            return
        now = time.monotonic()
        keys = [
            ((bot.id, f"chat:{chat_id}"), limits.per_chat_rate, limits.per_chat_burst),
            ((bot.id, "all"), limits.global_rate, limits.global_burst),
        ]
        waits: list[float] = []
        buckets: list[_Bucket] = []
        for key, rate, burst in keys:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(burst), now)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            buckets.append(bucket)
            if bucket.tokens < 1:
                waits.append((1 - bucket.tokens) / rate)
        if waits:
            bot.stats["flood_refused"] += 1
            raise retry_after(max(1, math.ceil(max(waits))))
        for bucket in buckets:
            bucket.tokens -= 1

    def set_flood(self, limits: FloodLimits | None) -> None:
        self.flood = limits
        self._buckets.clear()

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        self.changed.notify()

    def begin_call(self) -> None:
        self.in_flight += 1
        self.touch()

    def end_call(self) -> None:
        self.in_flight -= 1
        self.touch()

    def log_call(
        self,
        bot: BotState,
        method: str,
        params: dict[str, Any],
        body: dict[str, Any],
        started: float,
    ) -> None:
        self._call_seq += 1
        bot.stats[f"calls:{method}"] += 1
        if not body.get("ok"):
            bot.stats[f"errors:{body.get('error_code')}"] += 1
        self.calls.append(
            {
                "seq": self._call_seq,
                "at": time.time(),
                "bot_id": bot.id,
                "method": method,
                "params": params,
                "ok": bool(body.get("ok")),
                "error_code": body.get("error_code"),
                "description": body.get("description"),
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
            }
        )

    async def wait_idle(
        self, quiet_s: float = 0.1, timeout_s: float = 10.0, bot: str | int | None = None
    ) -> dict[str, Any]:
        """Wait until every update was taken and no bot call was made for ``quiet_s`` seconds."""
        bots = [self.resolve_bot(bot)] if bot not in (None, "") else list(self.bots.values())
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            now = time.monotonic()
            pending = sum(b.undelivered() for b in bots)
            quiet_for = now - self.last_activity
            if pending == 0 and self.in_flight == 0 and quiet_for >= quiet_s:
                return {"idle": True, "waited_ms": round((now - started) * 1000, 1)}
            if now >= deadline or self.closing:
                return {
                    "idle": False,
                    "waited_ms": round((now - started) * 1000, 1),
                    "pending_updates": pending,
                    "in_flight": self.in_flight,
                }
            if pending == 0 and self.in_flight == 0:
                wait = min(quiet_s - quiet_for, deadline - now)
            else:
                wait = deadline - now
            await self.changed.wait(max(wait, 0.001))

    # ----------------------------------------------------------------------------- admin

    def reset(self, *, bot_settings: bool = False) -> None:
        """Forget users, chats, files, faults, floods and queued updates.

        Bots keep their webhook, allowed updates and commands (a running bot set them at start)
        unless ``bot_settings`` is true: then every bot is as on the first day, and any
        getUpdates still waiting from an earlier bot ends with 409.
        """
        self.users.clear()
        self.files.clear()
        self.files_by_path.clear()
        self.faults.clear()
        self.flood = self.config.flood_limits
        self._buckets.clear()
        self.calls.clear()
        for bot in self.bots.values():
            bot.clear_updates()
            bot.chats.clear()
            bot.callbacks.clear()
            bot.stats.clear()
            if bot_settings:
                if bot.webhook is not None and bot.webhook.task is not None:
                    bot.webhook.task.cancel()
                bot.webhook = None
                bot.allowed_updates = None
                bot.commands.clear()
                bot.properties.clear()
                bot.has_consumer = False
                bot.poll_generation += 1
            bot.arrived.notify()
        self.touch()

    def http(self) -> aiohttp.ClientSession:
        """The client that delivers webhook requests (aiohttp: it keeps up with a bot under load,
        where httpx's connection pool spent more time than the bot did)."""
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout_s),
                connector=aiohttp.TCPConnector(limit=200),
                trust_env=False,
            )
        return self._http

    async def close(self) -> None:
        """Wake every long poll and waiter, stop webhook deliveries and close the HTTP client."""
        self.closing = True
        tasks = []
        for bot in self.bots.values():
            bot.arrived.notify()
            if bot.webhook and bot.webhook.task:
                bot.webhook.task.cancel()
                tasks.append(bot.webhook.task)
        self.changed.notify()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.close()
            self._http = None

    def stats(self) -> dict[str, Any]:
        return {
            "bots": [bot.snapshot() for bot in self.bots.values()],
            "users": len(self.users),
            "files": len(self.files),
            "in_flight": self.in_flight,
            "event_seq": self.seq,
            "faults": [fault.snapshot() for fault in self.faults],
            "flood_limits": self.flood.model_dump() if self.flood else None,
        }
