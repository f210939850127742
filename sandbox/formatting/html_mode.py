"""``parse_mode=HTML`` as Telegram's server parses it (TDLib's ``parse_html``), errors included."""

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
    out = Builder()
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
                    f'Unescaped "&" at byte offset {utf8_offset(text, i)}; '
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
                    f"Unclosed start tag at byte offset {utf8_offset(text, begin)}"
                )
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAG_TYPES:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {utf8_offset(text, begin)}'
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
                        f"{utf8_offset(text, begin)}"
                    )
                while at(i) and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr_name == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {utf8_offset(text, begin)}'
                    )
                i += 1
                while at(i) and at(i) in _SPACES:
                    i += 1
                if not at(i):
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {utf8_offset(text, begin)}'
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
                            f"{utf8_offset(text, token_begin)}"
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
                        f"Unclosed start tag at byte offset {utf8_offset(text, begin)}"
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
                    f"{utf8_offset(text, begin)}"
                )
            stack.append(_OpenTag(tag, argument, out.offset, len(out.parts)))
            i += 1
            continue

        # An end tag.
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {utf8_offset(text, begin)}")
        i += 1
        name_begin = i
        while at(i) and at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = text[name_begin:i].lower()
        while at(i) and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {utf8_offset(text, begin)}")
        i += 1
        open_tag = stack.pop()
        if end_name and end_name != open_tag.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {utf8_offset(text, begin)}, "
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
        if not looks_like_url(url):
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


def looks_like_url(url: str) -> bool:
    return bool(_URL_RE.match(url.strip()))
