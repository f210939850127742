"""``inline``: a magic filter (``F.text == …``) checked in the event loop, not in a thread.

aiogram calls every filter that is not a coroutine function through ``asyncio.to_thread``
(``CallableObject.call``), magic filters included: a thread hand-off, which costs far more
CPU than the check itself (figures in the README's benchmark section). A text message passed
half a dozen such checks on its way to its handler. Wrapped here, the check runs inline; aiogram awaits
``BaseFilter`` subclasses directly.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import BaseFilter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter


class _Inline(BaseFilter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> bool | dict[str, Any]:
        result = self.magic.resolve(event)
        if isinstance(result, dict):  # ``.as_(name)`` hands a value to the handler
            return result
        return bool(result)

    def __str__(self) -> str:
        return f"inline({self.magic!r})"


def inline(magic: MagicFilter) -> BaseFilter:
    """Return ``magic`` as a filter aiogram awaits in the event loop."""
    return _Inline(magic)
