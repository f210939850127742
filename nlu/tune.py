"""Choosing the out-of-scope threshold and the ambiguity margin by cross-validation.

Only the training data is used: it is split into k folds (stratified by intent; lines that are
the same after canonical folding stay in one fold, so a near-copy cannot score for itself), a
model is trained on k − 1 folds and its probabilities recorded on the held-back one. Every line
then has a probability row from a model that never saw it. The whole is repeated
``tune_repeats`` times with other shuffles and the rows of all repeats are pooled (the figures
are the repeats' mean), so that the choice does not hang on one split of a flat curve. The
decision rule of :func:`nlu.model.decide` is replayed on those rows for every candidate value:

- ``out_of_scope_threshold``: the value with the best in-domain accuracy among those that
  reject at least ``tune_min_oos_rejection`` of the out-of-scope lines and wrongly reject at most
  ``tune_max_false_rejection`` of the in-domain ones, each with ``tune_bound_margin`` to spare;
  when none does, the value with the fewest errors weighed by the bars (see
  :func:`bound_cost`: with bars of 97 %, 2 % and an accuracy of 0.95, a wrongly rejected
  in-domain line counts 1.5 times an out-of-scope line let through and 2.5 times an in-domain
  line answered with the wrong intent), and the report says so;
- ``gate_threshold`` (when the model has an in-domain / out-of-scope gate): chosen together
  with ``out_of_scope_threshold``, on every pair of values, by the same rule;
- ``out_of_scope_bias`` (how much out_of_scope's probability is discounted when it outranks
  every intent, :func:`nlu.model.decide`): chosen together with the two thresholds, on every
  triple of values, by the same rule (the first of the best, so 0 unless it earns something);
- ``ambiguity_margin``: the largest value that makes the bot ask "did you mean …?" for at most
  ``tune_max_ambiguous_correct`` of the answers it had right; the report shows how many wrong
  answers it turns into that question instead.

The test sets (``nlu/data/test/``, ``test/blind/``) are never read here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from nlu.evaluate import example_style
from nlu.features import canonical_text
from nlu.model import OUT_OF_SCOPE, NluModel, blend, decide, score_with_tails
from nlu.settings import NluSettings
from nlu.training_data import Example, TrainingData

# Weights of a long message's tail against the whole message (nlu.model.blend) tried by `tune`.
TAIL_WEIGHTS: Final = (0.0, 0.2, 0.35, 0.5)
THRESHOLDS: Final = tuple(round(x * 0.01, 2) for x in range(0, 96))
GATE_THRESHOLDS: Final = tuple(round(x * 0.01, 2) for x in range(0, 100))
MARGINS: Final = tuple(round(x * 0.01, 2) for x in range(0, 61))
BIASES: Final = tuple(round(x * 0.02, 2) for x in range(0, 21))


@dataclass
class OutOfFold:
    """Every training line with the probabilities of a model that did not see it."""

    examples: list[Example]
    labels: list[str]
    proba: np.ndarray[Any, Any]
    train_seconds: list[float] = field(default_factory=list)
    # The gate's P(in-domain) per line, when the model has a gate.
    gate: np.ndarray[Any, Any] | None = None
    # The same for each line's tail (nlu.features.tail_text; a line without one: its own rows).
    tail_proba: np.ndarray[Any, Any] | None = None
    tail_gate: np.ndarray[Any, Any] | None = None
    # How many cross-validations with other shuffles the rows pool (each line once per repeat).
    repeats: int = 1
    _order: np.ndarray[Any, Any] | None = field(default=None, repr=False)
    _fast: tuple[np.ndarray[Any, Any], ...] | None = field(default=None, repr=False)
    _biased_orders: dict[float, np.ndarray[Any, Any]] = field(default_factory=dict, repr=False)

    def blended(self, tail_weight: float) -> OutOfFold:
        """The rows a model with this ``tail_weight`` answers with (nlu.model.blend)."""
        if tail_weight <= 0 or self.tail_proba is None:
            return self
        gate = None
        if self.gate is not None and self.tail_gate is not None:
            gate = blend(self.gate, self.tail_gate, tail_weight)
        return OutOfFold(
            self.examples,
            self.labels,
            blend(self.proba, self.tail_proba, tail_weight),
            self.train_seconds,
            gate,
            repeats=self.repeats,
        )

    @property
    def gold(self) -> np.ndarray[Any, Any]:
        return np.asarray([e.intent for e in self.examples])

    @property
    def order(self) -> np.ndarray[Any, Any]:
        """Each row's columns by falling probability, sorted once for every replay."""
        if self._order is None:
            self._order = np.argsort(-self.proba, axis=1, kind="stable")
        return self._order

    def order_for(self, bias: float) -> np.ndarray[Any, Any]:
        """:attr:`order` with out_of_scope's probability discounted by ``bias``
        (:func:`nlu.model.decide`)."""
        if not bias:
            return self.order
        if bias not in self._biased_orders:
            ranked = self.proba.copy()
            ranked[:, self.labels.index(OUT_OF_SCOPE)] -= bias
            self._biased_orders[bias] = np.argsort(-ranked, axis=1, kind="stable")
        return self._biased_orders[bias]

    def replay_arrays(self, bias: float = 0.0) -> tuple[np.ndarray[Any, Any], ...]:
        """Per row, once for all the thresholds replayed: the best column's probability,
        whether that column is an intent, whether it is the gold one, whether the gold is
        out_of_scope, and the gate's probability (1 without a gate); the best column as
        :func:`nlu.model.decide` ranks it with out_of_scope discounted by ``bias``."""
        if self._fast is None:
            oos_column = self.labels.index(OUT_OF_SCOPE)
            rows = np.arange(len(self.proba))
            # The best intent: the first column other than out_of_scope in the ranking (the
            # bias moves out_of_scope only, so the intents keep their order).
            order = self.order
            first_intent = np.where(order[:, 0] != oos_column, order[:, 0], order[:, 1])
            gold = np.asarray([self.labels.index(e.intent) for e in self.examples])
            self._fast = (
                self.proba[rows, first_intent],
                self.proba[:, oos_column],
                first_intent == gold,
                gold == oos_column,
                np.asarray(first_intent < oos_column),
            )
        intent_p, oos_p, intent_right, oos, intent_first = self._fast
        # decide's ranking: the intent wins when above the discounted out_of_scope, or equal
        # and in an earlier column (a stable sort).
        discounted = oos_p - bias if bias else oos_p
        in_domain = (intent_p > discounted) | ((intent_p == discounted) & intent_first)
        top_p = np.where(in_domain, intent_p, oos_p)
        gate = self.gate if self.gate is not None else np.ones(len(intent_p))
        return top_p, in_domain, in_domain & intent_right, oos, gate


