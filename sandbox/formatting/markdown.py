"""``parse_mode=MarkdownV2`` and legacy ``Markdown`` as Telegram's server parses them (TDLib's
``parse_markdown_v2`` and ``parse_markdown``), and the Markdown dialect Bale's clients render
from plain text (:func:`render_bale`), which never refuses anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.formatting.base import (
    Builder,
    Entity,
    EntityParseError,
    Formatted,
    utf8_offset,
)
from sandbox.formatting.html_mode import looks_like_url

# ---------------------------------------------------------------------------------- MarkdownV2

_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_V2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _OpenV2:
    type: str
    offset: int
    byte_offset: int
    argument: str = ""


def parse_markdown_v2(text: str) -> Formatted:
    """Parse Telegram's MarkdownV2 into text and entities, or raise :class:`EntityParseError`."""
    out = Builder()
    stack: list[_OpenV2] = []
    entities: list[Entity] = []
    n = len(text)
    i = 0
    quote_start: int | None = None
    while i < n:
        c = text[i]
        in_code = bool(stack) and stack[-1].type in ("code", "pre")
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if c == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            # A quote runs to the end of its line; consecutive quoted lines make one block.
            if quote_start is None:
                quote_start = out.offset
            i += 1
            continue
        if c == "\n" and quote_start is not None and not (i + 1 < n and text[i + 1] == ">"):
            if out.offset > quote_start:
                entities.append(
                    {
                        "type": "blockquote",
                        "offset": quote_start,
                        "length": out.offset - quote_start,
                    }
                )
            quote_start = None
        if c not in _V2_RESERVED:
            out.add(c)
            i += 1
            continue
        if in_code and c != "`":
            out.add(c)
            i += 1
            continue

        top = stack[-1] if stack else None
        closes = False
        if top is not None:
            if top.type == "code":
                closes = c == "`"
            elif top.type == "pre":
                closes = text.startswith("```", i)
            elif top.type == "bold":
                closes = c == "*"
            elif top.type == "italic":
                closes = c == "_" and not text.startswith("__", i)
            elif top.type == "underline":
                closes = text.startswith("__", i)
            elif top.type == "strikethrough":
                closes = c == "~"
            elif top.type == "spoiler":
                closes = text.startswith("||", i)
            elif top.type in ("text_link", "custom_emoji"):
                closes = c == "]"
        if closes and top is not None:
            stack.pop()
            step = {"pre": 3, "underline": 2, "spoiler": 2}.get(top.type, 1)
            i += step
            argument = top.argument
            if top.type in ("text_link", "custom_emoji"):
                if i < n and text[i] == "(":
                    end = i + 1
                    url_chars: list[str] = []
                    while end < n and text[end] != ")":
                        if text[end] == "\\" and end + 1 < n:
                            end += 1
                        url_chars.append(text[end])
                        end += 1
                    if end >= n:
                        raise EntityParseError(
                            f"Can't find end of a url at byte offset {utf8_offset(text, i)}"
                        )
                    argument = "".join(url_chars)
                    i = end + 1
                else:
                    argument = ""
            length = out.offset - top.offset
            if length > 0:
                entity: Entity = {"type": top.type, "offset": top.offset, "length": length}
                if top.type == "text_link":
                    if argument and looks_like_url(argument):
                        entity["url"] = argument
                        entities.append(entity)
                elif top.type == "custom_emoji":
                    if argument.startswith("tg://emoji?id="):
                        entity["custom_emoji_id"] = argument.removeprefix("tg://emoji?id=")
                        entities.append(entity)
                else:
                    if top.type == "pre" and argument:
                        entity["language"] = argument
                    entities.append(entity)
            continue

        byte_offset = utf8_offset(text, i)
        if c == "_" and text.startswith("__", i):
            stack.append(_OpenV2("underline", out.offset, byte_offset))
            i += 2
        elif c == "_":
            stack.append(_OpenV2("italic", out.offset, byte_offset))
            i += 1
        elif c == "*":
            stack.append(_OpenV2("bold", out.offset, byte_offset))
            i += 1
        elif c == "~":
            stack.append(_OpenV2("strikethrough", out.offset, byte_offset))
            i += 1
        elif c == "|" and text.startswith("||", i):
            stack.append(_OpenV2("spoiler", out.offset, byte_offset))
            i += 2
        elif c == "[":
            stack.append(_OpenV2("text_link", out.offset, byte_offset))
            i += 1
        elif c == "!" and text.startswith("![", i):
            stack.append(_OpenV2("custom_emoji", out.offset, byte_offset))
            i += 2
        elif c == "`" and text.startswith("```", i):
            i += 3
            language_end = i
            while (
                language_end < n and not text[language_end].isspace() and text[language_end] != "`"
            ):
                language_end += 1
            language = ""
            if language_end < n and text[language_end] == "\n":
                language = text[i:language_end]
                i = language_end + 1
            stack.append(_OpenV2("pre", out.offset, byte_offset, language))
        elif c == "`":
            stack.append(_OpenV2("code", out.offset, byte_offset))
            i += 1
        else:
            raise EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
    if quote_start is not None and out.offset > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": out.offset - quote_start}
        )
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_V2_TYPE_NAMES[top.type]} entity at byte offset {top.byte_offset}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Formatted(out.text(), entities)


