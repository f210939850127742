"""Evaluation on the test sets, reported the way Rasa's ``rasa test nlu`` does.

Two test sets are reported side by side: the held-out split (the files directly in
``nlu/data/test/``) and the blind set (``nlu/data/test/blind/``, written by someone who never
read the training data). For each: accuracy, macro-F1, accuracy by style (the lines'
``metadata.style``; for untagged lines a style guessed from the text, marked ``*``), the share of
out-of-scope lines rejected and of in-domain lines wrongly rejected, and the worst confusions.

Per set, writes ``intent_report.json`` (per intent precision, recall, F1, support and what it
was confused with), ``intent_errors.json``, ``entity_report.json``, ``entity_errors.json``,
``summary.json`` and ``intent_confusion_matrix.png`` into the output folder, and returns an
:class:`EvaluationReport` whose figures the tests assert against the bar.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from nlu.model import OUT_OF_SCOPE, NluModel, ParseResult
from nlu.training_data import Example, iter_data_files, load_training_data

logger = logging.getLogger(__name__)

HELD_OUT: Final = "held-out"
BLIND: Final = "blind"
_LATIN: Final = re.compile(r"[A-Za-z]")
_LETTER: Final = re.compile(r"[^\W\d_]")
# A message of this many words or more tells a story before (or after) its request.
LONG_WORDS: Final = 15


def guess_style(text: str) -> str:
    """A style for an untagged line, from the text alone: finglish, long, short or ""."""
    letters = len(_LETTER.findall(text))
    if letters and len(_LATIN.findall(text)) / letters > 0.5:
        return "finglish"
    words = len(text.split())
    if words >= LONG_WORDS:
        return "long"
    if words <= 2:
        return "short"
    return ""


def example_style(example: Example) -> str:
    """The line's tagged style, or the guessed one marked with ``*``."""
    if example.style:
        return example.style
    guessed = guess_style(example.text)
    return f"{guessed}*" if guessed else ""


def find_test_sets(test_dir: Path) -> list[tuple[str, list[Path]]]:
    """The test sets under ``test_dir``: the held-out split (its own files) and, when present,
    each blind set (a ``blind*/`` folder, each written by someone else who never read the
    training data: ``blind/`` and ``blind2/``)."""
    sets: list[tuple[str, list[Path]]] = []
    held_out = sorted(p for p in test_dir.glob("*.y*ml") if p.is_file())
    if held_out:
        sets.append((HELD_OUT, held_out))
    for blind in sorted(p for p in test_dir.glob(f"{BLIND}*") if p.is_dir()):
        if any(iter_data_files([blind], include_test=True)):
            sets.append((blind.name, [blind]))
    return sets


def load_test_examples(paths: Sequence[Path]) -> list[Example]:
    return load_training_data(paths, include_test=True).examples


