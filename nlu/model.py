"""The NLU component: train, persist, load and parse, in Rasa's manner.

One ``NluModel`` holds the intent classifier and the entity extractor. It is persisted as a
folder: ``weights.npz`` (idf vectors, linear weights, calibration parameters, the in-domain /
out-of-scope gate's weights), ``features.json``
(the n-gram vocabularies), ``labels.json`` (the intents in the classifier's column order),
``entities.json`` (the compiled relation vocabulary) and ``metadata.json`` (library versions,
settings, a hash of the training data, when and on how many examples it was trained). Nothing
is pickled, so loading a model folder cannot execute code. :func:`load_or_train` loads that folder at start-up, or retrains — a matter of
seconds — when it is missing, was written by other library versions, or no longer matches the
data files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import random
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

import numpy as np

# OUT_OF_SCOPE is defined beside the gate that learns it and re-exported here, its old home.
from nlu.classifier import OUT_OF_SCOPE as OUT_OF_SCOPE
from nlu.classifier import IntentClassifier
from nlu.entities import Entity, EntityExtractor
from nlu.features import FEATURE_VERSION, tail_text
from nlu.settings import NluSettings
from nlu.training_data import TrainingData, data_fingerprint, load_training_data

logger = logging.getLogger(__name__)

# 3: the in-domain / out-of-scope gate's arrays beside the intent model's.
FORMAT_VERSION: Final = 3
_WEIGHTS_FILE: Final = "weights.npz"
_FEATURES_FILE: Final = "features.json"
_ENTITIES_FILE: Final = "entities.json"
_METADATA_FILE: Final = "metadata.json"
_LABELS_FILE: Final = "labels.json"


class ModelNotUsable(Exception):
    """The persisted model is missing, damaged or made for other data or library versions."""


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One intent and its confidence."""

    name: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a message means: the intent, its confidence, entities and the ranking.

    ``fallback`` is true when the classifier's best guess was not confident enough, or the gate
    found the message unlike anything about Tamin, and the intent was therefore set to
    out_of_scope; ``ambiguous`` when the two best intents were too close to choose between (the
    bot may ask "did you mean …?" with ``ranking[:2]``).
    """

    text: str
    intent: str
    confidence: float
    entities: tuple[Entity, ...]
    ranking: tuple[IntentScore, ...]
    ambiguous: bool
    fallback: bool

    def values(self, entity: str) -> list[str]:
        """Return the values of every extracted ``entity``, in the order they appear."""
        return [e.value for e in self.entities if e.entity == entity]

    def first(self, entity: str) -> str | None:
        """Return the first value of ``entity``, or ``None``."""
        found = self.values(entity)
        return found[0] if found else None

    def to_rasa_dict(self) -> dict[str, Any]:
        """Return the JSON of Rasa's ``/model/parse`` answer, plus ``ambiguous``/``fallback``."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "entities": [e.to_dict() for e in self.entities],
            "intent_ranking": [s.to_dict() for s in self.ranking],
            "ambiguous": self.ambiguous,
            "fallback": self.fallback,
        }


