"""Choosing the threshold and the margin from out-of-fold probabilities (no training here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlu import NluSettings
from nlu.training_data import Example, load_training_data
from nlu.tune import (
    OutOfFold,
    ThresholdFigures,
    bound_cost,
    choose,
    choose_tail_weight,
    cross_validated_proba,
    margin_figures,
    meets_bounds,
    predictions,
    threshold_figures,
    threshold_grid,
)

LABELS = ["check_eligibility", "out_of_scope", "track_ticket"]


def _oof(rows: list[tuple[str, list[float]]]) -> OutOfFold:
    examples = [Example(f"line {i}", intent) for i, (intent, _) in enumerate(rows)]
    return OutOfFold(examples, LABELS, np.asarray([p for _, p in rows], dtype=np.float64))


def test_threshold_figures_replay_the_decision_rule() -> None:
    oof = _oof(
        [
            ("check_eligibility", [0.9, 0.05, 0.05]),
            ("check_eligibility", [0.45, 0.35, 0.2]),  # right, but rejected above 0.45
            ("out_of_scope", [0.5, 0.3, 0.2]),  # wrongly answered up to 0.5
            ("out_of_scope", [0.1, 0.8, 0.1]),
        ]
    )
    low = threshold_figures(oof, 0.0)
    assert (low.in_domain_accuracy, low.oos_rejection, low.false_rejection) == (1.0, 0.5, 0.0)
    high = threshold_figures(oof, 0.55)
    assert (high.in_domain_accuracy, high.oos_rejection, high.false_rejection) == (
        0.5,
        1.0,
        0.5,
    )
    assert high.accuracy == 0.75


def test_choose_meets_the_bounds_with_the_best_in_domain_accuracy() -> None:
    rows = [("check_eligibility", [0.9, 0.05, 0.05])] * 60
    rows += [("track_ticket", [0.1, 0.1, 0.8])] * 39
    rows += [("track_ticket", [0.3, 0.25, 0.45])]  # rejected from a threshold of 0.46 on
    rows += [("out_of_scope", [0.6, 0.3, 0.1])] * 4  # rejected from a threshold of 0.61 on
    rows += [("out_of_scope", [0.05, 0.9, 0.05])] * 96
    oof = _oof(rows)
    settings = NluSettings(tune_min_oos_rejection=0.97, tune_max_false_rejection=0.02)
    result = choose(oof, settings)
    # 96 % rejected below 0.61 is not enough; rejecting the four costs the one hesitant
    # in-domain line (1 %, allowed); from 0.81 on the confident ones go too.
    assert 0.61 <= result.threshold <= 0.8
    assert result.at_threshold.oos_rejection == 1.0
    assert result.at_threshold.false_rejection == 0.01
    assert result.rule.startswith("best in-domain accuracy")
    strict = choose(oof, settings.model_copy(update={"tune_max_false_rejection": 0.0}))
    assert strict.rule.startswith("NO value meets both bounds")
    # Each error weighed by its bound: with no wrongly rejected line allowed (0.1 % at the
    # least), 1 % wrongly rejected costs 10 and 4 % let through 4/3: the second wins.
    assert strict.at_threshold.oos_rejection == 0.96
    assert strict.at_threshold.false_rejection == 0.0
    assert strict.threshold < 0.46


def test_bounds_need_their_margin_and_the_cost_weighs_each_error_by_its_bound() -> None:
    settings = NluSettings(
        tune_min_oos_rejection=0.97, tune_max_false_rejection=0.02, tune_bound_margin=0.005
    )
    just = ThresholdFigures(0.3, 0.97, 0.97, 0.97, 0.02)
    spare = ThresholdFigures(0.3, 0.97, 0.97, 0.975, 0.015)
    assert not meets_bounds(just, settings)
    assert meets_bounds(spare, settings)
    assert meets_bounds(just, settings.model_copy(update={"tune_bound_margin": 0.0}))
    # 3 % let through is one unit, 2 % wrongly rejected another, and 1 % answered with the
    # wrong intent a fifth of one (5 % allowed by an accuracy of 0.95): a wrongly rejected
    # line weighs 1.5 times a line let through and 2.5 times a misrouted one.
    assert bound_cost(just, settings) == pytest.approx(2.2)
    misrouted = ThresholdFigures(0.3, 0.96, 0.96, 0.97, 0.02)
    assert bound_cost(misrouted, settings) - bound_cost(just, settings) == pytest.approx(0.2)
    one_more_missed = ThresholdFigures(0.3, 0.97, 0.97, 0.96, 0.02)
    one_more_rejected = ThresholdFigures(0.3, 0.96, 0.96, 0.97, 0.03)
    assert bound_cost(one_more_rejected, settings) - bound_cost(just, settings) == pytest.approx(
        1.5 * (bound_cost(one_more_missed, settings) - bound_cost(just, settings))
    )


def test_the_fast_replay_counts_what_the_predictions_say() -> None:
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([0.5, 0.5, 0.5], size=300)
    gold = rng.choice(LABELS, size=300)
    oof = OutOfFold([Example(f"l{i}", str(g)) for i, g in enumerate(gold)], LABELS, proba)
    oof.gate = rng.random(300)
    for threshold, gate in [(0.0, 0.0), (0.4, 0.0), (0.5, 0.3), (0.9, 0.8)]:
        predicted = predictions(oof, threshold, gate)
        f = threshold_figures(oof, threshold, gate)
        oos = gold == "out_of_scope"
        assert f.accuracy == pytest.approx(np.mean(predicted == gold))
        assert f.in_domain_accuracy == pytest.approx(np.mean(predicted[~oos] == gold[~oos]))
        assert f.oos_rejection == pytest.approx(np.mean(predicted[oos] == "out_of_scope"))
        assert f.false_rejection == pytest.approx(np.mean(predicted[~oos] == "out_of_scope"))


def test_the_fast_replay_counts_what_the_biased_predictions_say() -> None:
    rng = np.random.default_rng(5)
    proba = rng.dirichlet([0.5, 0.5, 0.5], size=400)
    proba[:50] = np.round(proba[:50], 1)  # ties, settled as decide's stable sort settles them
    gold = rng.choice(LABELS, size=400)
    oof = OutOfFold([Example(f"l{i}", str(g)) for i, g in enumerate(gold)], LABELS, proba)
    oof.gate = rng.random(400)
    oos = gold == "out_of_scope"
    thresholds = (0.0, 0.1, 0.3, 0.5, 0.9)
    for bias in (0.0, 0.05, 0.2, 0.5):
        for gate in (0.0, 0.3):
            grid = threshold_grid(oof, thresholds, gate, bias)
            for threshold, f in zip(thresholds, grid, strict=True):
                predicted = predictions(oof, threshold, gate, bias)
                assert f == threshold_figures(oof, threshold, gate, bias)
                assert f.out_of_scope_bias == bias
                assert f.accuracy == pytest.approx(np.mean(predicted == gold))
                assert f.in_domain_accuracy == pytest.approx(
                    np.mean(predicted[~oos] == gold[~oos])
                )
                assert f.oos_rejection == pytest.approx(np.mean(predicted[oos] == "out_of_scope"))
                assert f.false_rejection == pytest.approx(
                    np.mean(predicted[~oos] == "out_of_scope")
                )


def test_the_bias_is_chosen_only_when_it_earns_something() -> None:
    # Ten in-domain lines out_of_scope beats by 0.04, and out-of-scope lines it leads by far:
    # a bias of 0.06 or more answers the ten and lets no out-of-scope line through.
    rows = [("check_eligibility", [0.9, 0.05, 0.05])] * 45
    rows += [("track_ticket", [0.1, 0.1, 0.8])] * 45
    rows += [("track_ticket", [0.1, 0.47, 0.43])] * 10
    rows += [("out_of_scope", [0.05, 0.9, 0.05])] * 100
    oof = _oof(rows)
    settings = NluSettings(tune_min_oos_rejection=0.97, tune_max_false_rejection=0.02)
    without = choose(oof, settings, biases=(0.0,))
    assert without.out_of_scope_bias == 0.0
    assert without.at_threshold.false_rejection == 0.1
    result = choose(oof, settings)
    assert result.out_of_scope_bias == 0.06  # the first (smallest) of the best
    assert result.at_threshold.false_rejection == 0.0
    assert result.at_threshold.oos_rejection == 1.0
    assert result.rule.startswith("best in-domain accuracy")
    # Each bias at its own best thresholds, 0 first: the figures without it.
    assert [f.out_of_scope_bias for f in result.bias_table][:4] == [0.0, 0.02, 0.04, 0.06]
    assert result.bias_table[0] == without.at_threshold
    # Nothing to win: the bias stays 0.
    plain = _oof(rows[:90] + rows[100:])
    assert choose(plain, settings).out_of_scope_bias == 0.0


def test_the_margin_asks_about_few_right_answers() -> None:
    rows = [("check_eligibility", [0.65, 0.0, 0.35])] * 97
    rows += [("check_eligibility", [0.5, 0.0, 0.5 - 0.01 * i]) for i in range(1, 4)]
    rows += [("track_ticket", [0.52, 0.0, 0.48])] * 5  # wrong, and close
    # Up to a margin of 0.3 only the three close right answers (3 %) are asked about.
    oof = _oof(rows)
    settings = NluSettings(tune_max_ambiguous_correct=0.03)
    result = choose(oof, settings)
    at = margin_figures(oof, result.threshold, result.margin)
    assert result.margin == 0.3
    assert at.correct_asked <= 0.03 and at.wrong_asked == 1.0
    assert margin_figures(oof, result.threshold, result.margin + 0.01).correct_asked > 0.03


def test_the_gate_threshold_is_chosen_with_the_intent_threshold() -> None:
    # Intent confidences alone cannot tell the last out-of-scope lines from the in-domain ones
    # (same rows), but the gate can: only a gate threshold meets the bounds.
    rows = [("check_eligibility", [0.9, 0.05, 0.05])] * 50
    rows += [("track_ticket", [0.1, 0.1, 0.8])] * 50
    rows += [("out_of_scope", [0.9, 0.05, 0.05])] * 10
    rows += [("out_of_scope", [0.05, 0.9, 0.05])] * 90
    gate = np.asarray([0.9] * 100 + [0.2] * 10 + [0.1] * 90)
    oof = _oof(rows)
    settings = NluSettings(tune_min_oos_rejection=0.97, tune_max_false_rejection=0.02)
    without = choose(oof, settings)
    assert without.rule.startswith("NO value meets both bounds")
    assert without.gate_threshold == 0.0
    oof.gate = gate
    result = choose(oof, settings)
    assert result.rule.startswith("best in-domain accuracy")
    assert 0.2 < result.gate_threshold <= 0.9
    assert result.at_threshold.oos_rejection == 1.0
    assert result.at_threshold.false_rejection == 0.0
    at = threshold_figures(oof, result.threshold, result.gate_threshold)
    assert at == result.at_threshold
    # By data file, as `nlu tune` reports the out-of-scope lines rejected.
    assert set(result.oos_by_kind) == {"?"}


def test_the_tail_weight_is_chosen_by_the_same_rule_and_none_unless_it_earns_it() -> None:
    # Ten long in-domain lines whose story points at the wrong intent and whose last clause
    # asks for the right one: only a tail weight of at least 0.35 answers them right.
    rows = [("check_eligibility", [0.9, 0.05, 0.05])] * 45
    rows += [("track_ticket", [0.1, 0.1, 0.8])] * 45
    rows += [("track_ticket", [0.6, 0.1, 0.3])] * 10
    rows += [("out_of_scope", [0.05, 0.9, 0.05])] * 100
    oof = _oof(rows)
    oof.tail_proba = oof.proba.copy()
    oof.tail_proba[90:100] = [0.05, 0.05, 0.9]
    settings = NluSettings(tune_min_oos_rejection=0.97, tune_max_false_rejection=0.02)
    blended = oof.blended(0.35)
    assert np.allclose(blended.proba[95], [0.4075, 0.0825, 0.51])
    assert np.array_equal(blended.proba[:90], oof.proba[:90])
    weight, results = choose_tail_weight(oof, settings, (0.0, 0.2, 0.35, 0.5))
    accuracy = {w: r.at_threshold.in_domain_accuracy for w, r in results}
    assert accuracy[0.0] == accuracy[0.2] == 0.9
    assert accuracy[0.35] == accuracy[0.5] == 1.0
    assert weight == 0.35  # the first of the best
    # Tails that change nothing leave the weight at 0.
    oof.tail_proba = oof.proba.copy()
    assert choose_tail_weight(oof, settings, (0.0, 0.35))[0] == 0.0


def test_repeated_cross_validation_pools_every_line_once_per_shuffle(
    small_data_dir: Path,
) -> None:
    settings = NluSettings(calibration_folds=2, char_ngram_max=3)
    data = load_training_data([small_data_dir])
    oof = cross_validated_proba(data, settings, folds=3, repeats=2)
    n = len(data.examples)
    assert oof.repeats == 2 and len(oof.train_seconds) == 6
    assert oof.proba.shape == (2 * n, len(oof.labels))
    assert oof.gate is not None and oof.gate.shape == (2 * n,)
    assert [e.text for e in oof.examples[n:]] == [e.text for e in data.examples]
    # Another shuffle: the second half was scored by models trained on other folds.
    assert not np.allclose(oof.proba[:n], oof.proba[n:])
    # The pooled figures are the mean of each shuffle's.
    halves = [
        threshold_figures(
            OutOfFold(oof.examples[i : i + n], oof.labels, oof.proba[i : i + n]), 0.3
        )
        for i in (0, n)
    ]
    pooled = threshold_figures(oof, 0.3)
    assert pooled.accuracy == pytest.approx((halves[0].accuracy + halves[1].accuracy) / 2)
    assert pooled.false_rejection == pytest.approx(
        (halves[0].false_rejection + halves[1].false_rejection) / 2
    )