@dataclass
class EvaluationReport:
    """The headline figures and the detailed reports behind them."""

    examples: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    entity_precision: float
    entity_recall: float
    entity_f1: float
    # Share of gold out_of_scope lines predicted out_of_scope (the out-of-domain recall).
    out_of_domain_recall: float
    out_of_domain_examples: int
    # Share of in-domain lines (any other gold intent) wrongly predicted out_of_scope.
    in_domain_oos_rate: float
    in_domain_examples: int
    name: str = ""
    # Share of correct in-domain answers flagged ambiguous (the bot asks before it acts) and
    # of wrong ones (a question instead of a wrong answer).
    ambiguous_correct_rate: float = 0.0
    ambiguous_wrong_rate: float = 0.0
    # style → (accuracy, lines)
    style_accuracy: dict[str, tuple[float, int]] = field(default_factory=dict)
    # The most frequent (gold, predicted) pairs, each with a count and one example line.
    worst_confusions: list[dict[str, Any]] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    intent_report: dict[str, Any] = field(default_factory=dict)
    entity_report: dict[str, Any] = field(default_factory=dict)
    intent_errors: list[dict[str, Any]] = field(default_factory=list)
    entity_errors: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "intent_accuracy": round(self.accuracy, 4),
            "intent_macro_f1": round(self.macro_f1, 4),
            "intent_weighted_f1": round(self.weighted_f1, 4),
            "entity_precision": round(self.entity_precision, 4),
            "entity_recall": round(self.entity_recall, 4),
            "entity_f1": round(self.entity_f1, 4),
            "out_of_domain_recall": round(self.out_of_domain_recall, 4),
            "out_of_domain_examples": self.out_of_domain_examples,
            "in_domain_out_of_scope_rate": round(self.in_domain_oos_rate, 4),
            "in_domain_examples": self.in_domain_examples,
            "ambiguous_correct_rate": round(self.ambiguous_correct_rate, 4),
            "ambiguous_wrong_rate": round(self.ambiguous_wrong_rate, 4),
            "style_accuracy": {
                style: {"accuracy": round(acc, 4), "examples": n}
                for style, (acc, n) in self.style_accuracy.items()
            },
            "worst_confusions": self.worst_confusions,
        }


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def evaluate(
    model: NluModel, examples: Sequence[Example], name: str = "", *, confusions_shown: int = 10
) -> EvaluationReport:
    """Parse every example and compare with its gold intent and entities."""
    if not examples:
        raise ValueError("no test examples")
    results = model.parse_batch([e.text for e in examples])
    gold = [e.intent for e in examples]
    predicted = [r.intent for r in results]
    labels = sorted(set(gold) | set(predicted))
    report: dict[str, Any] = classification_report(
        gold, predicted, labels=labels, output_dict=True, zero_division=0
    )
    confusions: dict[str, Counter[str]] = {label: Counter() for label in labels}
    intent_errors: list[dict[str, Any]] = []
    for example, result in zip(examples, results, strict=True):
        if example.intent != result.intent:
            confusions[example.intent][result.intent] += 1
            intent_errors.append(
                {
                    "text": example.text,
                    "intent": example.intent,
                    "intent_prediction": {"name": result.intent, "confidence": result.confidence},
                    "fallback": result.fallback,
                    "source": example.source,
                }
            )
    for label in labels:
        if label in report:
            report[label]["confused_with"] = dict(confusions[label].most_common(3))
    ood = [
        r.intent == OUT_OF_SCOPE
        for e, r in zip(examples, results, strict=True)
        if e.intent == OUT_OF_SCOPE
    ]
    ind = [
        r.intent == OUT_OF_SCOPE
        for e, r in zip(examples, results, strict=True)
        if e.intent != OUT_OF_SCOPE
    ]
    pairs: Counter[tuple[str, str]] = Counter()
    first_line: dict[tuple[str, str], str] = {}
    for example, result in zip(examples, results, strict=True):
        if example.intent != result.intent:
            pair = (example.intent, result.intent)
            pairs[pair] += 1
            first_line.setdefault(pair, example.text)
    worst = [
        {"intent": g, "predicted": p, "count": n, "example": first_line[(g, p)]}
        for (g, p), n in pairs.most_common(confusions_shown)
    ]
    by_style: dict[str, list[bool]] = {}
    for example, result in zip(examples, results, strict=True):
        style = example_style(example)
        if style:
            by_style.setdefault(style, []).append(example.intent == result.intent)
    style_accuracy = {
        style: (sum(hits) / len(hits), len(hits)) for style, hits in sorted(by_style.items())
    }
    answered = [
        (e.intent == r.intent, r.ambiguous)
        for e, r in zip(examples, results, strict=True)
        if e.intent != OUT_OF_SCOPE and r.intent != OUT_OF_SCOPE
    ]
    right = [amb for ok, amb in answered if ok]
    wrong = [amb for ok, amb in answered if not ok]
    entity_report, entity_errors, (tp, fp, fn) = _entity_scores(examples, results)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return EvaluationReport(
        examples=len(examples),
        accuracy=float(report["accuracy"]) if "accuracy" in report else _accuracy(gold, predicted),
        macro_f1=float(report["macro avg"]["f1-score"]),
        weighted_f1=float(report["weighted avg"]["f1-score"]),
        entity_precision=precision,
        entity_recall=recall,
        entity_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        out_of_domain_recall=_ratio(sum(ood), len(ood)),
        out_of_domain_examples=len(ood),
        in_domain_oos_rate=sum(ind) / len(ind) if ind else 0.0,
        in_domain_examples=len(ind),
        name=name,
        ambiguous_correct_rate=sum(right) / len(right) if right else 0.0,
        ambiguous_wrong_rate=sum(wrong) / len(wrong) if wrong else 0.0,
        style_accuracy=style_accuracy,
        worst_confusions=worst,
        gold=gold,
        predicted=predicted,
        intent_report=report,
        entity_report=entity_report,
        intent_errors=intent_errors,
        entity_errors=entity_errors,
    )


