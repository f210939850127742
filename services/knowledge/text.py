"""The three views of a question that retrieval compares: words, their n-grams, their skeleton.

On top of ``persian.normalize`` (Arabic letters, digit scripts, bidi marks, lower-case Latin)
this folds what people write differently for one word: «آ» typed as «ا», stretched letters,
punctuation, and half-spaces typed as a ZWNJ, a space or nothing («می‌خوام», «می خوام»,
«میخوام»; «بیمه‌ام», «بیمه ام»). The consonant skeleton writes Finglish and Persian script
alike («ekhtiari» and «اختیاری» both become ``Xtr``): Persian script leaves short vowels out and
Finglish spells them as the writer likes, so vowels and the letters that double as vowels are
dropped and letters that sound the same are merged.

The folding of word parts and the skeleton are ``persian.folding``'s, shared with the NLU's
features (``nlu/features.py``); punctuation and digits are folded here in retrieval's own way
(digits kept, and cut from letters they are glued to).
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from persian import normalize
from persian.folding import join_word_parts, squeeze_stretched
from persian.folding import skeleton_word as skeleton_word

View = Literal["words", "chars", "skeleton"]

_PUNCT: Final = re.compile(r"[^\w\s\u200c]|_")
# Digits glued to letters («۲۰روز», «1420ام») are two words.
_DIGIT_EDGE: Final = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")


def canonical(text: str) -> str:
    """Return ``text`` normalised and folded, words separated by single spaces."""
    folded = normalize(text).replace("آ", "ا")
    folded = _PUNCT.sub(" ", folded)
    folded = squeeze_stretched(folded)
    folded = _DIGIT_EDGE.sub(" ", folded)
    return join_word_parts(folded)


def char_ngrams(word: str, low: int, high: int) -> list[str]:
    """The character n-grams of ``word`` with its edges marked, ``low`` ≤ n ≤ ``high``.

    A word shorter than ``low`` (with its edges) is one gram of its own, so that short words
    («۲۰», «bm») still count.
    """
    marked = f"<{word}>"
    if len(marked) <= low:
        return [marked]
    grams: list[str] = []
    for n in range(low, min(high, len(marked)) + 1):
        grams.extend(marked[i : i + n] for i in range(len(marked) - n + 1))
    return grams


@functools.lru_cache(maxsize=16384)
def _word_grams(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Cached: the same few thousand words make up nearly every question and variant. Bounded
    # (about 2 KB a word, so 30 MB at most) since users' own words come and go.
    skeleton = skeleton_word(word)
    chars = tuple(char_ngrams(word, 3, 4))
    return chars, tuple(char_ngrams(skeleton, 2, 3)) if skeleton else ()


class Views:
    """A question cut into the tokens of each view; what both indexing and searching use."""

    __slots__ = ("chars", "skeleton", "words")

    def __init__(self, text: str) -> None:
        words = canonical(text).split()
        self.words: list[str] = words
        self.chars: list[str] = []
        self.skeleton: list[str] = []
        for word in words:
            chars, skeleton = _word_grams(word)
            self.chars.extend(chars)
            self.skeleton.extend(skeleton)

    def tokens(self, view: View) -> list[str]:
        """The tokens of one view by name: ``words``, ``chars`` or ``skeleton``."""
        if view == "words":
            return self.words
        if view == "chars":
            return self.chars
        if view == "skeleton":
            return self.skeleton
        raise ValueError(f"no such view: {view!r}")
