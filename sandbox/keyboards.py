"""Validation of ``reply_markup`` the way Telegram's server does it, and button look-ups.

Telegram refuses a malformed keyboard with a 400 whose description names the problem; aiogram's
own types catch some of these client-side, but not all (an inline button with no action, a
``callback_data`` over 64 bytes, two actions on one button), and a bot that builds raw dicts
bypasses them entirely.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import BUTTON_DATA_INVALID, MARKUP_JSON, BotApiError, bad_request

MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100

# Every optional field of InlineKeyboardButton; Telegram: "You must use exactly one".
INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_REQUESTS = (
    "request_users",
    "request_chat",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
)
_BUTTON_URL_RE = re.compile(r"^(?:https?://|tg://)\S+$", re.I)


def markup_kind(markup: dict[str, Any] | None) -> str | None:
    """``inline``, ``reply``, ``remove``, ``force_reply`` or ``None``."""
    if not markup:
        return None
    if "inline_keyboard" in markup:
        return "inline"
    if "keyboard" in markup:
        return "reply"
    if markup.get("remove_keyboard"):
        return "remove"
    if markup.get("force_reply"):
        return "force_reply"
    return None


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Return the markup if Telegram would take it; raise :class:`BotApiError` if not."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request(MARKUP_JSON)
    kind = markup_kind(markup)
    if kind is None:
        raise bad_request(MARKUP_JSON)
    if inline_only and kind != "inline":
        raise bad_request("Bad Request: inline keyboard expected")
    if kind == "inline":
        _validate_inline(markup["inline_keyboard"])
    elif kind == "reply":
        _validate_reply(markup["keyboard"])
    return markup


def _rows(rows: Any, field: str, owner: str) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'field "{field}" of the {owner} should be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("REPLY_MARKUP_TOO_LONG")
    return rows


def _validate_inline(rows: Any) -> None:
    for row in _rows(rows, "inline_keyboard", "InlineKeyboardMarkup"):
        for button in row:
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: Object expected")
            text = button.get("text")
            if text is None:
                raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
            if not isinstance(text, str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [name for name in INLINE_ACTIONS if button.get(name) not in (None, False)]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                # Telegram's documentation: "You must use exactly one of the optional fields."
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, found {', '.join(actions)}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if (
                    not isinstance(data, str)
                    or not data
                    or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
                ):
                    raise BotApiError(400, BUTTON_DATA_INVALID)
            if "url" in button and (
                not isinstance(button["url"], str) or not _BUTTON_URL_RE.match(button["url"])
            ):
                raise bad_request("BUTTON_URL_INVALID")


def _validate_reply(rows: Any) -> None:
    for row in _rows(rows, "keyboard", "ReplyKeyboardMarkup"):
        for button in row:
            if isinstance(button, str):
                text: Any = button
            elif isinstance(button, dict):
                if "text" not in button:
                    raise bad_request("can't parse keyboard button: Can't find field \"text\"")
                text = button["text"]
                requests = [name for name in _REPLY_REQUESTS if button.get(name)]
                if len(requests) > 1:
                    raise bad_request(
                        "can't parse keyboard button: at most one of the optional fields may be "
                        f"used, found {', '.join(requests)}"
                    )
            else:
                raise bad_request("can't parse keyboard button: Object expected")
            if not isinstance(text, str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")


def reply_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The buttons of a reply keyboard, each as a dict with at least ``text``."""
    if markup_kind(markup) != "reply":
        return []
    assert markup is not None
    buttons: list[dict[str, Any]] = []
    for row in markup["keyboard"]:
        for button in row:
            buttons.append({"text": button} if isinstance(button, str) else button)
    return buttons


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if markup_kind(markup) != "inline":
        return []
    assert markup is not None
    return [button for row in markup["inline_keyboard"] for button in row]