def _accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    # classification_report omits "accuracy" when labels and predictions differ in set.
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def _entity_scores(
    examples: Sequence[Example], results: Sequence[ParseResult]
) -> tuple[dict[str, Any], list[dict[str, Any]], tuple[int, int, int]]:
    """Exact-match scoring: an entity counts only with the same name, value and offsets."""
    per: dict[str, Counter[str]] = {}
    errors: list[dict[str, Any]] = []
    totals = Counter[str]()
    for example, result in zip(examples, results, strict=True):
        gold = {(a.entity, a.value, a.start, a.end) for a in example.entities}
        pred = {(e.entity, e.value, e.start, e.end) for e in result.entities}
        for kind, items in (("tp", gold & pred), ("fp", pred - gold), ("fn", gold - pred)):
            for item in items:
                per.setdefault(item[0], Counter())[kind] += 1
                totals[kind] += 1
        if gold != pred:
            errors.append(
                {
                    "text": example.text,
                    "missed": [_entity_json(x, example.text) for x in sorted(gold - pred)],
                    "spurious": [_entity_json(x, example.text) for x in sorted(pred - gold)],
                }
            )
    report: dict[str, Any] = {}
    for name, counts in sorted(per.items()):
        p = _ratio(counts["tp"], counts["tp"] + counts["fp"])
        r = _ratio(counts["tp"], counts["tp"] + counts["fn"])
        report[name] = {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1-score": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "support": counts["tp"] + counts["fn"],
            "false_positives": counts["fp"],
        }
    return report, errors, (totals["tp"], totals["fp"], totals["fn"])


def _entity_json(item: tuple[str, str, int, int], text: str) -> dict[str, Any]:
    entity, value, start, end = item
    return {"entity": entity, "value": value, "start": start, "end": end, "text": text[start:end]}


