"""What a person does in the sandbox: write, share a contact or a location, send media, edit,
press buttons, block the bot. Each action stores the message, queues the update the bot will
receive, exactly as Telegram shapes it, and records an event for the web chat and the tests.
"""

from __future__ import annotations

import time
from typing import Any

from sandbox import media
from sandbox.errors import (
    ControlError,
)
from sandbox.formatting import Formatted, detect_entities
from sandbox.keyboards import inline_buttons, reply_buttons
from sandbox.models import (
    CallbackRecord,
    ChatState,
    PendingUpdate,
    SandboxUser,
    StoredFile,
    StoredMessage,
)
from sandbox.state import FILE_FOLDERS, BotState, WorldState


class UserSide(WorldState):
    """The person's side of the sandbox, driven by the control API and the web chat."""

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
        elif kind in FILE_FOLDERS:
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
