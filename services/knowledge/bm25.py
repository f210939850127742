"""Okapi BM25 over a sparse term × document matrix, with scores a threshold can be put on.

Written here on numpy rather than taken from a BM25 library (bm25s, rank-bm25) because what the
knowledge base needs is around the scoring, not in it: a score measured against what the
question could reach at best and what the variant holds (so that one confidence threshold serves
short and long questions alike), words the index has never seen counted against the question
rather than dropped (they are what tells «یارانه» or «بیمه بدنه» from a Tamin rule), and every
document's score at once, for the best variant per entry. With those added, a library would
contribute only the weighting below, one sparse row sum, and a dependency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
WeightArray = npt.NDArray[np.float32]


class Bm25:
    """BM25 weights of every (term, document) pair, stored term by term for fast look-up."""

    __slots__ = (
        "_docs",
        "_document_share",
        "_idf",
        "_indptr",
        "_n_docs",
        "_unseen_idf",
        "_vocabulary",
        "_weights",
    )

    def __init__(
        self,
        documents: Sequence[Sequence[str]],
        *,
        k1: float,
        b: float,
        unseen: float = 1.0,
        document_share: float = 0.0,
    ) -> None:
        self._n_docs = n_docs = len(documents)
        vocabulary: dict[str, int] = {}
        term_ids = np.fromiter(
            (vocabulary.setdefault(t, len(vocabulary)) for doc in documents for t in doc),
            dtype=np.int64,
        )
        self._vocabulary = vocabulary
        lengths = np.array([len(doc) for doc in documents], dtype=np.int64)
        doc_ids = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        # One key per (term, document) pair, sorted term-major: the postings with their tf.
        pairs, tfs = np.unique(term_ids * max(n_docs, 1) + doc_ids, return_counts=True)
        terms = pairs // max(n_docs, 1)
        docs = pairs % max(n_docs, 1)
        df = np.bincount(terms, minlength=len(vocabulary)).astype(np.float64)
        # Lucene's idf: never negative, so a very common word adds a little instead of taking.
        self._idf: FloatArray = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self._unseen_idf = unseen * math.log1p((n_docs + 0.5) / 0.5)
        average = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        norm = k1 * (1.0 - b + b * lengths[docs] / average)
        tf = tfs.astype(np.float64)
        weights = self._idf[terms] * tf * (k1 + 1.0) / (tf + norm)
        # What a query holding every term of the document would score on it (T), raised to the
        # document's share and folded into the weights once here: a search then only sums.
        totals = np.asarray(np.bincount(docs, weights=weights, minlength=n_docs))
        self._document_share = document_share
        factor = np.maximum(totals, 1e-9) ** -document_share
        # Stored narrow: half the memory, and a search reads half the bytes; scores are summed
        # in double precision all the same (bincount).
        self._weights: WeightArray = (weights * factor[docs]).astype(np.float32)
        self._docs: npt.NDArray[np.intp] = docs.astype(np.intp)
        self._indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        self._indptr[1:] = np.cumsum(df.astype(np.int64))

    @property
    def n_docs(self) -> int:
        """How many documents were indexed."""
        return self._n_docs

    def postings(self, tokens: Sequence[str]) -> tuple[IntArray, WeightArray] | None:
        """The documents holding ``tokens`` and their weights, scaled as :meth:`scores` says.

        ``None`` when no token is indexed. Summed per document (``np.bincount``), they are the
        scores; a caller combining several indexes sums all their postings at once.
        """
        reachable = 0.0
        slices: list[slice] = []
        for token in set(tokens):
            term = self._vocabulary.get(token)
            if term is None:
                reachable += self._unseen_idf
                continue
            reachable += float(self._idf[term])
            slices.append(slice(self._indptr[term], self._indptr[term + 1]))
        if not slices:
            return None
        docs = np.concatenate([self._docs[s] for s in slices])
        weights = np.concatenate([self._weights[s] for s in slices])
        # (S/R)^(1-s) · (S/T)^s = S · T^-s / R^(1-s), where S, the matched weight, is part of T
        # (each distinct token is matched once), so the document's share never passes 1.
        scale = np.float32(reachable ** -(1.0 - self._document_share))
        return docs, weights * scale

    def scores(self, tokens: Sequence[str]) -> FloatArray:
        """Every document's BM25 score for ``tokens``, as a share of what could be reached.

        Two shares: of the question, the most any document could score for it (R, the sum of
        the distinct tokens' idf, unseen tokens at the highest idf: a variant that is the
        question itself scores about 1); of the document, what the document would score for a
        question holding all its terms (T). The result is their weighted geometric mean, the
        document's with weight ``document_share``: 0 asks only how much of the question is
        matched, more also how much of the variant is (so a one-word question does not fully
        match a long variant holding that word).
        """
        found = self.postings(tokens)
        if found is None:
            return np.zeros(self._n_docs, dtype=np.float64)
        docs, weights = found
        return np.asarray(np.bincount(docs, weights=weights, minlength=self._n_docs))
