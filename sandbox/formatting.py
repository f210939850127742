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
"""

from __future__ import annotations

import html
import re
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


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates output characters while tracking the UTF-16 offset entities need."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0

    def add(self, chars: str) -> None:
        self.parts.append(chars)
        self.offset += utf16_len(chars)

    def text(self) -> str:
        return "".join(self.parts)


# --------------------------------------------------------------------------------------- HTML

_HTML_TAG_TYPES = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_SPACES = " \t\r\n\f\v"


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    """The character an HTML entity at ``i`` stands for and the index after it."""
    match = _HTML_ENTITY_RE.match(text, i)
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int
    start_index: int


_PLAIN_RUN = re.compile(r"[^<&]+")


def parse_html(text: str, *, strict_ampersand: bool = True) -> Formatted:
    """Parse Telegram's HTML subset into text and entities, or raise :class:`EntityParseError`.

    Telegram itself keeps a bare ``&`` that starts no entity as a literal; with
    ``strict_ampersand`` the sandbox refuses it, because a bot that sends user text unescaped
    also turns a user's ``&lt;`` into ``<`` (and will one day send an unescaped ``<``).
    """
    out = _Builder()
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    n = len(text)
    i = 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.add(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; '
                    "write it as &amp; (the sandbox is stricter than Telegram here)"
                )
            out.add(c)
            i += 1
            continue
        if c != "<":
            # The run of plain text up to the next tag or character reference, in one piece.
            run = _PLAIN_RUN.match(text, i)
            assert run is not None  # text[i] is neither "<" nor "&"
            out.add(run.group())
            i = run.end()
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while at(i) and at(i) not in _SPACES and at(i) != ">":
                i += 1
            if not at(i):
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAG_TYPES:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            argument = ""
            while at(i) != ">":
                while at(i) and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attr_begin = i
                while at(i) and at(i) not in _SPACES and at(i) != "=" and at(i) != ">":
                    i += 1
                attr_name = text[attr_begin:i].lower()
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, begin)}"
                    )
                while at(i) and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                i += 1
                while at(i) and at(i) in _SPACES:
                    i += 1
                if not at(i):
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i) and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise EntityParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while at(i) and at(i) != quote:
                        if at(i) == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if not at(i):
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if (
                    (tag == "a" and attr_name == "href")
                    or (tag == "tg-emoji" and attr_name == "emoji-id")
                    or (tag == "code" and attr_name == "class" and value.startswith("language-"))
                    or (tag == "span" and attr_name == "class")
                ):
                    argument = value
            if tag == "span" and argument != "tg-spoiler":
                raise EntityParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append(_OpenTag(tag, argument, out.offset, len(out.parts)))
            i += 1
            continue

        # An end tag.
        if not stack:
            raise EntityParseError(
                f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        name_begin = i
        while at(i) and at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[name_begin:i].lower()
        while at(i) and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        i += 1
        open_tag = stack.pop()
        if end_name and end_name != open_tag.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{open_tag.name}>", found "</{end_name}>"'
            )
        length = out.offset - open_tag.offset
        if length <= 0:
            continue
        entity = _html_entity(open_tag, length, "".join(out.parts[open_tag.start_index :]))
        if entity is None:
            continue
        if (
            entity["type"] == "pre"
            and entities
            and entities[-1]["type"] == "code"
            and entities[-1]["offset"] == entity["offset"]
            and entities[-1]["length"] == entity["length"]
        ):
            # <pre><code class="language-x"> is how Telegram spells a pre block with a language.
            language = entities.pop().get("language")
            if language:
                entity["language"] = language
        entities.append(entity)
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Formatted(out.text(), entities)


def _html_entity(tag: _OpenTag, length: int, inner_text: str) -> Entity | None:
    kind = _HTML_TAG_TYPES[tag.name]
    entity: Entity = {"type": kind, "offset": tag.offset, "length": length}
    if kind == "text_link":
        url = tag.argument or inner_text
        if not _looks_like_url(url):
            # Telegram drops a link whose address it cannot use and keeps the text.
            return None
        entity["url"] = url
    elif kind == "code" and tag.argument.startswith("language-"):
        entity["language"] = tag.argument.removeprefix("language-")
    elif kind == "custom_emoji":
        if not tag.argument.isdigit():
            return None
        entity["custom_emoji_id"] = tag.argument
    elif kind == "blockquote" and tag.argument == "expandable":
        entity["type"] = "expandable_blockquote"
    return entity


_URL_RE = re.compile(r"^(?:(?:https?|tg|ftp|mailto)://?\S+|[\w.-]+\.[a-z]{2,}(?:/\S*)?)$", re.I)


def _looks_like_url(url: str) -> bool:
    return bool(_URL_RE.match(url.strip()))


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
    out = _Builder()
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
                            f"Can't find end of a url at byte offset {_byte_offset(text, i)}"
                        )
                    argument = "".join(url_chars)
                    i = end + 1
                else:
                    argument = ""
            length = out.offset - top.offset
            if length > 0:
                entity: Entity = {"type": top.type, "offset": top.offset, "length": length}
                if top.type == "text_link":
                    if argument and _looks_like_url(argument):
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

        byte_offset = _byte_offset(text, i)
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
    out = _Builder()
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
                    if inner.text and _looks_like_url(url):
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
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
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
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
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


# --------------------------------------------------------------------------------- the reader


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
            url = "https://" + url if _looks_like_url(url) else ""
        if not url:
            return None
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">', "</a>"
    return _DISPLAY_TAGS.get(str(kind))
