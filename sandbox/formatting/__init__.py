"""Message text as Telegram and Bale see it: parse modes into plain text plus entities, and back.

Telegram parses ``parse_mode`` text on its server and rejects what it cannot parse; the bot gets
400 "can't parse entities: …". The parsers here follow the rules of TDLib's ``parse_html``,
``parse_markdown_v2`` and legacy ``parse_markdown`` (the code Telegram's Bot API server runs),
with its error strings, so that a renderer bug shows up against the sandbox exactly as it would
against Telegram. No library does this: HTML parsers are lenient by design and Markdown libraries
follow CommonMark, not Telegram's dialects.

Bale has no ``parse_mode``: its clients render a small Markdown dialect from the plain text, and
never reject anything. :func:`render_bale` shows what a Bale user would see.

Entity offsets and lengths are in UTF-16 code units, as in the Bot API.

The parsers live in :mod:`~sandbox.formatting.html_mode` and :mod:`~sandbox.formatting.markdown`,
the web chat's rendering in :mod:`~sandbox.formatting.display`; this module is the reader that
picks one, and every public name is imported from here.
"""

from __future__ import annotations

import re

from sandbox.formatting.base import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    Entity,
    EntityParseError,
    Formatted,
    utf16_len,
)
from sandbox.formatting.display import to_display_html
from sandbox.formatting.html_mode import parse_html
from sandbox.formatting.markdown import parse_markdown_legacy, parse_markdown_v2, render_bale

__all__ = [
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "Entity",
    "EntityParseError",
    "Formatted",
    "detect_entities",
    "parse_html",
    "parse_markdown_legacy",
    "parse_markdown_v2",
    "parse_text",
    "render_bale",
    "strip_formatted",
    "to_display_html",
    "utf16_len",
]


def parse_text(text: str, parse_mode: str | None, *, strict_ampersand: bool = True) -> Formatted:
    """Text as Telegram stores it for ``parse_mode`` (``None`` keeps it plain)."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return Formatted(text, [])
    if mode == "html":
        return parse_html(text, strict_ampersand=strict_ampersand)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown_legacy(text)
    raise EntityParseError(f'Unsupported parse_mode "{parse_mode}"')


def strip_formatted(formatted: Formatted) -> Formatted:
    """Telegram trims leading and trailing white space of a message and keeps entities aligned."""
    text = formatted.text
    stripped_left = text.lstrip()
    removed = utf16_len(text) - utf16_len(stripped_left)
    stripped = stripped_left.rstrip()
    total = utf16_len(stripped)
    entities: list[Entity] = []
    for entity in formatted.entities:
        start = max(entity["offset"] - removed, 0)
        end = min(entity["offset"] + entity["length"] - removed, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return Formatted(stripped, entities)


_BOT_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram adds to what a user types: bot commands."""
    entities: list[Entity] = []
    for match in _BOT_COMMAND_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities
