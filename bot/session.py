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
before, and a method carrying a file (``sendPhoto`` with an upload) still goes as multipart
form data through aiogram's own code.
"""

from __future__ import annotations

import json
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

_JSON_HEADERS = {"Content-Type": "application/json"}


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
        try:
            async with session.post(
                url,
                data=body,
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