@dataclass(frozen=True)
class ThresholdFigures:
    threshold: float
    accuracy: float
    in_domain_accuracy: float
    oos_rejection: float
    false_rejection: float
    gate_threshold: float = 0.0
    out_of_scope_bias: float = 0.0


@dataclass(frozen=True)
class MarginFigures:
    margin: float
    correct_asked: float
    wrong_asked: float


@dataclass
class TuneResult:
    """The chosen values, the figures they were chosen on and how they were chosen."""

    threshold: float
    margin: float
    rule: str
    gate_threshold: float
    at_threshold: ThresholdFigures
    at_margin: MarginFigures
    thresholds: list[ThresholdFigures]
    gate_table: list[ThresholdFigures]
    margins: list[MarginFigures]
    macro_f1: float
    style_accuracy: dict[str, tuple[float, int]]
    confusions: list[tuple[str, str, int, str]]
    intent_recall: dict[str, tuple[float, int]]
    # Out-of-scope lines rejected, by the data file they come from (general knowledge, hard
    # negatives, Tamin rules no intent serves, …): (share, lines).
    oos_by_kind: dict[str, tuple[float, int]] = field(default_factory=dict)
    # The discount of out_of_scope's probability chosen with the thresholds, and each value
    # tried at its own best thresholds (the first is 0: the figures without it).
    out_of_scope_bias: float = 0.0
    bias_table: list[ThresholdFigures] = field(default_factory=list)


