"""Normalisation of what people type, before anything else looks at it.

Users mix Arabic and Persian letters (ي/ی, ك/ک), three digit scripts, tatweel, diacritics,
invisible bidi marks and half-spaces (ZWNJ) typed as nothing, a space or several ZWNJs. The
normaliser folds all of that into one canonical form. ``normalize_with_map`` also returns, for
every character of the result, the index of the character of the input it came from, so that
entities found on normalised text can carry offsets into the original message.
"""

import re
import unicodedata
from typing import Final

from persian.digits import ARABIC_DIGITS, PERSIAN_DIGITS

ZWNJ: Final = "\u200c"

# Arabic letters that Persian keyboards and Arabic-locale phones produce, mapped to Persian.
_LETTERS: Final = {
    "\u064a": "ی",  # ARABIC LETTER YEH
    "\u0649": "ی",  # ARABIC LETTER ALEF MAKSURA
    "\u06d2": "ی",  # ARABIC LETTER YEH BARREE
    "\u0643": "ک",  # ARABIC LETTER KAF
    "\u0629": "ه",  # ARABIC LETTER TEH MARBUTA
    "\u06c0": "ه",  # HEH WITH YEH ABOVE (ۀ) is written ه‌ی or ه in modern Persian text
    "\u0623": "ا",  # ALEF WITH HAMZA ABOVE
    "\u0625": "ا",  # ALEF WITH HAMZA BELOW
    "\u0671": "ا",  # ALEF WASLA
    "\u0624": "و",  # WAW WITH HAMZA ABOVE
    "\u066b": ".",  # ARABIC DECIMAL SEPARATOR
    "\u066c": ",",  # ARABIC THOUSANDS SEPARATOR
}
_DIGITS: Final = {c: str(i % 10) for i, c in enumerate(PERSIAN_DIGITS + ARABIC_DIGITS)}
# Dropped entirely: tatweel, Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef)
# and the invisible directional marks that copy-paste from other apps leaves behind.
_DROP: Final = frozenset(
    ["\u0640"]
    + [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670"]
    + ["\u200e", "\u200f", "\u061c", "\ufeff", "\u200b", "\u2060"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
# ZWJ and the non-joiner's look-alikes are treated as a ZWNJ.
_JOINERS: Final = frozenset({ZWNJ, "\u200d", "\u00ad"})
_SPACES: Final = frozenset(
    " \t\n\r\f\v\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)


def normalize_with_map(
    text: str, *, zwnj_as_space: bool = False, lowercase: bool = True
) -> tuple[str, list[int]]:
    """Normalise ``text`` and map every output character back to its input index.

    - Arabic letter forms become Persian (ي ى → ی, ك → ک, ة → ه, أ إ → ا …);
    - Persian and Arabic-Indic digits become ASCII;
    - tatweel, diacritics and bidi/zero-width marks are dropped;
    - runs of white space become one space, runs of ZWNJ one ZWNJ, and a ZWNJ next to a space,
      or at either end, is dropped; with ``zwnj_as_space`` every ZWNJ becomes a space instead;
    - Latin letters are lower-cased (Finglish, «OK»), unless ``lowercase`` is false;
    - leading and trailing white space is removed.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _DROP:
            continue
        if ch in _DIGITS:
            ch = _DIGITS[ch]
        elif ch in _LETTERS:
            ch = _LETTERS[ch]
        elif ch in _JOINERS:
            ch = " " if zwnj_as_space else ZWNJ
        elif ch in _SPACES:
            ch = " "
        elif lowercase and "A" <= ch <= "Z":
            ch = ch.lower()
        if ch == " ":
            if not out or out[-1] == " ":
                continue
            if out[-1] == ZWNJ:  # "ZWNJ + space" → a single space
                out[-1] = " "
                index[-1] = i
                continue
        elif ch == ZWNJ and (not out or out[-1] in (" ", ZWNJ)):
            continue
        out.append(ch)
        index.append(i)
    while out and out[-1] in (" ", ZWNJ):
        out.pop()
        index.pop()
    return "".join(out), index


def normalize(text: str, *, zwnj_as_space: bool = False, lowercase: bool = True) -> str:
    """Return the canonical form of ``text`` (see :func:`normalize_with_map`)."""
    return normalize_with_map(text, zwnj_as_space=zwnj_as_space, lowercase=lowercase)[0]


# C0 and C1 control characters except tab and newline, and lone surrogates: PostgreSQL refuses
# U+0000 in text and any surrogate in UTF-8, and none of them is anything a person meant to write.
_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Characters that take no room on screen: spaces, format characters (zero-width space, ZWNJ,
# bidi marks, BOM), combining marks and controls.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})


def strip_control(text: str) -> str:
    """Return ``text`` without control characters (tab and newline stay) and lone surrogates."""
    return _CONTROL.sub("", text)


def visible_length(text: str) -> int:
    """Count the characters of ``text`` that show on screen (what a minimum length means)."""
    return sum(
        1
        for char in text
        if not char.isspace() and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
    )
