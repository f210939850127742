"""The report of ``python -m nlu tune``: the tables a person reads to see what was chosen.

The choosing itself (cross-validation, the decision rule replayed, the bounds) is
:mod:`nlu.tune`; this module only formats its results.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlu.model import OUT_OF_SCOPE
from nlu.settings import NluSettings
from nlu.tune import OutOfFold, ThresholdFigures, TuneResult, bound_cost


def format_tail_weights(results: Sequence[tuple[float, TuneResult]], chosen: float) -> str:
    """Each tail weight at its own thresholds, with the styles it is meant for."""
    lines = [
        "tail weights (a long message's last clauses against the whole; each at its own "
        "thresholds):",
        f"{'tail':>6}{'thr':>6}{'gate':>6}{'bias':>6}{'accuracy':>10}{'in-dom':>8}{'reject':>8}"
        f"{'wrongly':>9}{'long':>8}{'long*':>8}{'elderly':>9}",
    ]
    for weight, r in results:
        f = r.at_threshold
        styles = [_style_figure(r, s) for s in ("long", "long*", "elderly")]
        mark = "  <- chosen" if weight == chosen else ""
        lines.append(
            f"{weight:>6.2f}{r.threshold:>6.2f}{r.gate_threshold:>6.2f}"
            f"{r.out_of_scope_bias:>6.2f}{f.accuracy:>10.4f}"
            f"{f.in_domain_accuracy:>8.4f}{f.oos_rejection:>8.4f}{f.false_rejection:>9.4f}"
            + "".join(f"{x:>8.4f}" for x in styles[:2])
            + f"{styles[2]:>9.4f}{mark}"
        )
    return "\n".join(lines)


def _figure_row(value: float, f: ThresholdFigures, chosen: bool) -> str:
    """One row of a threshold table: the value tried, then its four figures."""
    mark = "  <- chosen" if chosen else ""
    return (
        f"{value:>10.2f}{f.accuracy:>10.4f}{f.in_domain_accuracy:>11.4f}"
        f"{f.oos_rejection:>10.4f}{f.false_rejection:>9.4f}{mark}"
    )


def format_result(result: TuneResult, oof: OutOfFold, settings: NluSettings) -> str:
    """The figures behind the choice, for the terminal."""
    n_oos = int((oof.gold == OUT_OF_SCOPE).sum()) // oof.repeats
    n_lines = len(oof.examples) // oof.repeats
    folds = len(oof.train_seconds) // oof.repeats
    lines = [
        f"cross-validation: {folds} folds over {n_lines} training "
        f"lines ({n_lines - n_oos} in-domain, {n_oos} out-of-scope), repeated with "
        f"{oof.repeats} shuffles (rows pooled, counts below are rows); "
        f"training {np.mean(oof.train_seconds):.1f} s per fold",
        "",
        f"{'threshold':>10}{'accuracy':>10}{'in-domain':>11}{'rejected':>10}{'wrongly':>9}",
    ]
    shown = {round(x * 0.05, 2) for x in range(20)} | {result.threshold}
    for f in result.thresholds:
        if f.threshold in shown:
            lines.append(_figure_row(f.threshold, f, f.threshold == result.threshold))
    if result.gate_table:
        lines += [
            "",
            f"gate thresholds at intent threshold {result.threshold:.2f}:",
            f"{'gate':>10}{'accuracy':>10}{'in-domain':>11}{'rejected':>10}{'wrongly':>9}",
        ]
        shown_g = {round(x * 0.05, 2) for x in range(20)} | {result.gate_threshold}
        for f in result.gate_table:
            if f.gate_threshold in shown_g:
                chosen = f.gate_threshold == result.gate_threshold
                lines.append(_figure_row(f.gate_threshold, f, chosen))
    if len(result.bias_table) > 1:
        lines += [
            "",
            "out_of_scope_bias (out_of_scope's probability discounted when it outranks every "
            "intent), each at its own thresholds:",
            f"{'bias':>10}{'thr':>6}{'gate':>6}{'accuracy':>10}{'in-domain':>11}{'rejected':>10}"
            f"{'wrongly':>9}{'cost':>8}",
        ]
        for f in result.bias_table:
            mark = "  <- chosen" if f.out_of_scope_bias == result.out_of_scope_bias else ""
            lines.append(
                f"{f.out_of_scope_bias:>10.2f}{f.threshold:>6.2f}{f.gate_threshold:>6.2f}"
                f"{f.accuracy:>10.4f}{f.in_domain_accuracy:>11.4f}{f.oos_rejection:>10.4f}"
                f"{f.false_rejection:>9.4f}{bound_cost(f, settings):>8.3f}{mark}"
            )
    lines += ["", f"{'margin':>10}{'right asked':>13}{'wrong asked':>13}"]
    shown_m = {round(x * 0.05, 2) for x in range(13)} | {result.margin}
    for m in result.margins:
        if m.margin in shown_m:
            mark = "  <- chosen" if m.margin == result.margin else ""
            lines.append(f"{m.margin:>10.2f}{m.correct_asked:>13.4f}{m.wrong_asked:>13.4f}{mark}")
    f = result.at_threshold
    lines += [
        "",
        f"rule: {result.rule}",
        f"out_of_scope_threshold: {result.threshold:.2f}  (accuracy {f.accuracy:.4f}, in-domain "
        f"{f.in_domain_accuracy:.4f}, out-of-scope rejected {f.oos_rejection:.4f}, in-domain "
        f"wrongly rejected {f.false_rejection:.4f}, macro-F1 {result.macro_f1:.4f})",
        f"gate_threshold: {result.gate_threshold:.2f}"
        + ("" if oof.gate is not None else "  (no gate in this model)"),
        f"out_of_scope_bias: {result.out_of_scope_bias:.2f}",
        f"ambiguity_margin: {result.margin:.2f}  (asks 'did you mean' for "
        f"{result.at_margin.correct_asked:.2%} of right answers and "
        f"{result.at_margin.wrong_asked:.2%} of wrong ones; at most "
        f"{settings.tune_max_ambiguous_correct:.0%} of right answers allowed)",
        "",
        "recall by intent at the chosen threshold:",
    ]
    for label, (r, n) in sorted(result.intent_recall.items(), key=lambda kv: kv[1][0]):
        lines.append(f"  {label:<24}{r:.4f}  ({n})")
    if result.style_accuracy:
        lines.append("accuracy by style (* guessed from the text):")
        for style, (acc, n) in result.style_accuracy.items():
            lines.append(f"  {style:<24}{acc:.4f}  ({n})")
    if result.oos_by_kind:
        lines.append("out-of-scope lines rejected, by data file:")
        for kind, (share, n) in result.oos_by_kind.items():
            lines.append(f"  {kind:<24}{share:.4f}  ({n})")
    lines.append("worst confusions (gold -> predicted, count, an example):")
    for g, p, n, text in result.confusions:
        lines.append(f"  {g} -> {p}  {n}  «{text}»")
    return "\n".join(lines)


# Model variants `python -m nlu tune --compare` weighs against the configured one.


def _style_figure(result: TuneResult, style: str) -> float:
    """A style's accuracy, tagged in the data or else guessed from the text."""
    found = result.style_accuracy.get(style)
    if found is None and not style.endswith("*"):
        found = result.style_accuracy.get(f"{style}*")
    return found[0] if found else float("nan")