def cross_validated_proba(
    data: TrainingData,
    settings: NluSettings,
    folds: int | None = None,
    repeats: int | None = None,
) -> OutOfFold:
    """Train ``folds`` models, each without one fold, and collect every line's probabilities;
    ``repeats`` times (default ``tune_repeats``) with other shuffles, the rows of all pooled."""
    runs = [
        _one_cross_validation(data, settings, folds, settings.random_state + r)
        for r in range(repeats or settings.tune_repeats)
    ]
    if len(runs) == 1:
        return runs[0]
    return OutOfFold(
        [e for r in runs for e in r.examples],
        runs[0].labels,
        np.concatenate([r.proba for r in runs]),
        [s for r in runs for s in r.train_seconds],
        _pooled([r.gate for r in runs]),
        _pooled([r.tail_proba for r in runs]),
        _pooled([r.tail_gate for r in runs]),
        repeats=len(runs),
    )


def _pooled(parts: list[np.ndarray[Any, Any] | None]) -> np.ndarray[Any, Any] | None:
    """The repeats' arrays end to end; None when a repeat has none (no gate, no tail)."""
    present = [p for p in parts if p is not None]
    return np.concatenate(present) if len(present) == len(parts) else None


def _one_cross_validation(
    data: TrainingData, settings: NluSettings, folds: int | None, seed: int
) -> OutOfFold:
    from sklearn.model_selection import StratifiedGroupKFold

    examples = list(data.examples)
    intents = [e.intent for e in examples]
    groups = [canonical_text(e.text) for e in examples]
    splitter = StratifiedGroupKFold(
        n_splits=folds or settings.tune_folds, shuffle=True, random_state=seed
    )
    labels = sorted(set(intents))
    proba = np.zeros((len(examples), len(labels)))
    gate = np.ones(len(examples))
    tail_proba = np.zeros((len(examples), len(labels)))
    tail_gate = np.ones(len(examples))
    has_gate = False
    seconds: list[float] = []
    for train_idx, test_idx in splitter.split(examples, intents, groups):
        part = TrainingData(
            examples=[examples[i] for i in train_idx],
            synonyms=data.synonyms,
            lookups=data.lookups,
            regexes=data.regexes,
        )
        started = time.perf_counter()
        model = NluModel.train(part, settings)
        seconds.append(time.perf_counter() - started)
        if model.labels != labels:
            raise ValueError("a fold lacks an intent; every intent needs more examples")
        scored = score_with_tails(model.classifier, [examples[i].text for i in test_idx], settings)
        proba[test_idx], gate[test_idx], tail_proba[test_idx], tail_gate[test_idx] = scored
        has_gate = model.classifier.has_gate
    return OutOfFold(
        examples,
        labels,
        proba,
        seconds,
        gate if has_gate else None,
        tail_proba,
        tail_gate if has_gate else None,
    )


def threshold_figures(
    oof: OutOfFold, threshold: float, gate_threshold: float = 0.0, bias: float = 0.0
) -> ThresholdFigures:
    """:func:`nlu.model.decide`'s answers at these values, counted (without its margin, which
    changes no answer): the same figures as comparing :func:`predictions` with the gold."""
    return threshold_grid(oof, (threshold,), gate_threshold, bias)[0]


