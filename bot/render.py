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


class Renderer:
    """Renders catalogue templates for one platform."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.parse_mode: str | None = ParseMode.HTML if platform is Platform.TELEGRAM else None

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
