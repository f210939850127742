"""Retrieval: which approved entries a question asks about, and how sure that is.

Each question variant of each served entry (and its title) is indexed three ways
(:class:`~.text.Views`): whole words, character n-grams within words (typos, half-spaces; Arabic
letters and digits are already folded) and n-grams of the consonant skeleton (Finglish against
Persian script). Each view is scored with BM25 as a share of what could be reached (see
:meth:`~.bm25.Bm25.scores`), and the views' weighted mean is a variant's score. An entry scores
its best variant's score, blended (``entry_weight``) with the score of all its variants taken
as one document, which counts evidence spread over several variants. Lines known not to be the
knowledge base's are indexed the same way, and the closest one's score lowers the confidence.
The index is built from a list of entries, so that entries edited elsewhere (the console, the
database) are indexed the same way.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from services.knowledge.bm25 import Bm25, FloatArray, IntArray, WeightArray
from services.knowledge.config import KnowledgeConfig
from services.knowledge.entries import Entry
from services.knowledge.text import View, Views, canonical

logger = logging.getLogger(__name__)

# BM25's b for an entry taken as one document: Lucene's usual value, so that an entry does not
# win by having more variants than another.
ENTRY_LENGTH_NORMALISATION = 0.75


@dataclass(frozen=True, slots=True)
class Match:
    """An entry found for a question, its score, and its variant (or title) that scored best."""

    entry: Entry
    score: float
    variant: str


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The outcome of one search.

    ``confidence``: the best entry's score less ``rejection_weight`` times ``rejection``, the
    score of the closest line known not to be the knowledge base's (0 when none is close).
    ``confident``: the confidence reached the threshold, so the best entry may be answered.
    ``ambiguous``: confident, but the second entry is closer than the margin; offer both.
    """

    question: str
    matches: tuple[Match, ...]
    rejection: float
    confidence: float
    confident: bool
    ambiguous: bool

    @property
    def best(self) -> Match | None:
        """The highest-scoring entry, if any entry shares anything with the question."""
        return self.matches[0] if self.matches else None

    @property
    def offered(self) -> tuple[Match, ...]:
        """What to show: the best entry when it is clear, both when ambiguous, none when unsure."""
        if not self.confident:
            return ()
        return self.matches[:2] if self.ambiguous else self.matches[:1]


class _Scorer:
    """Texts indexed by the three views, each scored with BM25 and combined by their weights."""

    def __init__(
        self, views: Sequence[Views], config: KnowledgeConfig, b: float, share: float
    ) -> None:
        total = (config.word_weight + config.char_weight + config.skeleton_weight) or 1.0
        weighted: tuple[tuple[float, View], ...] = (
            (config.word_weight, "words"),
            (config.char_weight, "chars"),
            (config.skeleton_weight, "skeleton"),
        )
        self.size = len(views)
        self._channels = [
            (
                weight / total,
                view,
                Bm25(
                    [v.tokens(view) for v in views],
                    k1=config.bm25_k1,
                    b=b,
                    unseen=config.unseen_weight,
                    document_share=share,
                ),
            )
            for weight, view in weighted
            if weight > 0
        ]

    def scores(self, views: Views) -> FloatArray:
        # The three views' postings summed in one pass, each scaled by its weight.
        docs: list[IntArray] = []
        weights: list[WeightArray] = []
        for weight, view, channel in self._channels:
            found = channel.postings(views.tokens(view))
            if found is not None:
                docs.append(found[0])
                weights.append(found[1] * np.float32(weight))
        if not docs:
            return np.zeros(self.size, dtype=np.float64)
        summed = np.bincount(np.concatenate(docs), np.concatenate(weights), minlength=self.size)
        return np.asarray(summed, dtype=np.float64)


