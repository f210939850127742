"""The Bot API session: aiogram's aiohttp session, sending JSON bodies instead of forms.

aiogram's ``AiohttpSession`` sends every method as ``application/x-www-form-urlencoded``: each
nested value (a keyboard, entities) is JSON-encoded into a string, then the whole form is
percent-encoded by ``urllib.parse.quote`` in pure Python, byte by byte. Persian text is two
bytes a letter and each byte becomes ``%XX``, so a reply of a few hundred letters costs
thousands of Python-level steps and triples in size on the wire. The Bot API of Telegram and
of Bale accepts ``application/json`` for every method without a file, which the C encoder of
the standard library writes in one pass.

Only the body changes: the values are the ones aiogram prepares (``BaseSession.prepare_value``:
defaults resolved, enums and objects dumped), the answer is read and checked by aiogram as
before (but for a sent text's, :meth:`JsonAiohttpSession.check_response`), and a method
carrying a file (``sendPhoto`` with an upload) still goes as multipart form data through
aiogram's own code.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile, Message
from aiohttp import ClientError, ClientTimeout
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import BytesPayload

logger = logging.getLogger(__name__)

_JSON_HEADERS = {"Content-Type": "application/json"}

# Set by bot.send_ledger around a call it records: called once the request's body has been
# handed to the kernel (so the record is written the instant the request has left).
request_written: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "request_written", default=None
)


class _WrittenPayload(BytesPayload):
    """A JSON body that calls ``on_written`` as soon as aiohttp has written it.

    aiohttp writes a body with ``transport.write``, which hands the bytes to the kernel at once
    (the socket of an idle keep-alive connection has room for a Bot API request): once
    ``write_with_length`` returns, the request has left this process, and a kill -9 no longer
    stops it. The hook runs right then, in the same step, with no turn of the event loop between
    (on Python 3.11 aiohttp writes the body in a task of its own, started a loop turn after the
    request began: any record made before the call would precede the request by that turn).
    """

    def __init__(self, value: bytes, on_written: Callable[[], None]) -> None:
        super().__init__(value, content_type="application/json")
        self._on_written = on_written

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        await super().write_with_length(writer, content_length)
        try:
            self._on_written()
        except Exception as exc:  # the record failing must never fail the send
            logger.warning("request written, its record failed (%s)", type(exc).__name__)


class JsonAiohttpSession(AiohttpSession):
    """``AiohttpSession`` that posts methods without files as JSON."""

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The method's JSON body, or ``None`` when it carries a file (sent as a form)."""
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # The form path leaves out exactly these (``build_form_data``: ``if not value``
            # after preparing, where every other value has become a non-empty string).
            if prepared is None or prepared == "":
                continue
            body[key] = prepared
        if files:
            return None
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        on_written = request_written.get()
        data: bytes | BytesPayload = (
            body if on_written is None else _WrittenPayload(body, on_written)
        )
        try:
            async with session.post(
                url,
                data=data,
                headers=_JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """aiogram's check, but a text sent is answered with its message's id, date, chat and
        text only.

        Rule: no caller of ``send_message`` reads more of the message it sent than those four
        (the outbox keeps its id; an answer the pace hands to the outbox gets
        ``bot.pacing.placeholder_message``, a replay of the send ledger
        ``bot.send_ledger.replayed_result``, both with no more). Validating the whole echoed
        ``Message`` (its sender, entities, buttons: a hundred fields and nested objects) was
        a tenth of the bot's profile samples on PostgreSQL by polling (the README's benchmark
        section, 2026-12-07); these four cost about 90 µs an answer against 240 µs. Anything
        else — a refusal, a flood wait, an answer not in the expected shape, another method —
        goes through aiogram's check, which raises its usual exceptions.
        """
        if isinstance(method, SendMessage) and 200 <= status_code < 300:
            sent = _sent_message(bot, content)
            if sent is not None:
                return cast(
                    Response[TelegramType], _MESSAGE_RESPONSE.model_construct(ok=True, result=sent)
                )
        return super().check_response(bot, method, status_code, content)


# ``Response[Message]`` made once: aiogram parametrises the generic on every answer.
_MESSAGE_RESPONSE: Any = Response[Message]


def _sent_message(bot: Bot, content: str) -> Message | None:
    """The message of a ``sendMessage`` answer, its four fields only (None: not that shape)."""
    try:
        answer = json.loads(content)
        if answer.get("ok") is not True:
            return None
        result = answer["result"]
        chat = result["chat"]
        return Message.model_validate(
            {
                "message_id": result["message_id"],
                "date": result["date"],
                "chat": {"id": chat["id"], "type": chat["type"]},
                "text": result.get("text"),
            },
            context={"bot": bot},
        )
    except (ValueError, TypeError, KeyError, AttributeError):  # pydantic's error is a ValueError
        return None