def format_comparison(results: Sequence[tuple[str, TuneResult, OutOfFold]]) -> str:
    head = (
        f"{'variant':<40}{'thr':>6}{'gate':>6}{'accuracy':>10}{'in-dom':>8}{'reject':>8}{'wrongly':>9}"
        f"{'macroF1':>9}{'finglish*':>10}{'long*':>8}{'train s':>9}"
    )
    first = results[0][2]
    lines = [
        f"{len(first.train_seconds) // first.repeats}-fold cross-validation over "
        f"{len(first.examples) // first.repeats} training lines, {first.repeats} shuffles; "
        "each variant at its own chosen threshold (* styles guessed from the text)",
        head,
    ]
    for name, r, oof in results:
        f = r.at_threshold
        fing, long_ = (_style_figure(r, style) for style in ("finglish", "long"))
        lines.append(
            f"{name:<40}{r.threshold:>6.2f}{r.gate_threshold:>6.2f}{f.accuracy:>10.4f}{f.in_domain_accuracy:>8.4f}"
            f"{f.oos_rejection:>8.4f}{f.false_rejection:>9.4f}{r.macro_f1:>9.4f}"
            f"{fing:>10.4f}{long_:>8.4f}{np.mean(oof.train_seconds):>9.1f}"
        )
    return "\n".join(lines)