# ------------------------------------------------------------------- Markdown (legacy) and Bale

_LEGACY_MARKERS = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown_legacy(text: str) -> Formatted:
    """Parse Telegram's legacy ``Markdown`` mode, or raise :class:`EntityParseError`."""
    return _parse_simple_markdown(text, lenient=False)


def render_bale(text: str) -> Formatted:
    """What a Bale user sees for ``text``: Bale's clients render Markdown from plain text.

    Bale's dialect is the legacy Telegram one (``*bold*``, ``_italic_``, ``[text](url)``,
    `` `code` ``, triple-backtick blocks), a backslash escaping ``_ * ` [`` and itself, and it
    never refuses a message: an unmatched marker is shown as it is. A marker pairs only within
    one line, opens only before a non-space and closes only after one ("۲ * ۳ * ۴" stays plain).
    """
    return _parse_simple_markdown(text, lenient=True)


def _parse_simple_markdown(text: str, *, lenient: bool) -> Formatted:
    out = Builder()
    entities: list[Entity] = []
    n = len(text)
    i = 0
    # Legacy Markdown escapes these four; Bale's clients also take "\\" for a backslash.
    escapable = "_*`[\\" if lenient else "_*`["
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in escapable:
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        if c == "[":
            close = _find_closing(text, i + 1, "]", same_line=lenient)
            if close is not None and close + 1 < n and text[close + 1] == "(":
                url_end = text.find(")", close + 2)
                if url_end != -1:
                    inner = _parse_simple_markdown(text[i + 1 : close], lenient=lenient)
                    url = text[close + 2 : url_end]
                    start = out.offset
                    for nested in inner.entities:
                        entities.append({**nested, "offset": nested["offset"] + start})
                    out.add(inner.text)
                    if inner.text and looks_like_url(url):
                        entities.append(
                            {
                                "type": "text_link",
                                "offset": start,
                                "length": out.offset - start,
                                "url": url,
                            }
                        )
                    i = url_end + 1
                    continue
            if lenient:
                out.add(c)
                i += 1
                continue
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {utf8_offset(text, begin)}"
            )
        if c == "`" and text.startswith("```", i):
            close = text.find("```", i + 3)
            if close != -1:
                body = text[i + 3 : close]
                language = ""
                first_line, newline, rest = body.partition("\n")
                if newline and first_line and " " not in first_line:
                    language, body = first_line, rest
                start = out.offset
                out.add(body)
                if body:
                    pre: Entity = {"type": "pre", "offset": start, "length": out.offset - start}
                    if language:
                        pre["language"] = language
                    entities.append(pre)
                i = close + 3
                continue
        opens_here = not (lenient and c != "`" and (i + 1 >= n or text[i + 1].isspace()))
        close = (
            _find_closing(text, i + 1, c, same_line=lenient, flanking=lenient and c != "`")
            if opens_here
            else None
        )
        if close is None or (lenient and close == i + 1):
            if lenient:
                out.add(c)
                i += 1
                continue
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {utf8_offset(text, begin)}"
            )
        inner_text = text[i + 1 : close]
        if c != "`":
            inner_text = re.sub(r"\\([" + re.escape(escapable) + "])", r"\1", inner_text)
        start = out.offset
        out.add(inner_text)
        if inner_text:
            entities.append(
                {"type": _LEGACY_MARKERS[c], "offset": start, "length": out.offset - start}
            )
        i = close + 1
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Formatted(out.text(), entities)


def _find_closing(
    text: str, start: int, marker: str, *, same_line: bool, flanking: bool = False
) -> int | None:
    """Index of the marker that closes one opened before ``start``, or None.

    With ``flanking`` (Bale's client-side Markdown), a marker closes only right after a
    non-space character, as in CommonMark, so "۲ * ۳ * ۴" stays plain.
    """
    i = start
    while i < len(text):
        c = text[i]
        if c == "\\" and marker != "`" and i + 1 < len(text):
            i += 2
            continue
        if c == marker and not (flanking and i > start and text[i - 1].isspace()):
            return i
        if same_line and c == "\n":
            return None
        i += 1
    return None
