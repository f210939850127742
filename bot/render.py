"""Turn a catalogue text and its values into what one platform shows exactly as written.

Templates in ``bot.texts`` are plain Persian with ``{name}`` fields; the only markup they may
carry is ``<b>…</b>`` around fixed words. Values are data (names, codes, what the user typed) and
are never trusted as markup.

- Telegram gets ``parse_mode=HTML``: every literal part and every value goes through
  ``html.escape``, and only the catalogue's own ``<b>`` tags survive.
- Bale has no ``parse_mode``: its clients format plain text in the legacy Telegram Markdown
  dialect (``*bold*``, ``_italic_``, ``[text](url)``, backtick code — the markers Bale bot
  libraries emit, e.g. node-bale-api's ``MaskText``), so ``*۱۴۲۰*۴#`` would turn bold. We escape
  each marker with a backslash, the escape of that dialect (Telegram's legacy Markdown escapes
  ``_ * ` [`` this way, and the project's sandbox models Bale the same way). An invisible
  separator (word joiner, zero-width space) was the alternative and was rejected: such a
  character is not white space, so a marker next to it still opens and closes (Bale opens a
  marker before a non-space and closes it after one), and ``*۱۴۲۰*۴#`` would still be bold.
  Escaping keeps the real ASCII ``*`` that a dialer needs, where a look-alike asterisk would not
  dial. Only the four markers are escaped (plus a backslash that would otherwise escape one of
  them), so no stray backslash shows where nothing needed escaping; ``]`` and ``(`` are
  harmless once ``[`` cannot open a link.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from string import Formatter
from typing import Any, Final

from aiogram.enums import ParseMode

from bot.platform import Platform

# The longest message text, in UTF-16 code units. Telegram: 4096 after parsing the entities
# (Bot API, sendMessage ``text``: "1-4096 characters after entities parsing"). Bale copies the
# Bot API and its documentation gives the same 4096 for ``text``; having no parse_mode, it
# counts the text as sent, backslash escapes included (the sandbox enforces both rules).
MESSAGE_LIMIT: Final = 4096

# Characters that open Bale's inline formatting.
BALE_MARKDOWN_CHARS: Final = frozenset("*_`[")
# A marker, or a backslash that would escape what follows it (a marker, a backslash, or
# whatever the next part of the message starts with).
_BALE_SPECIAL: Final = re.compile(r"[*_`\[]|\\(?=[*_`\[\\]|$)")
_BOLD_TAG: Final = re.compile(r"(</?b>)")
_FORMATTER: Final = Formatter()


def escape_bale(text: str) -> str:
    """Escape every Markdown marker of ``text`` with a backslash, so Bale shows it as written."""
    return _BALE_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _cut(value: str, keep: int) -> str:
    """``value`` cut to at most ``keep`` characters, at a space in the last tenth if any."""
    if keep >= len(value):
        return value
    head = value[:keep]
    space = head.rfind(" ", keep - keep // 10)
    return (head[:space] if space > 0 else head).rstrip()


def _split_point(text: str, most: int) -> int:
    """Where to cut ``text`` at or before ``most``: a line end, a space, or outside an escape."""
    for sep in ("\n", " "):
        at = text.rfind(sep, most // 2, most)
        if at > 0:
            return at + 1
    cut = most
    amp = text.rfind("&", max(0, cut - 8), cut)
    if amp >= 0 and ";" not in text[amp:cut]:
        cut = amp  # inside an HTML entity
    while cut > 1 and text[cut - 1] == "\\":
        cut -= 1  # between a Bale backslash and what it escapes
    return cut


_BALE_ESCAPE: Final = re.compile(r"\\([*_`\[\\])")


def visible_text(text: str, parse_mode: str | None = "HTML") -> str:
    """Return ``text`` as a reader sees it (tags and escapes removed), for tests and logs."""
    if parse_mode:
        return html.unescape(_BOLD_TAG.sub("", text))
    return _BALE_ESCAPE.sub(r"\1", text)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A text ready for ``send_message``/``edit_text``: ``**rendered`` spreads it."""

    text: str
    parse_mode: str | None

    def keys(self) -> tuple[str, str]:
        return ("text", "parse_mode")

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def utf16_len(text: str) -> int:
    """The length the Bot API counts: UTF-16 code units (an emoji beyond the BMP is two)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


class Renderer:
    """Renders catalogue templates for one platform."""

    def __init__(self, platform: Platform, *, limit: int = MESSAGE_LIMIT) -> None:
        self.platform = platform
        self.parse_mode: str | None = ParseMode.HTML if platform is Platform.TELEGRAM else None
        self.limit = limit

    def measure(self, text: str) -> int:
        """The length of a rendered ``text`` as the platform counts it against its limit.

        Telegram counts the text after parsing (tags gone, ``&lt;`` one character); Bale counts
        what is sent, so every escaping backslash counts.
        """
        if self.platform is Platform.TELEGRAM:
            return utf16_len(visible_text(text))
        return utf16_len(text)

    def split(self, text: str) -> list[str]:
        """A rendered ``text`` in pieces that each fit the limit (one piece when it fits).

        The safety net for any long answer: cut between lines, else between words, else
        anywhere but inside an escape (``&lt;``, Bale's ``\\*``). The catalogue's ``<b>`` tags
        wrap a few words on one line, so a cut between lines or words leaves them whole.
        """
        pieces: list[str] = []
        rest = text
        while self.measure(rest) > self.limit:
            # The longest prefix that fits, by halving (measure counts escapes as the platform).
            low, high = 1, len(rest)
            while low < high:
                mid = (low + high + 1) // 2
                if self.measure(rest[:mid]) <= self.limit:
                    low = mid
                else:
                    high = mid - 1
            cut = _split_point(rest, low)
            pieces.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        pieces.append(rest)
        return [p for p in pieces if p]

    def fit(self, template: str, field: str, note: str, /, **values: Any) -> Rendered:
        """Render ``template``, trimming the value ``field`` until the message fits the limit.

        For a message quoting what the user wrote (a complaint of 4 000 characters): the
        length is measured after escaping, and the quote is cut at a word where possible,
        ending with ``note`` (which says it was shortened).
        """
        rendered = self(template, **values)
        excess = self.measure(rendered.text) - self.limit
        if excess <= 0:
            return rendered
        value = str(values[field])
        # Escaping can more than double a character (Bale's ``\*``, Telegram counts ``&lt;``
        # as one), so cut by what is over and measure again until it fits.
        keep = len(value)
        while True:
            keep = max(0, keep - max(excess, 1) - utf16_len(note))
            cut = _cut(value, keep)
            rendered = self(template, **{**values, field: cut + note})
            excess = self.measure(rendered.text) - self.limit
            if excess <= 0 or keep == 0:
                return rendered
            keep = len(cut) + utf16_len(note)

    def _literal(self, text: str) -> str:
        if self.platform is Platform.TELEGRAM:
            parts = _BOLD_TAG.split(text)
            return "".join(
                p if _BOLD_TAG.fullmatch(p) else html.escape(p, quote=False) for p in parts
            )
        return escape_bale(_BOLD_TAG.sub("", text))

    def _value(self, value: str) -> str:
        if self.platform is Platform.TELEGRAM:
            return html.escape(value, quote=False)
        return escape_bale(value)

    def text(self, template: str, /, **values: Any) -> str:
        """Return ``template`` filled with ``values``, every part escaped for the platform."""
        out: list[str] = []
        for literal, field, spec, conversion in _FORMATTER.parse(template):
            if literal:
                out.append(self._literal(literal))
            if field is None:
                continue
            value = _FORMATTER.get_field(field, (), values)[0]
            value = _FORMATTER.convert_field(value, conversion)
            out.append(self._value(_FORMATTER.format_field(value, spec or "")))
        return "".join(out)

    def __call__(self, template: str, /, **values: Any) -> Rendered:
        """Return the message arguments (text and parse mode) for ``template``."""
        return Rendered(self.text(template, **values), self.parse_mode)

    def plain(self, template: str, /, **values: Any) -> str:
        """Return ``template`` filled for a place with no formatting (buttons, toasts)."""
        return _BOLD_TAG.sub("", template.format(**values))
