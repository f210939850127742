"""The text the intent classifier sees: normalised, then folded to what carries meaning.

On top of ``persian.normalize`` (Arabic letters, digit scripts, bidi marks, lower-case Latin),
this folds the variation that people produce for one and the same word, so the n-gram features
need not learn each spelling separately: half-spaces typed as a space, as a ZWNJ or as nothing
(«می‌خوام», «می خوام», «میخوام»), «آ» typed as «ا», stretched letters («سلاااام»),
punctuation, and numbers whose digits mean nothing to the intent (IDs, amounts), which become
placeholders by length. «1420» stays as it is: it names the contact centre.

:func:`skeleton` goes one step further, for Finglish: it writes both scripts as the same
consonant skeleton (``persian.folding.skeleton_word``, shared with the knowledge base's
retrieval), so «bimam faale» and «بیمه‌ام فعاله» both become ``bmm fl``, and a Finglish message
shares features with the far more numerous Persian-script training lines.

:func:`tail_text` finds where a long message asks: the last sentence or clause (enough of them
from the end to make a few words), scored beside the whole message (see ``nlu.model``).
"""

from __future__ import annotations

import re
from typing import Final

from persian import normalize
from persian.folding import join_word_parts, skeleton_word, squeeze_stretched

FEATURE_VERSION: Final = 2

_PUNCT: Final = re.compile(r"[^\w\s*#+\u200c]")
_DIGITS: Final = re.compile(r"\d+")
# Where a sentence or clause ends: Latin and Persian full stops, question and exclamation marks,
# semicolons, commas, ellipses and line breaks (a digit's thousands separator is no clause end).
_CLAUSE_END: Final = re.compile(r"[.!?؟؛;،\n…]+|,(?!\d)")


def _fold_number(match: re.Match[str]) -> str:
    digits = match.group(0)
    if digits == "1420":
        return digits
    return " 00000 " if len(digits) >= 5 else " 00 "


def canonical_text(text: str) -> str:
    """Return the form of ``text`` that the classifier's n-grams are computed on."""
    folded = normalize(text).replace("آ", "ا")
    folded = _PUNCT.sub(" ", folded)
    folded = squeeze_stretched(folded)
    folded = _DIGITS.sub(_fold_number, folded)
    return join_word_parts(folded)


def skeleton(canonical: str) -> str:
    """The consonant skeleton of an already canonical text, the same for Finglish and Persian."""
    words = (skeleton_word(w) for w in canonical.split())
    return " ".join(w for w in words if w)


def tail_text(text: str, min_words: int, min_message_words: int) -> str | None:
    """The end of a long message: its last clauses, as few as make ``min_words`` words.

    People tell a story first and ask last («سلام وقت بخیر. کارفرمام … . فیش حقوقم رو
    می‌خوام»), or open with a greeting, a vocative or a blessing («سلام علیکم پسرم، …»): the
    whole message's n-grams weigh the story as much as the request. ``None`` when the message
    has fewer than ``min_message_words`` words, or no clause boundary before such a tail.
    """
    if len(text.split()) < min_message_words:
        return None
    clauses = [c.strip() for c in _CLAUSE_END.split(text) if c.strip()]
    words = 0
    for start in range(len(clauses) - 1, 0, -1):
        words += len(clauses[start].split())
        if words >= min_words:
            return " ".join(clauses[start:])
    return None
