"""The current chat user: ``(platform, user id)`` looked up, or created on first contact.

The same query says whether the chat is queued for or with an agent (``chat_handoff``), which
the relay's filter reads instead of asking the database again.

Only private chats get a chat user: the bot refuses to work in groups, so a group member who
never wrote to the bot in private leaves no record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import TelegramObject

from bot.deps import Services


class ChatUserMiddleware(BaseMiddleware):
    """Outer update middleware: put ``chat_user`` (a ``ChatUserInfo``) and ``chat_handoff``
    (an ``ActiveConversation`` or None) into the data."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        chat = data.get("event_chat")
        if (
            user is not None
            and not user.is_bot
            and chat is not None
            and chat.type == ChatType.PRIVATE
        ):
            services: Services = data["services"]
            arrival = await services.chat.arrive(str(data["platform"]), user.id, user.first_name)
            data["chat_user"] = arrival.user
            data["chat_handoff"] = arrival.handoff
        return await handler(event, data)
