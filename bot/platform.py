"""The messaging platforms the assistant runs on, and the Bot that knows which one it serves.

Telegram and Bale speak the same Bot API, so one aiogram ``Bot`` class serves both; what differs
is the server address, the user-id space (ids of the two platforms may collide, so a user is
``(platform, user id)``) and how text is formatted (see ``bot.render``). Only the factory and the
renderer look at the platform.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession


class Platform(StrEnum):
    """Where an update came from."""

    TELEGRAM = "telegram"
    BALE = "bale"


class PlatformBot(Bot):
    """An aiogram ``Bot`` that records the platform it talks to."""

    def __init__(
        self,
        token: str,
        *,
        platform: Platform,
        session: BaseSession | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token, session=session, **kwargs)
        self.platform = platform


def platform_of(bot: Bot) -> Platform:
    """Return the platform of ``bot``; a plain ``Bot`` is taken for Telegram."""
    return getattr(bot, "platform", Platform.TELEGRAM)
