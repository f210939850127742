"""The sandbox's stores and their look-ups: bots, users, chats, events, the update queues, files.

:class:`WorldState` holds everything one sandbox knows and the operations every other part
builds on; :mod:`sandbox.user_side` (what a person does) and :mod:`sandbox.bot_side` (what a
bot sends, and the policing of its calls) add to it, and :class:`sandbox.world.SandboxWorld`
puts them together. Everything runs on one event loop, so no locks are needed: state changes
only between awaits.
"""

from __future__ import annotations

import logging
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
)
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
FILE_FOLDERS = {
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
class FloodBucket:
    """One token bucket of the flood control (see :meth:`sandbox.bot_side.BotSide.check_flood`)."""

    tokens: float
    stamp: float


class WorldState:
    """All sandbox state, with the look-ups and queues the Bot API and the control API share."""

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
        self._buckets: dict[tuple[int, str], FloodBucket] = {}
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

    # ---------------------------------------------------------------------------- activity

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        self.changed.notify()

    def begin_call(self) -> None:
        self.in_flight += 1
        self.touch()

    def end_call(self) -> None:
        self.in_flight -= 1
        self.touch()

    # ------------------------------------------------------------------------------ files

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
        folder, default_ext = FILE_FOLDERS.get(kind, ("documents", "bin"))
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
