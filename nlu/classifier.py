"""The intent classifier: character, word and skeleton n-grams into a calibrated linear model.

Short, noisy messages are where this design holds up: character n-grams inside word boundaries
(``char_wb``) match a word however its half-spaces were typed or misspelt, word n-grams add the
phrases, character n-grams of the consonant skeleton (``nlu.features.skeleton``) let Finglish
share features with Persian script, and a linear model over sparse TF-IDF features trains in
seconds. A LinearSVC gives the best margins on such data but no probabilities, so it is wrapped
in scikit-learn's ``CalibratedClassifierCV`` (Platt scaling on cross-validated predictions); a
multinomial logistic regression is the alternative when settings ask for it.

Training is scikit-learn's. Answering is not: scikit-learn validates its inputs on every call,
which costs milliseconds per single message, more than the arithmetic itself, and importing it
takes seconds and tens of megabytes. So after training, the fitted vectorizers and linear models
are exported to plain arrays (vocabulary, idf, weights, intercepts, sigmoid parameters) and a few
lines of numpy reproduce scikit-learn's ``predict_proba`` exactly (a test compares the two on
every training and test line).

Beside the intent model, an optional in-domain / out-of-domain gate (``gate_classifier``): one
binary logistic regression on the same features, trained on every in-domain line (small talk
included) against every out-of-scope line. The intent model spreads "out of scope" over twenty
classes; the gate learns the one question "is this about Tamin at all?" from all the data at
once. It costs one more dot product on the features already computed (one column more), and
its probability is combined with the intent confidence in :func:`nlu.model.decide`. The exported arrays are also what is persisted: no pickle, so
loading a model cannot run code, and a running worker never imports scikit-learn.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from nlu.features import canonical_text, skeleton
from nlu.settings import NluSettings

logger = logging.getLogger(__name__)

WORD_TOKEN_PATTERN: Final = r"(?u)[\w*#]+"
_WHITE_SPACES: Final = re.compile(r"\s\s+")
_WORD_TOKEN: Final = re.compile(WORD_TOKEN_PATTERN)

FloatArray = NDArray[np.float64]

OUT_OF_SCOPE: Final = "out_of_scope"


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's ``analyzer="char_wb"``: n-grams of each word padded with spaces."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + n])
            while offset + n < length:
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return grams


def word_ngrams(text: str, high: int) -> list[str]:
    """scikit-learn's ``analyzer="word"`` with our token pattern and n-grams 1…``high``."""
    tokens = _WORD_TOKEN.findall(text)
    grams = list(tokens)
    for n in range(2, min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def block_specs(settings: NluSettings) -> list[dict[str, Any]]:
    """The feature blocks the settings ask for: name, analyzer, n-gram range, source text."""
    blocks: list[dict[str, Any]] = [
        {
            "name": "char",
            "analyzer": "char_wb",
            "low": settings.char_ngram_min,
            "high": settings.char_ngram_max,
            "source": "canonical",
        },
        {
            "name": "word",
            "analyzer": "word",
            "low": 1,
            "high": settings.word_ngram_max,
            "source": "canonical",
        },
    ]
    if settings.skeleton_ngram_max:
        blocks.append(
            {
                "name": "skeleton",
                "analyzer": "char_wb",
                "low": min(2, settings.skeleton_ngram_max),
                "high": settings.skeleton_ngram_max,
                "source": "skeleton",
            }
        )
    return blocks


def block_source(source: str, canonical: str) -> str:
    """The text a feature block reads: the canonical text or its consonant skeleton."""
    return skeleton(canonical) if source == "skeleton" else canonical


class SklearnFeatures:
    """scikit-learn's TF-IDF vectorizers, one per feature block, side by side."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.specs = specs
        # Texts arrive canonical (see nlu.features), hence no lower-casing here.
        self.vectorizers = [
            TfidfVectorizer(
                analyzer=spec["analyzer"],
                ngram_range=(spec["low"], spec["high"]),
                lowercase=False,
                sublinear_tf=True,
                **({"token_pattern": WORD_TOKEN_PATTERN} if spec["analyzer"] == "word" else {}),
            )
            for spec in specs
        ]

    def _sources(self, canonical: Sequence[str], spec: dict[str, Any]) -> list[str]:
        return [block_source(spec["source"], text) for text in canonical]

    def fit_transform(self, canonical: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack(
            [
                v.fit_transform(self._sources(canonical, spec))
                for spec, v in zip(self.specs, self.vectorizers, strict=True)
            ],
            format="csr",
        )

    def transform(self, canonical: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack(
            [
                v.transform(self._sources(canonical, spec))
                for spec, v in zip(self.specs, self.vectorizers, strict=True)
            ],
            format="csr",
        )


def fit_sklearn(
    texts: Sequence[str],
    intents: Sequence[str],
    settings: NluSettings,
    about_tamin: Sequence[bool] | None = None,
) -> tuple[SklearnFeatures, Any, Any]:
    """Fit the scikit-learn vectorizers, the calibrated linear model and the gate (or None).

    ``about_tamin``: the gate's labels, when they differ from "intent is not out_of_scope"
    (see :func:`fit_gate`)."""
    # Imported here so that a process that only loads and parses never imports them.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    if len(set(intents)) < 3:
        raise ValueError("at least three intents are needed to train")
    canonical = [canonical_text(t) for t in texts]
    features = SklearnFeatures(block_specs(settings))
    x = features.fit_transform(canonical)
    y = np.asarray(intents)
    weight: dict[str | int, float] | None = None
    if settings.class_weight_power:
        names, counts = np.unique(y, return_counts=True)
        weight = {}
        for index, (name, count) in enumerate(zip(names, counts, strict=True)):
            value = float((len(y) / (len(names) * count)) ** settings.class_weight_power)
            # The calibration's cross-validation fits on label-encoded classes (their sorted
            # index), the final fit on the names: the weight is given under both.
            weight[str(name)] = weight[index] = value
    model: Any
    if settings.classifier == "svm":
        smallest = int(min(np.unique(y, return_counts=True)[1]))
        folds = StratifiedKFold(
            n_splits=max(2, min(settings.calibration_folds, smallest)),
            shuffle=True,
            random_state=settings.random_state,
        )
        model = CalibratedClassifierCV(
            LinearSVC(C=settings.regularization_c, class_weight=weight),
            method="sigmoid",
            cv=folds,
            ensemble=settings.calibration_ensemble,
        )
    else:
        model = LogisticRegression(C=settings.regularization_c, class_weight=weight, max_iter=3000)
    model.fit(x, y)
    if about_tamin is None:
        about_tamin = [intent != OUT_OF_SCOPE for intent in intents]
    return features, model, fit_gate(x, np.asarray(about_tamin, dtype=int), settings)


def fit_gate(x: Any, in_domain: NDArray[Any], settings: NluSettings) -> Any:
    """The about-Tamin (1) / not (0) logistic regression, or None when not asked for.

    The positives are the in-domain lines and, when the settings say so, the out-of-scope
    lines that ask about Tamin's rules (``gate_tamin_files``): those are Tamin's business, left
    to the knowledge base, and their boundary with the personal intents is the intent model's
    to draw; the gate only tells Tamin from the rest of the world.
    """
    if settings.gate_classifier == "none":
        return None
    from sklearn.linear_model import LogisticRegression

    if in_domain.min() == in_domain.max():
        raise ValueError("the gate needs both in-domain and out-of-scope examples")
    # "balanced" weighs the two sides equally whatever their counts (in-domain lines are about
    # 1.5 times the out-of-scope ones); the threshold is tuned on top of it anyway.
    gate = LogisticRegression(
        C=settings.gate_regularization_c,
        class_weight="balanced" if settings.gate_balanced else None,
        max_iter=3000,
    )
    gate.fit(x, in_domain)
    return gate


class FeatureBlock:
    """One exported block of features: its n-gram analyzer, vocabulary and idf."""

    def __init__(self, spec: dict[str, Any], vocabulary: list[str], idf: FloatArray) -> None:
        self.name = str(spec["name"])
        self.analyzer = str(spec["analyzer"])
        if self.analyzer not in ("char_wb", "word"):
            raise ValueError(f"unknown analyzer {self.analyzer!r}")
        self.low = int(spec["low"])
        self.high = int(spec["high"])
        self.source = str(spec["source"])
        if self.source not in ("canonical", "skeleton"):
            raise ValueError(f"unknown feature source {self.source!r}")
        if len(vocabulary) != len(idf):
            raise ValueError(f"block {self.name}: vocabulary and idf differ in length")
        self.vocabulary = vocabulary
        self.idf = idf
        self.offset = 0
        self.index: dict[str, int] = {}

    def place(self, offset: int) -> int:
        """Put the block's columns from ``offset`` on; return the offset after it."""
        self.offset = offset
        self.index = {term: offset + i for i, term in enumerate(self.vocabulary)}
        return offset + len(self.vocabulary)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "analyzer": self.analyzer,
            "low": self.low,
            "high": self.high,
            "source": self.source,
            "vocabulary": self.vocabulary,
        }

    def grams(self, text: str) -> list[str]:
        if self.analyzer == "char_wb":
            return char_wb_ngrams(text, self.low, self.high)
        return word_ngrams(text, self.high)


