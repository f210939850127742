"""Entities back into safe HTML for the web chat: what the person reads, never the bot's markup."""

from __future__ import annotations

import html
import re

from sandbox.formatting.base import (
    Entity,
)
from sandbox.formatting.html_mode import looks_like_url

_DISPLAY_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}
_SAFE_LINK_RE = re.compile(r"^(?:https?|tg|mailto):", re.I)


_ASTRAL = "\U00010000"


def to_display_html(text: str, entities: list[Entity]) -> str:
    """Safe HTML for the web chat: every character escaped, formatting from entities only."""
    opens: dict[int, list[Entity]] = {}
    closes: dict[int, list[Entity]] = {}
    for entity in entities:
        tags = _display_tags(entity)
        if tags is None:
            continue
        opens.setdefault(entity["offset"], []).append(entity)
        closes.setdefault(entity["offset"] + entity["length"], []).append(entity)
    parts: list[str] = []
    stack: list[Entity] = []

    def close_until(target: Entity) -> None:
        reopen: list[Entity] = []
        while stack:
            top = stack.pop()
            parts.append(_display_tags(top)[1])  # type: ignore[index]
            if top is target:
                break
            reopen.append(top)
        for entity in reversed(reopen):
            parts.append(_display_tags(entity)[0])  # type: ignore[index]
            stack.append(entity)

    def tags_at(offset: int) -> None:
        for entity in closes.get(offset, []):
            if entity in stack:
                close_until(entity)
        for entity in sorted(opens.get(offset, []), key=lambda e: -e["length"]):
            parts.append(_display_tags(entity)[0])  # type: ignore[index]
            stack.append(entity)

    # Escaped a run at a time, between the offsets where some entity opens or closes.
    marks = opens.keys() | closes.keys()
    position = 0  # in UTF-16 code units, as entity offsets are
    run_start = 0
    for index, char in enumerate(text):
        if position in marks:
            parts.append(html.escape(text[run_start:index], quote=False))
            run_start = index
            tags_at(position)
        position += 1 if char < _ASTRAL else 2  # a UTF-16 surrogate pair above U+FFFF
    parts.append(html.escape(text[run_start:], quote=False))
    tags_at(position)
    while stack:
        parts.append(_display_tags(stack.pop())[1])  # type: ignore[index]
    return "".join(parts)


def _display_tags(entity: Entity) -> tuple[str, str] | None:
    kind = entity.get("type")
    if kind == "text_link":
        url = str(entity.get("url", ""))
        if not _SAFE_LINK_RE.match(url):
            url = "https://" + url if looks_like_url(url) else ""
        if not url:
            return None
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">', "</a>"
    return _DISPLAY_TAGS.get(str(kind))
