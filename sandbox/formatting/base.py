"""The shared vocabulary of the parsers: :class:`Formatted` text with Bot API entities, the
refusal Telegram answers with, and offsets in UTF-16 code units as the Bot API counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


class EntityParseError(ValueError):
    """Text that Telegram refuses under its parse mode; ``str(error)`` is Telegram's reason."""


@dataclass
class Formatted:
    """Plain text as the reader sees it, with its formatting as Bot API entities."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    @property
    def utf16_length(self) -> int:
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf8_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class Builder:
    """Accumulates output characters while tracking the UTF-16 offset entities need."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0

    def add(self, chars: str) -> None:
        self.parts.append(chars)
        self.offset += utf16_len(chars)

    def text(self) -> str:
        return "".join(self.parts)
