"""The three views of a question that retrieval compares: words, their n-grams, their skeleton.

On top of ``persian.normalize`` (Arabic letters, digit scripts, bidi marks, lower-case Latin)
this folds what people write differently for one word: «آ» typed as «ا», stretched letters,
punctuation, and half-spaces typed as a ZWNJ, a space or nothing («می‌خوام», «می خوام»,
«میخوام»; «بیمه‌ام», «بیمه ام»). The consonant skeleton writes Finglish and Persian script
alike («ekhtiari» and «اختیاری» both become ``Xtr``): Persian script leaves short vowels out and
Finglish spells them as the writer likes, so vowels and the letters that double as vowels are
dropped and letters that sound the same are merged.

The NLU has the same folding for its own features (``nlu/features.py``); ``services/`` may not
import ``nlu/``, and the two may drift apart on purpose, so this is a copy tuned for retrieval.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from persian import normalize

View = Literal["words", "chars", "skeleton"]

_ZWNJ: Final = "\u200c"
_PUNCT: Final = re.compile(r"[^\w\s\u200c]|_")
_STRETCH: Final = re.compile(r"([^\W\d_])\1{2,}")
# Digits glued to letters («۲۰روز», «1420ام») are two words.
_DIGIT_EDGE: Final = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
# Verb prefixes written apart («می خوام») and suffixes written apart («بیمه ام», «سوابق ها»).
_PREFIX: Final = re.compile(r"(?<!\S)(ن?می|ب?نمی) (?=\w)")
_SUFFIX: Final = re.compile(
    r"(?<=\w) (ها|های|هایی|هام|هامو|ام|ات|اش|ای|ایم|اید|اند|تر|ترین)(?!\S)"
)
_SPACES: Final = re.compile(r"\s+")


def canonical(text: str) -> str:
    """Return ``text`` normalised and folded, words separated by single spaces."""
    folded = normalize(text).replace("آ", "ا")
    folded = _PUNCT.sub(" ", folded)
    folded = _STRETCH.sub(r"\1", folded)
    folded = _DIGIT_EDGE.sub(" ", folded)
    folded = folded.replace(_ZWNJ, "")
    folded = _SPACES.sub(" ", folded).strip()
    folded = _PREFIX.sub(r"\1", folded)
    return _SUFFIX.sub(r"\1", folded)


_PERSIAN_SKELETON: Final = str.maketrans(
    {
        "ب": "b",
        "پ": "p",
        "ت": "t",
        "ط": "t",
        "ث": "s",
        "س": "s",
        "ص": "s",
        "ج": "j",
        "چ": "C",
        "ح": "h",
        "ه": "h",
        "خ": "X",
        "د": "d",
        "ذ": "z",
        "ز": "z",
        "ض": "z",
        "ظ": "z",
        "ر": "r",
        "ژ": "Z",
        "ش": "S",
        "غ": "Q",
        "ق": "Q",
        "ف": "f",
        "ک": "k",
        "گ": "g",
        "ل": "l",
        "م": "m",
        "ن": "n",
        **dict.fromkeys("اآویعءئأؤإة", ""),
    }
)
_LATIN_DIGRAPHS: Final = (("kh", "X"), ("sh", "S"), ("ch", "C"), ("gh", "Q"), ("zh", "Z"))
_LATIN_SKELETON: Final = str.maketrans(
    {"q": "Q", "x": "X", "c": "k", **dict.fromkeys("aeiouvwy'", "")}
)
_LATIN_WORD: Final = re.compile(r"[a-z']+")
_DOUBLED: Final = re.compile(r"(.)\1+")
# Latin words ending in a vowel and h («bimeh», «khaneh»): the h is the written vowel.
_FINAL_VOWEL_H: Final = re.compile(r"(?<=[aeiou])h$")
# The silent ه before a suffix written together («بیمه‌ام» → «بیمهام»): the vowel again.
_SILENT_H: Final = re.compile(r"ه(?=ا(?:م|ت|ش|ی|یم|ید|ند)$)")


def skeleton_word(word: str) -> str:
    """The consonant skeleton of one canonical word, the same for Finglish and Persian."""
    if _LATIN_WORD.fullmatch(word):
        word = _FINAL_VOWEL_H.sub("", word)
        for digraph, symbol in _LATIN_DIGRAPHS:
            word = word.replace(digraph, symbol)
        word = word.translate(_LATIN_SKELETON)
    elif not word.isdigit():
        # A word-final ه is almost always the silent vowel («بیمه», «سابقه»).
        if len(word) > 2 and word.endswith("ه"):
            word = word[:-1]
        word = _SILENT_H.sub("", word)
        word = word.translate(_PERSIAN_SKELETON)
    return _DOUBLED.sub(r"\1", word)


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