def threshold_grid(
    oof: OutOfFold, thresholds: Sequence[float], gate_threshold: float = 0.0, bias: float = 0.0
) -> list[ThresholdFigures]:
    """:func:`threshold_figures` at every threshold of ``thresholds`` at once: a row the
    threshold alone rejects is one whose answered probability is below it, so each figure is
    a count of sorted probabilities (the grid of ``tune`` is 100 times larger with the gate's
    and 21 times with the bias's values)."""
    top_p, in_domain, right_column, oos, gate = oof.replay_arrays(bias)
    n_oos, n_in = int(oos.sum()), int((~oos).sum())
    # Rejected whatever the threshold: out_of_scope ranked first, or the gate's doubt.
    always = ~in_domain | (gate < gate_threshold)
    t = np.asarray(thresholds, dtype=np.float64)

    def below(mask: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Per threshold, the rows of ``mask`` (not rejected otherwise) it rejects."""
        counted: np.ndarray[Any, Any] = np.searchsorted(np.sort(top_p[mask]), t, side="left")
        return counted

    oos_rejected = int((always & oos).sum()) + below(~always & oos)
    in_rejected = int((always & ~oos).sum()) + below(~always & ~oos)
    right_kept = int((~always & ~oos & right_column).sum()) - below(~always & ~oos & right_column)
    figures = []
    for i, threshold in enumerate(thresholds):
        oos_r, in_r, kept = int(oos_rejected[i]), int(in_rejected[i]), int(right_kept[i])
        figures.append(
            ThresholdFigures(
                threshold=threshold,
                accuracy=(oos_r + kept) / len(top_p),
                in_domain_accuracy=kept / n_in if n_in else 1.0,
                oos_rejection=oos_r / n_oos if n_oos else 1.0,
                false_rejection=in_r / n_in if n_in else 0.0,
                gate_threshold=gate_threshold,
                out_of_scope_bias=bias,
            )
        )
    return figures


def meets_bounds(f: ThresholdFigures, settings: NluSettings) -> bool:
    """Both bounds met, each with ``tune_bound_margin`` to spare."""
    spare = settings.tune_bound_margin
    return (
        f.oos_rejection >= settings.tune_min_oos_rejection + spare - 1e-12
        and f.false_rejection <= settings.tune_max_false_rejection - spare + 1e-12
    )


def bound_cost(f: ThresholdFigures, settings: NluSettings) -> float:
    """The errors the bars count, each in units of what its bar allows: the share of
    out-of-scope lines let through over 1 − ``tune_min_oos_rejection``, the share of in-domain
    lines wrongly rejected over ``tune_max_false_rejection``, and the share answered with
    another intent over 1 − ``tune_min_accuracy`` (each allowance 0.1 % at the least). Where
    no value meets the bounds, the smallest sum is the nearest to all of them, no bar
    sacrificed to another: at 97 %, 2 % and 0.95 a wrongly rejected line weighs 1.5 let
    through and 2.5 answered with the wrong intent."""
    missed = (1 - f.oos_rejection) / max(1 - settings.tune_min_oos_rejection, 0.001)
    rejected = f.false_rejection / max(settings.tune_max_false_rejection, 0.001)
    misrouted = max(1 - f.in_domain_accuracy - f.false_rejection, 0.0)
    return missed + rejected + misrouted / max(1 - settings.tune_min_accuracy, 0.001)


def predictions(
    oof: OutOfFold, threshold: float, gate_threshold: float = 0.0, bias: float = 0.0
) -> np.ndarray[Any, Any]:
    top, _, fallback, _ = decide(
        oof.proba,
        oof.labels.index(OUT_OF_SCOPE),
        threshold,
        0.0,
        oof.gate,
        gate_threshold,
        oof.order_for(bias),
        bias,
    )
    predicted = np.asarray(oof.labels, dtype=object)[top]
    predicted[fallback] = OUT_OF_SCOPE
    as_text: np.ndarray[Any, Any] = predicted.astype(str)
    return as_text


def margin_figures(
    oof: OutOfFold,
    threshold: float,
    margin: float,
    gate_threshold: float = 0.0,
    bias: float = 0.0,
) -> MarginFigures:
    top, _, fallback, ambiguous = decide(
        oof.proba,
        oof.labels.index(OUT_OF_SCOPE),
        threshold,
        margin,
        oof.gate,
        gate_threshold,
        oof.order_for(bias),
        bias,
    )
    gold = oof.gold
    predicted = np.asarray(oof.labels)[top]
    answered = (gold != OUT_OF_SCOPE) & (predicted != OUT_OF_SCOPE) & ~fallback
    right = answered & (predicted == gold)
    wrong = answered & (predicted != gold)
    return MarginFigures(
        margin=margin,
        correct_asked=float(ambiguous[right].mean()) if right.any() else 0.0,
        wrong_asked=float(ambiguous[wrong].mean()) if wrong.any() else 0.0,
    )


def _figure_key(f: ThresholdFigures, settings: NluSettings) -> tuple[bool, float, float]:
    """:func:`choose`'s order of candidates (the largest is the best): meeting the bounds, then
    in-domain accuracy among those that do and the weighed errors among those that do not."""
    feasible = meets_bounds(f, settings)
    if feasible:
        return True, f.in_domain_accuracy, f.oos_rejection
    return False, -bound_cost(f, settings), f.in_domain_accuracy


def choose(oof: OutOfFold, settings: NluSettings, biases: Sequence[float] = BIASES) -> TuneResult:
    """Choose the thresholds and the bias, then the margin at them (see the module docstring)."""
    from sklearn.metrics import f1_score

    gates = GATE_THRESHOLDS if oof.gate is not None else (0.0,)
    biases = tuple(biases) or (0.0,)
    grid = [f for b in biases for g in gates for f in threshold_grid(oof, THRESHOLDS, g, b)]
    # Each bias at its own best thresholds (max keeps the first of equals: the lower bias).
    bias_table = [
        max((f for f in grid if f.out_of_scope_bias == b), key=lambda f: _figure_key(f, settings))
        for b in biases
    ]
    feasible = [f for f in grid if meets_bounds(f, settings)]
    bounds = (
        f">= {settings.tune_min_oos_rejection:.0%} rejected and "
        f"<= {settings.tune_max_false_rejection:.0%} wrongly rejected, "
        f"{settings.tune_bound_margin:.1%} to spare"
    )
    if feasible:
        best = max(feasible, key=lambda f: (f.in_domain_accuracy, f.oos_rejection))
        rule = f"best in-domain accuracy with {bounds}"
    else:
        best = min(grid, key=lambda f: (bound_cost(f, settings), -f.in_domain_accuracy))
        rule = (
            f"NO value meets both bounds ({bounds}); the fewest errors weighed by the bounds "
            f"(cost {bound_cost(best, settings):.3f})"
        )
    bias = best.out_of_scope_bias
    # The table shown: every intent threshold at the chosen gate threshold, and every gate
    # threshold at the chosen intent threshold (both at the chosen bias).
    grid = [f for f in grid if f.out_of_scope_bias == bias]
    table = [f for f in grid if f.gate_threshold == best.gate_threshold]
    gate_table = [f for f in grid if f.threshold == best.threshold] if oof.gate is not None else []
    margins = [margin_figures(oof, best.threshold, m, best.gate_threshold, bias) for m in MARGINS]
    allowed = [m for m in margins if m.correct_asked <= settings.tune_max_ambiguous_correct]
    chosen_margin = max(allowed, key=lambda m: m.margin) if allowed else margins[0]

    predicted = predictions(oof, best.threshold, best.gate_threshold, bias)
    gold = oof.gold
    by_style: dict[str, list[bool]] = {}
    for example, p in zip(oof.examples, predicted, strict=True):
        style = example_style(example)
        if style:
            by_style.setdefault(style, []).append(example.intent == p)
    pairs: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    for example, p in zip(oof.examples, predicted, strict=True):
        if example.intent != p:
            pairs[(example.intent, str(p))] += 1
            first.setdefault((example.intent, str(p)), example.text)
    by_kind: dict[str, list[bool]] = {}
    for example, p in zip(oof.examples, predicted, strict=True):
        if example.intent == OUT_OF_SCOPE:
            kind = example.source.split(":")[0] or "?"
            by_kind.setdefault(kind, []).append(p == OUT_OF_SCOPE)
    recall: dict[str, tuple[float, int]] = {}
    for label in oof.labels:
        mask = gold == label
        if mask.any():
            recall[label] = (float(np.mean(predicted[mask] == label)), int(mask.sum()))
    return TuneResult(
        threshold=best.threshold,
        margin=chosen_margin.margin,
        rule=rule,
        gate_threshold=best.gate_threshold,
        gate_table=gate_table,
        at_threshold=best,
        at_margin=chosen_margin,
        thresholds=table,
        margins=margins,
        macro_f1=float(f1_score(gold, predicted, average="macro", zero_division=0)),
        style_accuracy={s: (sum(h) / len(h), len(h)) for s, h in sorted(by_style.items())},
        confusions=[(g, p, n, first[(g, p)]) for (g, p), n in pairs.most_common(12)],
        intent_recall=recall,
        oos_by_kind={k: (sum(h) / len(h), len(h)) for k, h in sorted(by_kind.items())},
        out_of_scope_bias=bias,
        bias_table=bias_table,
    )


def _rule_key(result: TuneResult, settings: NluSettings) -> tuple[bool, float]:
    """How :func:`choose` ranks its candidates, to rank whole models the same way."""
    f = result.at_threshold
    feasible = meets_bounds(f, settings)
    return feasible, f.in_domain_accuracy if feasible else -bound_cost(f, settings)


def choose_tail_weight(
    oof: OutOfFold,
    settings: NluSettings,
    weights: Sequence[float] = TAIL_WEIGHTS,
    biases: Sequence[float] = BIASES,
) -> tuple[float, list[tuple[float, TuneResult]]]:
    """The tail weight whose own thresholds score best by :func:`choose`'s rule, and each
    weight's result (the first weight wins a tie: no tail unless it earns something)."""
    results = [(w, choose(oof.blended(w), settings, biases)) for w in weights]
    best = max(results, key=lambda wr: _rule_key(wr[1], settings))
    return best[0], results


VARIANTS: Final[dict[str, dict[str, Any]]] = {
    "before issue 15": {
        "char_ngram_max": 5,
        "skeleton_ngram_max": 0,
        "regularization_c": 0.5,
        "class_weight_power": 1.0,
        "calibration_ensemble": True,
    },
    "no skeleton features": {"skeleton_ngram_max": 0},
    "one SVM per calibration fold": {"calibration_ensemble": True},
    "skeleton n-grams 2-5": {"skeleton_ngram_max": 5},
    "balanced class weights": {"class_weight_power": 1.0},
    "half-balanced class weights": {"class_weight_power": 0.5},
    "C 0.5": {"regularization_c": 0.5},
    "C 2.0": {"regularization_c": 2.0},
    "char n-grams 2-5": {"char_ngram_max": 5},
    "word n-grams 1-3": {"word_ngram_max": 3},
    "logistic regression C 10": {"classifier": "logreg", "regularization_c": 10.0},
    "no gate": {"gate_classifier": "none"},
    "gate C 1": {"gate_classifier": "logreg", "gate_regularization_c": 1.0},
    "gate C 4": {"gate_classifier": "logreg", "gate_regularization_c": 4.0},
    "gate C 10": {"gate_classifier": "logreg", "gate_regularization_c": 10.0},
    "gate C 30": {"gate_classifier": "logreg", "gate_regularization_c": 30.0},
    "gate C 10 unbalanced": {
        "gate_classifier": "logreg",
        "gate_regularization_c": 10.0,
        "gate_balanced": False,
    },
    "gate C 10 unbalanced, rules about Tamin": {
        "gate_classifier": "logreg",
        "gate_regularization_c": 10.0,
        "gate_balanced": False,
        "gate_tamin_files": ("tamin_rules.yml",),
    },
}


def compare(
    data: TrainingData,
    settings: NluSettings,
    names: Sequence[str] | None = None,
    folds: int | None = None,
    repeats: int | None = None,
) -> list[tuple[str, TuneResult, OutOfFold]]:
    """Cross-validate the configured model and each variant, each at its own chosen values."""
    chosen = [n for n in (names or VARIANTS) if n in VARIANTS]
    runs: list[tuple[str, NluSettings]] = [("configured", settings)]
    runs += [(n, settings.model_copy(update=VARIANTS[n])) for n in chosen]
    out = []
    for name, variant in runs:
        oof = cross_validated_proba(data, variant, folds, repeats).blended(variant.tail_weight)
        out.append((name, choose(oof, variant), oof))
    return out
