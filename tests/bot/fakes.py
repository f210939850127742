"""The fake edge: a Bot API session that records calls, and factories for incoming updates.

The dispatcher, routers, middlewares, services and database under test are all real; only the
HTTP hop to Telegram's or Bale's servers is replaced. The session answers the methods the bot is
expected to call with plausible results (validated by aiogram's own response models, as a real
reply would be) and fails loudly on any other method.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
    User,
)

from bot.platform import Platform, platform_of
from sandbox.formatting import Formatted, parse_text, render_bale

_ids = itertools.count(1000)


class UnexpectedMethod(AssertionError):
    """The bot called a Bot API method the fake does not expect."""


@dataclass
class Call:
    """One outgoing Bot API call."""

    name: str
    method: TelegramMethod[Any]
    params: dict[str, Any]
    bale: bool = False

    @property
    def text(self) -> str:
        """The text as the user sees it, parsed the way Telegram (or a Bale client) does.

        The sandbox's parsers follow Telegram's own; malformed HTML fails the test here, as
        Telegram would refuse the message.
        """
        return self.formatted.text

    @property
    def formatted(self) -> Formatted:
        raw = str(self.params.get("text") or self.params.get("caption") or "")
        if self.bale:
            return render_bale(raw)
        return parse_text(raw, self.parse_mode)

    @property
    def entities(self) -> list[dict[str, Any]]:
        return self.formatted.entities

    @property
    def raw_text(self) -> str:
        return str(self.params.get("text") or "")

    @property
    def parse_mode(self) -> str | None:
        return self.params.get("parse_mode")

    @property
    def markup(self) -> Any:
        return self.params.get("reply_markup")

    def buttons(self) -> list[str]:
        """The labels of the keyboard sent with this call (reply or inline), row by row."""
        markup = self.markup
        if isinstance(markup, InlineKeyboardMarkup):
            return [b.text for row in markup.inline_keyboard for b in row]
        if isinstance(markup, ReplyKeyboardMarkup):
            return [b.text for row in markup.keyboard for b in row]
        return []

    def callback_data(self) -> list[str]:
        markup = self.markup
        if isinstance(markup, InlineKeyboardMarkup):
            return [b.callback_data or "" for row in markup.inline_keyboard for b in row]
        return []


class RecordingSession(BaseSession):
    """A ``BaseSession`` that records every call instead of reaching a Bot API server."""

    EXPECTED = frozenset(
        {
            "sendMessage",
            "sendChatAction",
            "answerCallbackQuery",
            "editMessageText",
            "editMessageReplyMarkup",
            "deleteMessage",
            "setMyCommands",
            "deleteWebhook",
            "setWebhook",
            "getMe",
        }
    )

    def __init__(self, api: TelegramAPIServer | None = None) -> None:
        if api is None:
            super().__init__()
        else:
            super().__init__(api=api)
        self.calls: list[Call] = []
        # Every call ever made, for finding a button sent a few messages ago.
        self.history: list[Call] = []
        self._message_ids = itertools.count(5000)
        self._answered: set[str] = set()

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (BaseSession's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        # An async generator that yields nothing: the first step raises.
        nothing: tuple[bytes, ...] = ()
        for chunk in nothing:
            yield chunk
        raise UnexpectedMethod(f"the bot tried to download {url}")

    def _params(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in type(method).model_fields:
            value = getattr(method, name)
            if isinstance(value, Default):
                value = bot.default[value.name]
            params[name] = value
        return params

    def _result(self, bot: Bot, name: str, params: dict[str, Any]) -> Any:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        bot_user = {"id": bot.id, "is_bot": True, "first_name": "دستیار"}
        if name in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            chat_id = params.get("chat_id") or 0
            message: dict[str, Any] = {
                "message_id": params.get("message_id") or next(self._message_ids),
                "date": now,
                "chat": {"id": chat_id, "type": "private"},
                "from": bot_user,
                "text": params.get("text") or "…",
            }
            markup = params.get("reply_markup")
            if isinstance(markup, InlineKeyboardMarkup):
                message["reply_markup"] = markup.model_dump(exclude_none=True)
            return message
        if name == "getMe":
            return bot_user | {"username": "tamin_test_bot"}
        return True

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (BaseSession's signature)
    ) -> TelegramType:
        name = method.__api_method__
        if name not in self.EXPECTED:
            raise UnexpectedMethod(f"unexpected Bot API method {name}")
        params = self._params(bot, method)
        if name == "answerCallbackQuery":
            # Telegram refuses a second answer to the same query ("query is too old").
            if params["callback_query_id"] in self._answered:
                raise UnexpectedMethod(
                    f"callback query {params['callback_query_id']} answered twice"
                )
            self._answered.add(params["callback_query_id"])
        call = Call(name, method, params, bale=platform_of(bot) is Platform.BALE)
        self.calls.append(call)
        self.history.append(call)
        payload = {"ok": True, "result": self._result(bot, name, params)}
        response = Response[method.__returning__].model_validate(  # type: ignore[name-defined]
            payload, context={"bot": bot}
        )
        return response.result  # type: ignore[return-value]

    # --- what tests look at -------------------------------------------------------------
    def take(self) -> list[Call]:
        """Return the calls since the last ``take`` and forget them."""
        calls, self.calls = self.calls, []
        return calls


# --- incoming updates ------------------------------------------------------------------


def user(user_id: int, first_name: str = "کاربر", **extra: Any) -> User:
    return User(id=user_id, is_bot=False, first_name=first_name, language_code="fa", **extra)


def private_chat(user_id: int) -> Chat:
    return Chat(id=user_id, type="private")


def group_chat(chat_id: int = -100123) -> Chat:
    return Chat(id=chat_id, type="group", title="گروه خانوادگی")


def message(
    from_user: User,
    *,
    chat: Chat | None = None,
    text: str | None = None,
    **content: Any,
) -> Message:
    """A message from ``from_user``; ``content`` holds other fields (contact, sticker, …)."""
    return Message(
        message_id=next(_ids),
        date=dt.datetime.now(dt.UTC),
        chat=chat or private_chat(from_user.id),
        from_user=from_user,
        text=text,
        **content,
    )


def contact(phone: str, *, user_id: int | None, first_name: str = "مریم") -> Contact:
    return Contact(phone_number=phone, first_name=first_name, user_id=user_id)


def callback(from_user: User, data: str, *, on: Message | None = None) -> CallbackQuery:
    return CallbackQuery(
        id=str(next(_ids)),
        from_user=from_user,
        chat_instance="ci-1",
        data=data,
        message=on,
    )


def update(**event: Any) -> Update:
    """An update carrying one event (``message=…``, ``callback_query=…``, ``edited_message=…``)."""
    return Update(update_id=next(_ids), **event)