def _installed(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "absent"


def library_versions() -> dict[str, str]:
    """The versions a model was trained with; another set means retraining, since a newer
    scikit-learn may fit differently. Read from package metadata, without importing them."""
    return {
        "python": platform.python_version(),
        "scikit-learn": _installed("scikit-learn"),
        "numpy": np.__version__,
        "scipy": _installed("scipy"),
        "nlu_format": str(FORMAT_VERSION),
        "nlu_features": str(FEATURE_VERSION),
    }


def decide(
    proba: np.ndarray[Any, Any],
    oos_column: int,
    threshold: float,
    margin: float,
    gate: np.ndarray[Any, Any] | None = None,
    gate_threshold: float = 0.0,
    order: np.ndarray[Any, Any] | None = None,
    out_of_scope_bias: float = 0.0,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The decision on rows of intent probabilities, shared by parsing and ``nlu tune``.

    Returns, per row, the best column, its probability, whether the row falls back to
    out_of_scope (a best intent other than out_of_scope below ``threshold``, or a gate
    probability of being in-domain below ``gate_threshold``) and whether it is ambiguous (not a
    fallback, and the best two closer than ``margin``).

    ``out_of_scope_bias``: the out_of_scope column is ranked with this much taken off its
    probability, so an intent behind it by less than the bias is the best column (and must
    still pass ``threshold`` and the gate, on its own probability); the margin is measured on
    the same ranking, so such an intent is ambiguous unless it leads the discounted
    out_of_scope by ``margin``. ``order``: the rows' columns already sorted by falling
    discounted probability (``nlu tune`` replays thousands of thresholds on one table).
    """
    ranked = proba
    if out_of_scope_bias:
        ranked = proba.copy()
        ranked[:, oos_column] -= out_of_scope_bias
    if order is None:
        order = np.argsort(-ranked, axis=1, kind="stable")
    rows = np.arange(proba.shape[0])
    top = order[:, 0]
    top_p = proba[rows, top]
    top_r = ranked[rows, top]
    second_r = ranked[rows, order[:, 1]] if proba.shape[1] > 1 else np.zeros_like(top_r)
    in_domain = top != oos_column
    fallback = in_domain & (top_p < threshold)
    if gate is not None:
        # Either model may reject: the intent model when unsure which intent, the gate when the
        # message is unlike anything Tamin (both thresholds chosen together by `nlu tune`).
        fallback |= in_domain & (gate < gate_threshold)
    ambiguous = in_domain & ~fallback & (top_r - second_r < margin)
    return top, top_p, fallback, ambiguous


def blend(
    whole: np.ndarray[Any, Any], tail: np.ndarray[Any, Any], weight: float
) -> np.ndarray[Any, Any]:
    """The whole message's scores mixed with its tail's (rows without a tail: tail == whole)."""
    if weight <= 0:
        return whole
    # (1 − w)·whole + w·tail, written so that a row without a tail stays exactly as it was.
    mixed: np.ndarray[Any, Any] = whole + weight * (tail - whole)
    return mixed


def score_with_tails(
    classifier: IntentClassifier, texts: Sequence[str], settings: NluSettings
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Intent probabilities and gate probabilities of each text and of its tail.

    The tail (``nlu.features.tail_text``) is scored in the same batch; a text without one has
    its own scores as its tail's, so :func:`blend` leaves it as it is. Cost: one more feature
    extraction and dot product, for long messages only (parse p99 in the README).
    """
    tails = [tail_text(t, settings.tail_min_words, settings.tail_min_message_words) for t in texts]
    with_tail = [i for i, tail in enumerate(tails) if tail]
    proba, gate = classifier.predict(list(texts) + [tails[i] or "" for i in with_tail])
    n = len(texts)
    tail_proba, tail_gate = proba[:n].copy(), gate[:n].copy()
    if with_tail:
        tail_proba[with_tail], tail_gate[with_tail] = proba[n:], gate[n:]
    return proba[:n], gate[:n], tail_proba, tail_gate


SMALL_TALK: Final = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "help"})


def greeting_augmentation(
    data: TrainingData, settings: NluSettings
) -> tuple[list[str], list[str]]:
    """Extra examples: a share of the domain examples again, opened with a greeting.

    People open requests with «سلام، …»; without this, the greeting pulls a good part of the
    confidence towards ``greet`` and a clear request can fall below the out-of-scope threshold.
    The greetings are the data's own short ``greet`` examples; the choice is seeded, so training
    stays reproducible.
    """
    share = settings.greeting_augmentation
    greetings = [e.text for e in data.examples if e.intent == "greet" and len(e.text) <= 20]
    if share <= 0 or not greetings:
        return [], []
    rng = random.Random(settings.random_state)
    texts: list[str] = []
    intents: list[str] = []
    for example in data.examples:
        if example.intent in SMALL_TALK or example.intent == OUT_OF_SCOPE:
            continue
        if rng.random() < share:
            texts.append(f"{rng.choice(greetings)}{rng.choice(['، ', ' ', ' - '])}{example.text}")
            intents.append(example.intent)
    return texts, intents