class IntentClassifier:
    """Calibrated probabilities for every intent, from exported linear-model arrays."""

    def __init__(
        self,
        *,
        labels: list[str],
        kind: str,
        blocks: list[FeatureBlock],
        weights: NDArray[np.float32],
        intercepts: FloatArray,
        sigmoid_a: FloatArray | None = None,
        sigmoid_b: FloatArray | None = None,
        gate_weights: NDArray[np.float32] | None = None,
        gate_intercept: float = 0.0,
    ) -> None:
        if kind not in ("calibrated_svm", "logreg"):
            raise ValueError(f"unknown classifier kind {kind!r}")
        self.labels = labels
        self.kind = kind
        self.blocks = blocks
        offset = 0
        for block in blocks:
            offset = block.place(offset)
        # (features, models × classes): one row gathered per feature present in a message.
        self.weights = weights
        self.intercepts = intercepts  # (models, classes)
        self.sigmoid_a = sigmoid_a  # (models, classes), calibrated_svm only
        self.sigmoid_b = sigmoid_b
        n_classes = len(labels)
        if weights.shape != (offset, intercepts.size):
            raise ValueError("weights do not match the vocabularies")
        if intercepts.shape[1] != n_classes:
            raise ValueError("intercepts do not match the labels")
        # The gate's logistic-regression weights over the same feature columns (None: no gate).
        if gate_weights is not None and gate_weights.shape != (offset,):
            raise ValueError("gate weights do not match the vocabularies")
        self.gate_weights = gate_weights
        self.gate_intercept = float(gate_intercept)

    # --- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        intents: Sequence[str],
        settings: NluSettings,
        about_tamin: Sequence[bool] | None = None,
    ) -> IntentClassifier:
        """Fit scikit-learn's vectorizers and calibrated linear model, then export them."""
        features, model, gate = fit_sklearn(texts, intents, settings, about_tamin)
        exported = cls.from_sklearn(features, model, gate)
        logger.info(
            "trained %s on %s examples: %s intents, %s features",
            settings.classifier,
            len(texts),
            len(exported.labels),
            exported.weights.shape[0],
        )
        return exported

    @classmethod
    def from_sklearn(
        cls, features: SklearnFeatures, model: Any, gate: Any = None
    ) -> IntentClassifier:
        """Export fitted scikit-learn objects to the arrays this class computes with."""
        gate_args: dict[str, Any] = {}
        if gate is not None:
            gate_args = {
                "gate_weights": np.ascontiguousarray(gate.coef_[0], dtype=np.float32),
                "gate_intercept": float(gate.intercept_[0]),
            }

        def vocabulary(vectorizer: Any) -> list[str]:
            terms = [""] * len(vectorizer.vocabulary_)
            for term, index in vectorizer.vocabulary_.items():
                terms[index] = term
            return terms

        blocks = [
            FeatureBlock(spec, vocabulary(v), np.asarray(v.idf_, dtype=np.float64))
            for spec, v in zip(features.specs, features.vectorizers, strict=True)
        ]
        labels = [str(c) for c in model.classes_]
        if hasattr(model, "calibrated_classifiers_"):
            coefs, intercepts, a_params, b_params = [], [], [], []
            for calibrated in model.calibrated_classifiers_:
                estimator = calibrated.estimator
                if [str(c) for c in estimator.classes_] != labels:
                    raise ValueError("a calibration fold lacks a class; add examples")
                coefs.append(estimator.coef_)
                intercepts.append(estimator.intercept_)
                a_params.append([c.a_ for c in calibrated.calibrators])
                b_params.append([c.b_ for c in calibrated.calibrators])
            weights = np.concatenate(coefs, axis=0).T
            return cls(
                labels=labels,
                kind="calibrated_svm",
                blocks=blocks,
                weights=np.ascontiguousarray(weights, dtype=np.float32),
                intercepts=np.asarray(intercepts, dtype=np.float64),
                sigmoid_a=np.asarray(a_params, dtype=np.float64),
                sigmoid_b=np.asarray(b_params, dtype=np.float64),
                **gate_args,
            )
        return cls(
            labels=labels,
            kind="logreg",
            blocks=blocks,
            weights=np.ascontiguousarray(model.coef_.T, dtype=np.float32),
            intercepts=np.asarray([model.intercept_], dtype=np.float64),
            **gate_args,
        )

    # --- answering ------------------------------------------------------------------------

    @staticmethod
    def _tfidf(grams: list[str], block: FeatureBlock) -> tuple[list[int], list[float]]:
        """Sublinear TF × IDF, L2-normalised, as TfidfVectorizer computes it."""
        counts: dict[int, int] = {}
        index = block.index
        for gram in grams:
            k = index.get(gram)
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        if not counts:
            return [], []
        keys = list(counts)
        idf, offset = block.idf, block.offset
        values = [(1.0 + math.log(counts[k])) * float(idf[k - offset]) for k in keys]
        norm = math.sqrt(sum(v * v for v in values))
        return keys, [v / norm for v in values]

    def _features(self, text: str) -> tuple[list[int], list[float]]:
        """The message's non-zero TF-IDF columns and values, every block side by side."""
        canonical = canonical_text(text)
        keys: list[int] = []
        vals: list[float] = []
        for block in self.blocks:
            source = (
                canonical if block.source == "canonical" else block_source(block.source, canonical)
            )
            k, v = self._tfidf(block.grams(source), block)
            keys += k
            vals += v
        return keys, vals

    def _decision(self, keys: list[int], vals: list[float]) -> FloatArray:
        flat = self.intercepts.reshape(-1).copy()
        if keys:
            flat += np.asarray(vals, dtype=np.float64) @ self.weights[keys].astype(np.float64)
        decision: FloatArray = flat.reshape(self.intercepts.shape)
        return decision

    def _gate(self, keys: list[int], vals: list[float]) -> float:
        """P(in-domain) from the gate's logistic regression (1.0 without a gate)."""
        if self.gate_weights is None:
            return 1.0
        z = self.gate_intercept
        if keys:
            z += float(np.asarray(vals, dtype=np.float64) @ self.gate_weights[keys])
        # Numerically safe logistic function: exp of a non-positive number only.
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    @property
    def has_gate(self) -> bool:
        return self.gate_weights is not None

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Return one row of intent probabilities (in ``labels`` order) per text."""
        return self.predict(texts)[0]

    def predict(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        """Intent probabilities (one row per text) and the gate's P(in-domain) per text."""
        if not texts:
            return np.zeros((0, len(self.labels))), np.zeros(0)
        features = [self._features(t) for t in texts]
        gate = np.asarray([self._gate(k, v) for k, v in features], dtype=np.float64)
        decisions = np.stack([self._decision(k, v) for k, v in features])
        return self._proba(decisions), gate

    def _proba(self, decisions: FloatArray) -> FloatArray:
        if self.kind == "logreg":
            z = decisions[:, 0, :]
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            softmax: FloatArray = e / e.sum(axis=1, keepdims=True)
            return softmax
        assert self.sigmoid_a is not None and self.sigmoid_b is not None
        # Platt scaling per class and fold, normalised per fold, averaged over the folds:
        # scikit-learn's _CalibratedClassifier.predict_proba and CalibratedClassifierCV's mean.
        proba = 1.0 / (1.0 + np.exp(self.sigmoid_a * decisions + self.sigmoid_b))
        total = proba.sum(axis=2, keepdims=True)
        n_classes = len(self.labels)
        proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / n_classes), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        mean: FloatArray = proba.mean(axis=1)
        return mean

    # --- persistence ----------------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Split into numeric arrays (for ``.npz``) and JSON-able description."""
        arrays: dict[str, NDArray[Any]] = {
            "weights": self.weights,
            "intercepts": self.intercepts,
        }
        for block in self.blocks:
            arrays[f"idf_{block.name}"] = block.idf
        if self.sigmoid_a is not None and self.sigmoid_b is not None:
            arrays["sigmoid_a"] = self.sigmoid_a
            arrays["sigmoid_b"] = self.sigmoid_b
        if self.gate_weights is not None:
            arrays["gate_weights"] = self.gate_weights
            arrays["gate_intercept"] = np.asarray([self.gate_intercept], dtype=np.float64)
        spec = {"kind": self.kind, "blocks": [block.spec() for block in self.blocks]}
        return arrays, spec

    @classmethod
    def from_arrays(
        cls, labels: list[str], arrays: dict[str, NDArray[Any]], spec: dict[str, Any]
    ) -> IntentClassifier:
        blocks = [
            FeatureBlock(
                block, [str(t) for t in block["vocabulary"]], arrays[f"idf_{block['name']}"]
            )
            for block in spec["blocks"]
        ]
        gate_intercept = arrays.get("gate_intercept")
        return cls(
            labels=labels,
            kind=str(spec["kind"]),
            blocks=blocks,
            weights=arrays["weights"],
            intercepts=arrays["intercepts"],
            sigmoid_a=arrays.get("sigmoid_a"),
            sigmoid_b=arrays.get("sigmoid_b"),
            gate_weights=arrays.get("gate_weights"),
            gate_intercept=float(gate_intercept[0]) if gate_intercept is not None else 0.0,
        )
