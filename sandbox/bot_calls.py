"""One Bot API call as the sandbox reads it: the request in any of Telegram's encodings, its
parameters typed as Telegram types them, and the :class:`Call` every method handler receives.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from sandbox import errors
from sandbox.errors import bad_request
from sandbox.keyboards import markup_kind
from sandbox.models import Upload
from sandbox.world import BotState, SandboxWorld

_INT_FIELDS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "message_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
        "duration",
        "width",
        "height",
        "user_id",
        "length",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "remove_caption",
        "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "message_ids",
        "menu_button",
    }
)


def coerce_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn form strings into the types Telegram reads them as (JSON bodies are typed already)."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if name in _JSON_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                if name == "reply_markup":
                    raise bad_request(errors.MARKUP_JSON) from None
                if name in ("entities", "caption_entities"):
                    raise bad_request(errors.ENTITIES_JSON) from None
                raise bad_request(f"can't parse {name} JSON object") from None
        elif name in _INT_FIELDS and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise bad_request(f'field "{name}" must be of type Integer') from None
        elif name in _BOOL_FIELDS and isinstance(value, str):
            value = value.strip().lower() in ("true", "1", "yes")
        elif name in ("chat_id", "from_chat_id") and isinstance(value, str):
            stripped = value.strip()
            if stripped.lstrip("-").isdigit():
                value = int(stripped)
        params[name] = value
    return params


Handler = Callable[["Call"], Awaitable[Any]]


@dataclass
class Call:
    """One Bot API call in progress."""

    world: SandboxWorld
    bot: BotState
    method: str
    params: dict[str, Any]
    files: dict[str, Upload]

    def int_param(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f'field "{name}" must be of type Integer')
        return value


@dataclass
class Described:
    """A result that Telegram answers with a ``description`` as well (the webhook methods)."""

    result: Any
    description: str


def inline_or_none(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup_kind(markup) == "inline" else None


async def read_request(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters and file parts of a Bot API request, whatever its encoding."""
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    if request.method != "POST":
        return params, files
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            params.update(body)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=1000, max_fields=1000, max_part_size=4 * 1024 * 1024)
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = Upload(value.filename, value.content_type, await value.read())
            else:
                params[key] = value
        await form.close()
    return params, files
