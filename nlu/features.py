"""The text the intent classifier sees: normalised, then folded to what carries meaning.

On top of ``persian.normalize`` (Arabic letters, digit scripts, bidi marks, lower-case Latin),
this folds the variation that people produce for one and the same word, so the n-gram features
need not learn each spelling separately: half-spaces typed as a space, as a ZWNJ or as nothing
(«می‌خوام», «می خوام», «میخوام»), «آ» typed as «ا», stretched letters («سلاااام»),
punctuation, and numbers whose digits mean nothing to the intent (IDs, amounts), which become
placeholders by length. «1420» stays as it is: it names the contact centre.

:func:`skeleton` goes one step further, for Finglish: it writes both scripts as the same
consonant skeleton, so «bimam faale» and «بیمه‌ام فعاله» both become ``bmm fl``. Persian script
leaves short vowels out and Finglish spells them however the writer likes, so vowels (and the
letters that double as vowels: ا و ی ع, Latin v w y) are dropped, letters that sound the same
are merged (ث س ص → s, ذ ز ض ظ → z, ت ط → t, ح ه → h, غ ق gh q → Q), digraphs become one symbol
(kh خ, sh ش, ch چ, zh ژ) and doubled letters count once. A Finglish message then shares
features with the far more numerous Persian-script training lines.
"""

from __future__ import annotations

import re
from typing import Final

from persian import normalize

FEATURE_VERSION: Final = 2

_ZWNJ: Final = "\u200c"
_PUNCT: Final = re.compile(r"[^\w\s*#+\u200c]")
_STRETCH: Final = re.compile(r"([^\W\d_])\1{2,}")
_DIGITS: Final = re.compile(r"\d+")
# Verb prefixes written apart («می خوام») and suffixes written apart («بیمه ام», «سوابق ها»).
_PREFIX: Final = re.compile(r"(?<!\S)(ن?می|ب?نمی) (?=\w)")
_SUFFIX: Final = re.compile(
    r"(?<=\w) (ها|های|هایی|هام|هامو|ام|ات|اش|ای|ایم|اید|اند|تر|ترین)(?!\S)"
)
_SPACES: Final = re.compile(r"\s+")


def _fold_number(match: re.Match[str]) -> str:
    digits = match.group(0)
    if digits == "1420":
        return digits
    return " 00000 " if len(digits) >= 5 else " 00 "


def canonical_text(text: str) -> str:
    """Return the form of ``text`` that the classifier's n-grams are computed on."""
    folded = normalize(text).replace("آ", "ا")
    folded = _PUNCT.sub(" ", folded)
    folded = _STRETCH.sub(r"\1", folded)
    folded = _DIGITS.sub(_fold_number, folded)
    folded = folded.replace(_ZWNJ, "")
    folded = _SPACES.sub(" ", folded).strip()
    folded = _PREFIX.sub(r"\1", folded)
    folded = _SUFFIX.sub(r"\1", folded)
    return folded


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


def _skeleton_word(word: str) -> str:
    if _LATIN_WORD.fullmatch(word):
        word = _FINAL_VOWEL_H.sub("", word)
        for digraph, symbol in _LATIN_DIGRAPHS:
            word = word.replace(digraph, symbol)
        word = word.translate(_LATIN_SKELETON)
    else:
        # A word-final ه is almost always the silent vowel («بیمه», «سابقه»).
        if len(word) > 2 and word.endswith("ه"):
            word = word[:-1]
        word = _SILENT_H.sub("", word)
        word = word.translate(_PERSIAN_SKELETON)
    return _DOUBLED.sub(r"\1", word)


def skeleton(canonical: str) -> str:
    """The consonant skeleton of an already canonical text, the same for Finglish and Persian."""
    words = (_skeleton_word(w) for w in canonical.split())
    return " ".join(w for w in words if w)
