"""The text the intent classifier sees: normalised, then folded to what carries meaning.

On top of ``persian.normalize`` (Arabic letters, digit scripts, bidi marks, lower-case Latin),
this folds the variation that people produce for one and the same word, so the n-gram features
need not learn each spelling separately: half-spaces typed as a space, as a ZWNJ or as nothing
(«می‌خوام», «می خوام», «میخوام»), «آ» typed as «ا», stretched letters («سلاااام»),
punctuation, and numbers whose digits mean nothing to the intent (IDs, amounts), which become
placeholders by length. «1420» stays as it is: it names the contact centre.
"""

from __future__ import annotations

import re
from typing import Final

from persian import normalize

FEATURE_VERSION: Final = 1

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
