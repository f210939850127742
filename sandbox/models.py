"""The sandbox's in-memory records: users, chats, messages, files, updates and chat events.

Each record knows two faces: ``to_api()`` is the Bot API JSON Telegram would send (so aiogram's
types parse it), ``snapshot()`` is the control API's view for tests and the web chat (what the
person sees: rendered text, keyboards, edits, deletions).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.formatting import Entity, Formatted, to_display_html
from sandbox.keyboards import markup_kind

Sender = Literal["bot", "user"]


class Notifier:
    """Wakes every waiter on each change (a broadcast; asyncio.Condition without a lock)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, seconds: float | None) -> bool:
        """True when notified, False when ``seconds`` passed first (None: no limit)."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        if seconds is not None and seconds <= 0:
            return False
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass
class SandboxUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fa"
    phone_number: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def snapshot(self) -> dict[str, Any]:
        return {**self.to_api(), "phone_number": self.phone_number}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def base_api(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }

    def media_api(self) -> dict[str, Any]:
        """The object Telegram puts in a message for this file (Document, Voice, Sticker …)."""
        data = self.base_api()
        if self.kind in ("document", "audio", "video", "animation"):
            if self.file_name:
                data["file_name"] = self.file_name
            if self.mime_type:
                data["mime_type"] = self.mime_type
        if self.kind in ("video", "animation", "sticker", "video_note"):
            data["width"] = self.width or 1
            data["height"] = self.height or 1
        if self.kind in ("video", "animation", "voice", "audio", "video_note"):
            data["duration"] = self.duration or 1
        if self.kind == "video_note":
            data["length"] = self.width or 1
            del data["width"], data["height"]
        if self.kind == "voice" and self.mime_type:
            data["mime_type"] = self.mime_type
        if self.kind == "sticker":
            data.update(
                {"type": "regular", "is_animated": False, "is_video": False, "emoji": "🙂"}
            )
        return data


@dataclass
class ChatState:
    """One chat as seen by one bot: a private chat with a user, or a group."""

    bot_id: int
    id: int
    type: str
    chat_instance: str
    user: SandboxUser | None = None
    title: str | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False
    blocked: bool = False
    reply_keyboard: dict[str, Any] | None = None
    keyboard_collapsed: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private"}
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "type": self.type, "title": self.title or "گروه آزمایشی"}

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def keyboard_snapshot(self) -> dict[str, Any] | None:
        if self.reply_keyboard is None:
            return None
        return {"markup": self.reply_keyboard, "collapsed": self.keyboard_collapsed}


@dataclass
class StoredMessage:
    chat: ChatState
    message_id: int
    sender: Sender
    from_api: dict[str, Any]
    date: int
    kind: str = "text"
    # What the Bot API reports as ``text``/``caption`` (Telegram: after parsing; Bale: raw).
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[Entity] = field(default_factory=list)
    # Exactly what the bot sent, and how it asked for it to be read.
    source_text: str | None = None
    parse_mode: str | None = None
    # What the person sees (plain text plus formatting) for the text or the caption.
    rendered: Formatted | None = None
    media: dict[str, Any] = field(default_factory=dict)
    file: StoredFile | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None
    forward_origin: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False
    update_id: int | None = None
    at: float = field(default_factory=time.time)

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.from_api,
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.forward_origin is not None:
            data["forward_origin"] = self.forward_origin
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        data.update(self.media)
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        # Telegram echoes only an inline keyboard in a Message; reply keyboards are not part of it.
        if markup_kind(self.reply_markup) == "inline":
            data["reply_markup"] = self.reply_markup
        return data

    def snapshot(self) -> dict[str, Any]:
        rendered = self.rendered
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "chat_id": self.chat.id,
            "bot_id": self.chat.bot_id,
            "sender": self.sender,
            "from": self.from_api,
            "date": self.date,
            "at": self.at,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "source_text": self.source_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities or self.caption_entities,
            "rendered_text": rendered.text if rendered else None,
            "rendered_entities": rendered.entities if rendered else [],
            "html": to_display_html(rendered.text, rendered.entities) if rendered else None,
            "reply_markup": self.reply_markup,
            "keyboard_kind": markup_kind(self.reply_markup),
            "reply_to_message_id": self.reply_to.message_id if self.reply_to else None,
            "forward_origin": self.forward_origin,
            "edited": self.edit_date is not None,
            "edit_date": self.edit_date,
            "deleted": self.deleted,
            "update_id": self.update_id,
        }
        for key in ("contact", "location"):
            if key in self.media:
                data[key] = self.media[key]
        if self.file is not None:
            data["file"] = {
                "file_id": self.file.file_id,
                "kind": self.file.kind,
                "file_name": self.file.file_name,
                "mime_type": self.file.mime_type,
                "size": self.file.size,
                "width": self.file.width,
                "height": self.file.height,
                "url": f"/sandbox/api/files/{self.file.file_id}",
            }
        return data


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class PendingUpdate:
    update_id: int
    type: str
    payload: dict[str, Any]
    chat_id: int | None
    created_at: float
    delivered_at: float | None = None
    # Webhook delivery bookkeeping.
    attempts: int = 0
    not_before: float = 0.0

    def to_api(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.type: self.payload}


@dataclass
class CallbackRecord:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str | None
    created_at: float
    answer: dict[str, Any] | None = None


@dataclass
class Fault:
    """An injected failure: the next matching Bot API calls get this error instead of a result."""

    id: int
    bot_id: int | None
    method: str | None
    chat_id: int | None
    count: int | None
    probability: float
    error_code: int
    description: str
    retry_after: int | None
    fired: int = 0

    def matches(self, bot_id: int, method: str, chat_id: Any) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.bot_id is not None and self.bot_id != bot_id:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return not (self.chat_id is not None and str(self.chat_id) != str(chat_id))

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bot_id": self.bot_id,
            "method": self.method,
            "chat_id": self.chat_id,
            "count": self.count,
            "probability": self.probability,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after,
            "fired": self.fired,
            "exhausted": self.count is not None and self.fired >= self.count,
        }


@dataclass
class WebhookState:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None
