"""Folding the ways one word is typed, and the consonant skeleton Finglish and Persian share.

Shared by the NLU's features (``nlu/features.py``) and the knowledge base's retrieval
(``services/knowledge/text.py``), which each add their own punctuation and digit rules around it:

- :func:`squeeze_stretched`: stretched letters («سلاااام») written once;
- :func:`join_word_parts`: half-spaces typed as a space, a ZWNJ or nothing («می‌خوام»،
  «می خوام»، «میخوام»; «بیمه‌ام»، «بیمه ام») become one form, the word written together;
- :func:`skeleton_word`: a word's consonant skeleton, the same for Finglish and Persian script
  («bimam faale» and «بیمه‌ام فعاله» both become ``bmm fl``). Persian script leaves short vowels
  out and Finglish spells them however the writer likes, so vowels (and the letters that double
  as vowels: ا و ی ع, Latin v w y) are dropped, letters that sound the same are merged (ث س ص →
  s, ذ ز ض ظ → z, ت ط → t, ح ه → h, غ ق gh q → Q), digraphs become one symbol (kh خ, sh ش, ch چ,
  zh ژ) and doubled letters count once.
"""

from __future__ import annotations

import re
from typing import Final

ZWNJ: Final = "\u200c"
_STRETCH: Final = re.compile(r"([^\W\d_])\1{2,}")
# Verb prefixes written apart («می خوام») and suffixes written apart («بیمه ام», «سوابق ها»).
_PREFIX: Final = re.compile(r"(?<!\S)(ن?می|ب?نمی) (?=\w)")
_SUFFIX: Final = re.compile(
    r"(?<=\w) (ها|های|هایی|هام|هامو|ام|ات|اش|ای|ایم|اید|اند|تر|ترین)(?!\S)"
)
_SPACES: Final = re.compile(r"\s+")


def squeeze_stretched(text: str) -> str:
    """A letter typed three times or more («سلاااام») written once."""
    return _STRETCH.sub(r"\1", text)


def join_word_parts(text: str) -> str:
    """Half-spaces dropped, spaces collapsed, and verb prefixes and suffixes written apart
    joined to their word, so that every way of typing a word's parts gives one form."""
    folded = _SPACES.sub(" ", text.replace(ZWNJ, "")).strip()
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
    {"q": "Q", "x": "X", "c": "k", **dict.fromkeys("aeiouvwy'`", "")}
)
_LATIN_WORD: Final = re.compile(r"[a-z']+")
_DOUBLED: Final = re.compile(r"(.)\1+")
# Latin words ending in a vowel and h («bimeh», «khaneh»): the h is the written vowel.
_FINAL_VOWEL_H: Final = re.compile(r"(?<=[aeiou])h$")
# The silent ه before a suffix written together («بیمه‌ام» → «بیمهام»): the vowel again.
_SILENT_H: Final = re.compile(r"ه(?=ا(?:م|ت|ش|ی|یم|ید|ند)$)")


def skeleton_word(word: str) -> str:
    """The consonant skeleton of one folded, lower-case word (digits stay as they are)."""
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