class NluModel:
    """Intent classifier plus entity extractor, with Rasa-like train/persist/load/parse."""

    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        settings: NluSettings,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.classifier = classifier
        self.extractor = extractor
        self.settings = settings
        self.metadata: dict[str, Any] = dict(metadata or {})
        if OUT_OF_SCOPE not in classifier.labels:
            raise ValueError(f"the training data must contain the {OUT_OF_SCOPE!r} intent")
        self._oos_column = classifier.labels.index(OUT_OF_SCOPE)

    @property
    def labels(self) -> list[str]:
        return list(self.classifier.labels)

    @classmethod
    def train(
        cls, data: TrainingData, settings: NluSettings | None = None, *, data_hash: str = ""
    ) -> NluModel:
        """Train on already-loaded data."""
        settings = settings or NluSettings()
        texts = [e.text for e in data.examples]
        intents = [e.intent for e in data.examples]
        extra_texts, extra_intents = greeting_augmentation(data, settings)
        tamin_files = set(settings.gate_tamin_files)
        about_tamin = [
            e.intent != OUT_OF_SCOPE or e.source.split(":")[0] in tamin_files
            for e in data.examples
        ] + [True] * len(extra_texts)
        classifier = IntentClassifier.train(
            texts + extra_texts, intents + extra_intents, settings, about_tamin
        )
        extractor = EntityExtractor.from_lookups(data.lookups, data.synonyms)
        metadata = {
            "versions": library_versions(),
            "data_hash": data_hash,
            "settings": settings.fingerprint_fields(),
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "examples": len(texts),
        }
        return cls(classifier, extractor, settings, metadata)

    def persist(self, model_dir: Path) -> None:
        """Write the model to ``model_dir``, replacing what was there only once complete."""
        model_dir = Path(model_dir)
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        # Several processes may start at once: each writes a private folder and swaps it in,
        # so a reader never sees half a model.
        tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}-", dir=model_dir.parent))
        try:
            arrays, spec = self.classifier.to_arrays()
            np.savez(tmp / _WEIGHTS_FILE, allow_pickle=False, **arrays)
            (tmp / _FEATURES_FILE).write_text(
                json.dumps(spec, ensure_ascii=False), encoding="utf-8"
            )
            (tmp / _ENTITIES_FILE).write_text(
                json.dumps(self.extractor.to_json(), ensure_ascii=False, indent=2),
                encoding="utf-8",
            )
            (tmp / _LABELS_FILE).write_text(
                json.dumps(self.classifier.labels, ensure_ascii=False), encoding="utf-8"
            )
            (tmp / _METADATA_FILE).write_text(
                json.dumps(self.metadata, ensure_ascii=False, indent=2), encoding="utf-8"
            )
            old = model_dir.with_name(f".{model_dir.name}-old-{os.getpid()}")
            if model_dir.exists():
                model_dir.rename(old)
            tmp.rename(model_dir)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        logger.info("NLU model written to %s", model_dir)

    @classmethod
    def load(
        cls,
        model_dir: Path,
        settings: NluSettings | None = None,
        *,
        expected_hash: str | None = None,
    ) -> NluModel:
        """Load a persisted model; raise :class:`ModelNotUsable` if it cannot be trusted."""
        model_dir = Path(model_dir)
        settings = settings or NluSettings()
        try:
            metadata = json.loads((model_dir / _METADATA_FILE).read_text(encoding="utf-8"))
            labels = json.loads((model_dir / _LABELS_FILE).read_text(encoding="utf-8"))
            entities = json.loads((model_dir / _ENTITIES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelNotUsable(f"no readable model in {model_dir}: {exc}") from exc
        if metadata.get("versions") != library_versions():
            raise ModelNotUsable("the model was written by other library versions")
        if metadata.get("settings") != settings.fingerprint_fields():
            raise ModelNotUsable("the model was trained with other settings")
        if expected_hash is not None and metadata.get("data_hash") != expected_hash:
            raise ModelNotUsable("the training data changed since the model was trained")
        try:
            spec = json.loads((model_dir / _FEATURES_FILE).read_text(encoding="utf-8"))
            with np.load(model_dir / _WEIGHTS_FILE, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            classifier = IntentClassifier.from_arrays([str(x) for x in labels], arrays, spec)
            extractor = EntityExtractor.from_json(entities)
        except (OSError, KeyError, ValueError, TypeError, EOFError) as exc:
            raise ModelNotUsable(f"damaged model in {model_dir}: {exc}") from exc
        return cls(classifier, extractor, settings, metadata)

    def parse(self, text: str) -> ParseResult:
        """Return the intent and entities of one message."""
        return self.parse_batch([text])[0]

    def parse_batch(self, texts: Sequence[str]) -> list[ParseResult]:
        """Parse many messages at once (one vectorisation for all: faster per message)."""
        results: list[ParseResult | None] = [None] * len(texts)
        todo = [i for i, t in enumerate(texts) if t.strip()]
        for i, t in enumerate(texts):
            if not t.strip():
                results[i] = ParseResult(
                    t, OUT_OF_SCOPE, 1.0, (), (IntentScore(OUT_OF_SCOPE, 1.0),), False, True
                )
        if todo:
            proba, gate = self.scores([texts[i] for i in todo])
            for row, in_domain, i in zip(proba, gate, todo, strict=True):
                results[i] = self._result(texts[i], row, float(in_domain))
        return [r for r in results if r is not None]

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Intent and gate probabilities per text: a long message's blended with its tail's."""
        weight = self.settings.tail_weight
        if weight <= 0:
            return self.classifier.predict(texts)
        proba, gate, tail_proba, tail_gate = score_with_tails(
            self.classifier, texts, self.settings
        )
        return blend(proba, tail_proba, weight), blend(gate, tail_gate, weight)

    def _result(self, text: str, row: np.ndarray[Any, Any], in_domain: float) -> ParseResult:
        settings = self.settings
        labels = self.classifier.labels
        order = np.argsort(-row, kind="stable")
        ranking = tuple(
            IntentScore(labels[k], round(float(row[k]), 4))
            for k in order[: settings.ranking_length]
        )
        top, top_p, fallbacks, ambiguities = decide(
            row[np.newaxis, :],
            self._oos_column,
            settings.out_of_scope_threshold,
            settings.ambiguity_margin,
            np.asarray([in_domain]),
            settings.gate_threshold,
            out_of_scope_bias=settings.out_of_scope_bias,
        )
        fallback, ambiguous = bool(fallbacks[0]), bool(ambiguities[0])
        if fallback:
            # Like Rasa's FallbackClassifier: the fallback intent carries the threshold as its
            # confidence, and the original ranking stays for "did you mean …?".
            intent, confidence = OUT_OF_SCOPE, settings.out_of_scope_threshold
        else:
            intent, confidence = labels[int(top[0])], round(float(top_p[0]), 4)
        entities = tuple(self.extractor.extract(text))
        return ParseResult(text, intent, confidence, entities, ranking, ambiguous, fallback)


def load_or_train(
    settings_section: Mapping[str, Any] | None = None,
    model_dir: Path | str | None = None,
    *,
    force_train: bool = False,
) -> NluModel:
    """Load the persisted model, or train and persist one when it is missing or stale.

    ``settings_section`` is the ``nlu:`` section of ``config.yml`` (``settings.config.nlu``);
    ``model_dir`` overrides its ``model_dir`` (tests pass a temporary folder).
    """
    settings = NluSettings.from_section(settings_section)
    target = Path(model_dir) if model_dir is not None else settings.model_path
    data_paths = settings.data_paths
    try:
        expected: str | None = data_fingerprint(data_paths, settings.fingerprint_fields())
    except FileNotFoundError as exc:
        # A deployment may ship the trained model without the data: use it as it is.
        logger.warning("NLU training data missing (%s); the persisted model is used as is", exc)
        expected = None
    if not force_train or expected is None:
        try:
            model = NluModel.load(target, settings, expected_hash=expected)
        except ModelNotUsable as exc:
            if expected is None:
                raise
            logger.info("NLU model at %s not used (%s); training", target, exc)
        else:
            logger.info("NLU model loaded from %s", target)
            return model
    assert expected is not None
    data = load_training_data(data_paths)
    model = NluModel.train(data, settings, data_hash=expected)
    try:
        model.persist(target)
    except OSError as exc:
        # A read-only disk must not stop the assistant: the model works from memory.
        logger.warning("could not write the NLU model to %s: %s", target, exc)
    return model
