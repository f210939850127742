"""Files the bot kept only as the messenger's reference (ticket and dependant request documents).

The bot stores a ``file_id`` for those (the bytes stay on Telegram's or Bale's servers, or the
sandbox's); the console fetches them through the Bot API (``getFile``, then the file URL) with
the platform's token from the settings, and keeps the last few in memory so that a thumbnail
and its full-size view cost one download. Chat attachments sent to an agent are different:
their bytes are in the database (``ConversationAttachment``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

import aiohttp

from services.settings import Settings

logger = logging.getLogger(__name__)

# The cache holds at most this many files and this many bytes in all: enough for the pages an
# agent has open, small beside the console's memory. Bot API downloads are capped at 20 MB.
CACHE_FILES: Final = 64
CACHE_BYTES: Final = 32 * 1024 * 1024
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
TIMEOUT_SECONDS: Final = 15.0


class FileUnavailable(Exception):
    """The messenger does not give the file (no token for the platform, gone, too large)."""


@dataclass(frozen=True, slots=True)
class BotApi:
    token: str
    base: str


class BotFiles:
    """Fetch a file by ``(platform, file_id)`` through the platform's Bot API, with a cache."""

    def __init__(self, apis: dict[str, BotApi]) -> None:
        self._apis = apis
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> BotFiles:
        env = settings.env
        apis: dict[str, BotApi] = {}
        if env.telegram_bot_token is not None:
            apis["telegram"] = BotApi(
                env.telegram_bot_token.get_secret_value(), env.telegram_api_base
            )
        if env.bale_bot_token is not None:
            apis["bale"] = BotApi(env.bale_bot_token.get_secret_value(), env.bale_api_base)
        return cls(apis)

    async def fetch(self, platform: str, file_id: str) -> bytes:
        key = (platform, file_id)
        async with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        content = await self._download(platform, file_id)
        async with self._lock:
            if key not in self._cache and len(content) <= CACHE_BYTES // 4:
                self._cache[key] = content
                self._size += len(content)
                while len(self._cache) > CACHE_FILES or self._size > CACHE_BYTES:
                    _, dropped = self._cache.popitem(last=False)
                    self._size -= len(dropped)
        return content

    async def _download(self, platform: str, file_id: str) -> bytes:
        api = self._apis.get(platform)
        if api is None:
            raise FileUnavailable(f"no bot token for {platform}")
        base = api.base.rstrip("/")
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.post(
                    f"{base}/bot{api.token}/getFile", json={"file_id": file_id}
                ) as answer:
                    body = await answer.json(content_type=None)
                if not isinstance(body, dict) or not body.get("ok"):
                    raise FileUnavailable("getFile refused")
                path = str(body["result"].get("file_path") or "")
                size = int(body["result"].get("file_size") or 0)
                if not path or size > MAX_FILE_BYTES:
                    raise FileUnavailable("no file path or too large")
                async with http.get(f"{base}/file/bot{api.token}/{path}") as download:
                    if download.status != 200:
                        raise FileUnavailable(f"download answered {download.status}")
                    return await download.read()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
            # Never log the URL: it carries the bot's token.
            logger.warning("file fetch from %s failed: %s", platform, type(exc).__name__)
            raise FileUnavailable(type(exc).__name__) from exc