class KnowledgeIndex:
    """The served entries' variants (and the rejection lines), indexed for :meth:`search`."""

    def __init__(
        self, entries: Iterable[Entry], config: KnowledgeConfig, rejections: Sequence[str] = ()
    ) -> None:
        if config.rejection_weight > 0 and not rejections:
            # The threshold was tuned with them: without, it would answer far too much.
            raise ValueError("rejection_weight > 0 needs rejection lines to index")
        self._config = config
        self._entries = tuple(e for e in entries if e.served and e.questions)
        titled = config.index_titles
        self._per_entry = [
            (*e.questions, e.title) if titled else e.questions for e in self._entries
        ]
        self._variants = [q for questions in self._per_entry for q in questions]
        counts = np.array([len(q) for q in self._per_entry], dtype=np.int64)
        self._starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else counts
        views = [Views(v) for v in self._variants]
        share = config.document_share
        self._variant_scorer = _Scorer(views, config, config.bm25_b, share)
        # Each entry as one document too (all its variants together): evidence spread over
        # several variants counts there, where the best variant alone sees only one.
        self._entry_scorer: _Scorer | None = None
        if config.entry_weight > 0:
            bounds = [*(int(x) for x in self._starts), len(views)]
            joined = [_joined(views[start:end]) for start, end in itertools.pairwise(bounds)]
            self._entry_scorer = _Scorer(joined, config, ENTRY_LENGTH_NORMALISATION, 0.0)
        # A line that is also one of the served variants is the entry's: as a rejection line it
        # would cancel that variant's own match.
        own = {canonical(v) for v in self._variants}
        kept = [line for line in rejections if canonical(line) not in own]
        self.overlapping_rejections = tuple(line for line in rejections if canonical(line) in own)
        if self.overlapping_rejections:
            logger.warning(
                "%d rejection line(s) are also question variants; not used to reject: %s",
                len(self.overlapping_rejections),
                " | ".join(self.overlapping_rejections),
            )
        self._rejection_scorer: _Scorer | None = None
        if config.rejection_weight > 0:
            rejected = [Views(line) for line in kept]
            self._rejection_scorer = _Scorer(rejected, config, config.bm25_b, share)

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The entries that are searched (the approved ones given to the index)."""
        return self._entries

    @property
    def n_variants(self) -> int:
        """How many question variants are indexed (titles included)."""
        return len(self._variants)

    def variant_scores(self, question: str) -> FloatArray:
        """Every indexed variant's combined score for ``question``, in index order."""
        return self._variant_scorer.scores(Views(question))

    def search(self, question: str, top_k: int | None = None) -> Retrieval:
        """Rank the served entries for ``question`` (see the module's docstring for the score)."""
        views = Views(question)
        rejection = 0.0
        if self._rejection_scorer is not None and self._rejection_scorer.size:
            rejection = float(self._rejection_scorer.scores(views).max())
        if not self._entries:
            return Retrieval(question, (), rejection, 0.0, confident=False, ambiguous=False)
        scores = self._variant_scorer.scores(views)
        per_entry = np.maximum.reduceat(scores, self._starts)
        if self._entry_scorer is not None:
            weight = self._config.entry_weight
            per_entry = (per_entry + weight * self._entry_scorer.scores(views)) / (1.0 + weight)
        k = min(top_k or self._config.top_k, len(self._entries))
        top = np.argpartition(-per_entry, k - 1)[:k]
        top = top[np.argsort(-per_entry[top], kind="stable")]
        matches = []
        for index in top:
            score = float(per_entry[index])
            if score <= 0.0:
                break
            start = int(self._starts[index])
            count = len(self._per_entry[index])
            best_variant = start + int(np.argmax(scores[start : start + count]))
            matches.append(Match(self._entries[index], score, self._variants[best_variant]))
        best = matches[0].score if matches else 0.0
        confidence = best - self._config.rejection_weight * rejection
        confident = bool(matches) and confidence >= self._config.threshold
        ambiguous = (
            confident
            and len(matches) > 1
            and matches[0].score - matches[1].score < self._config.ambiguity_margin
        )
        return Retrieval(
            question,
            tuple(matches),
            rejection,
            confidence,
            confident=confident,
            ambiguous=ambiguous,
        )


def _joined(views: Sequence[Views]) -> Views:
    joined = Views("")
    for v in views:
        joined.words.extend(v.words)
        joined.chars.extend(v.chars)
        joined.skeleton.extend(v.skeleton)
    return joined


def build_index(
    entries: Iterable[Entry], config: KnowledgeConfig, rejections: Sequence[str] = ()
) -> KnowledgeIndex:
    """Index the approved entries among ``entries`` (drafts and retired ones are left out).

    ``rejections``: lines known not to be the knowledge base's (see ``rejections.py``); needed
    when ``config.rejection_weight`` is above 0.
    """
    return KnowledgeIndex(entries, config, rejections)
