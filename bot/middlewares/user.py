"""The current chat user: ``(platform, user id)`` looked up, or created on first contact.

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
    """Outer update middleware: put ``chat_user`` (a ``ChatUserInfo``) into the data."""

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
            data["chat_user"] = await services.identity.ensure_user(
                str(data["platform"]), user.id, user.first_name
            )
        return await handler(event, data)