def write_report(report: EvaluationReport, out_dir: Path) -> None:
    """Write the JSON reports and the confusion-matrix picture into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def dump(name: str, data: Any) -> None:
        (out_dir / name).write_text(
            json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
        )

    dump("intent_report.json", report.intent_report)
    dump("intent_errors.json", report.intent_errors)
    dump("entity_report.json", report.entity_report)
    dump("entity_errors.json", report.entity_errors)
    dump("summary.json", report.summary())
    plot_confusion_matrix(report.gold, report.predicted, out_dir / "intent_confusion_matrix.png")


def plot_confusion_matrix(gold: Sequence[str], predicted: Sequence[str], path: Path) -> None:
    """Draw the intent confusion matrix as a PNG (Rasa's intent_confusion_matrix.png)."""
    import matplotlib

    # No display on servers and in CI: render to a file only.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted(set(gold) | set(predicted))
    matrix = confusion_matrix(gold, predicted, labels=labels)
    size = max(8.0, 0.55 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size * 0.9), dpi=110)
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(labels)), labels=labels, fontsize=9)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("true intent")
    accuracy = float(np.trace(matrix) / matrix.sum()) if matrix.sum() else 0.0
    ax.set_title(f"Intent confusion matrix (n={int(matrix.sum())}, accuracy={accuracy:.3f})")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shown[i, j] > threshold else "black",
                )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def format_table(report: EvaluationReport) -> str:
    """A plain-text intent report like Rasa's, for the terminal."""
    lines = [f"{'intent':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}  confused with"]
    for label, row in sorted(report.intent_report.items()):
        if not isinstance(row, dict) or label.endswith("avg"):
            continue
        confused = ", ".join(f"{k} ({v})" for k, v in row.get("confused_with", {}).items())
        lines.append(
            f"{label:<24}{row['precision']:>10.3f}{row['recall']:>8.3f}"
            f"{row['f1-score']:>8.3f}{int(row['support']):>9}  {confused}"
        )
    lines.append("")
    lines.append(f"{'entity':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    for name, row in report.entity_report.items():
        lines.append(
            f"{name:<24}{row['precision']:>10.3f}{row['recall']:>8.3f}"
            f"{row['f1-score']:>8.3f}{row['support']:>9}"
        )
    lines.append("")
    for key, value in report.summary().items():
        if not isinstance(value, dict | list):  # styles and confusions: side by side
            lines.append(f"{key:<32}{value}")
    return "\n".join(lines)


def format_side_by_side(reports: Sequence[EvaluationReport]) -> str:
    """The headline figures of several test sets in columns, then each set's worst confusions."""
    width = max(12, *(len(r.name) + 2 for r in reports))
    head = f"{'':<36}" + "".join(f"{r.name:>{width}}" for r in reports)

    def share(value: float, lines: int) -> str:
        return f"{value:.3f}" if lines else "-"

    rows: list[tuple[str, list[str]]] = [
        ("lines", [str(r.examples) for r in reports]),
        ("intent accuracy", [f"{r.accuracy:.3f}" for r in reports]),
        ("intent macro-F1", [f"{r.macro_f1:.3f}" for r in reports]),
        (
            "out-of-scope rejected",
            [share(r.out_of_domain_recall, r.out_of_domain_examples) for r in reports],
        ),
        ("  (out-of-scope lines)", [str(r.out_of_domain_examples) for r in reports]),
        (
            "in-domain wrongly rejected",
            [share(r.in_domain_oos_rate, r.in_domain_examples) for r in reports],
        ),
        ("  (in-domain lines)", [str(r.in_domain_examples) for r in reports]),
        (
            "asked 'did you mean', right answers",
            [f"{r.ambiguous_correct_rate:.3f}" for r in reports],
        ),
        (
            "asked 'did you mean', wrong answers",
            [f"{r.ambiguous_wrong_rate:.3f}" for r in reports],
        ),
        ("entity precision", [f"{r.entity_precision:.3f}" for r in reports]),
        ("entity recall", [f"{r.entity_recall:.3f}" for r in reports]),
    ]
    styles = sorted({s for r in reports for s in r.style_accuracy})
    for style in styles:
        cells = []
        for r in reports:
            if style in r.style_accuracy:
                acc, n = r.style_accuracy[style]
                cells.append(f"{acc:.3f} ({n})")
            else:
                cells.append("-")
        rows.append((f"accuracy, style {style}", cells))
    lines = [head]
    lines += [f"{label:<36}" + "".join(f"{c:>{width}}" for c in cells) for label, cells in rows]
    if any(s.endswith("*") for s in styles):
        lines.append("(* a style guessed from the text of untagged lines)")
    for r in reports:
        lines.append("")
        lines.append(f"worst confusions, {r.name} (gold -> predicted, count, an example):")
        if not r.worst_confusions:
            lines.append("  none")
        for c in r.worst_confusions:
            lines.append(f"  {c['intent']} -> {c['predicted']}  {c['count']}  «{c['example']}»")
    return "\n".join(lines)
