"""The data linter: what must hold of the training data before a model is trained on it.

``python -m nlu lint`` (and a test in ``tests/nlu``) checks the training files against:

- a line in two intents: the same after canonical folding (``nlu.features.canonical_text``:
  letters, digits, half-spaces, punctuation) but labelled differently, which teaches the model
  nothing but noise;
- an intent under its minimum: each domain intent ``min_examples_domain``, each small-talk
  intent ``min_examples_small_talk``, out_of_scope ``min_examples_out_of_scope`` in all;
- a line longer than the bot classifies (``max_example_length``, the bot's limit);
- a training line that is, folded the same way, a line of a test set (``test/`` folders, the
  blind set included): a test line seen in training measures nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nlu import INTENTS
from nlu.features import canonical_text
from nlu.model import OUT_OF_SCOPE, SMALL_TALK
from nlu.settings import NluSettings
from nlu.training_data import TrainingData, iter_data_files, load_training_data

DOMAIN_INTENTS: Final = tuple(i for i in INTENTS if i not in SMALL_TALK and i != OUT_OF_SCOPE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data: which check, and what exactly."""

    check: str
    message: str


@dataclass
class LintResult:
    problems: list[Problem]
    counts: dict[str, int]
    examples: int

    @property
    def ok(self) -> bool:
        return not self.problems


def minimum_for(intent: str, settings: NluSettings) -> int:
    if intent == OUT_OF_SCOPE:
        return settings.min_examples_out_of_scope
    if intent in SMALL_TALK:
        return settings.min_examples_small_talk
    return settings.min_examples_domain


def lint(data: TrainingData, test_lines: Iterable[str], settings: NluSettings) -> LintResult:
    """Check ``data`` against the rules of the module docstring."""
    problems: list[Problem] = []
    where: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for example in data.examples:
        where[canonical_text(example.text)][example.intent].append(
            f"{example.source.split(':')[0]}: «{example.text}»"
        )
    for folded, intents in sorted(where.items()):
        if len(intents) > 1:
            found = "; ".join(
                f"{intent} ({', '.join(places)})" for intent, places in sorted(intents.items())
            )
            problems.append(Problem("duplicate", f"«{folded}» in {len(intents)} intents: {found}"))

    counts = Counter(e.intent for e in data.examples)
    for intent in (*DOMAIN_INTENTS, *sorted(SMALL_TALK), OUT_OF_SCOPE):
        least = minimum_for(intent, settings)
        if counts[intent] < least:
            problems.append(
                Problem("minimum", f"{intent}: {counts[intent]} examples, at least {least}")
            )

    for example in data.examples:
        if len(example.text) > settings.max_example_length:
            problems.append(
                Problem(
                    "too long",
                    f"{example.source}: {len(example.text)} characters (the bot reads at most "
                    f"{settings.max_example_length}): «{example.text[:60]}…»",
                )
            )

    tests = {canonical_text(line) for line in test_lines}
    for example in data.examples:
        if canonical_text(example.text) in tests:
            problems.append(
                Problem("test line", f"{example.source}: «{example.text}» is in a test set")
            )
    return LintResult(problems, dict(counts), len(data.examples))


def read_test_lines(paths: Sequence[Path]) -> list[str]:
    """Every line of the test sets under ``paths`` (their own test/ folders included)."""
    files = list(iter_data_files(paths, include_test=True))
    return [e.text for e in load_training_data(files, include_test=True).examples]


def format_result(result: LintResult, settings: NluSettings) -> str:
    lines = [f"{result.examples} training lines"]
    for intent, n in sorted(result.counts.items()):
        lines.append(f"  {intent:<24}{n:>6}  (at least {minimum_for(intent, settings)})")
    by_check = Counter(p.check for p in result.problems)
    for problem in result.problems:
        lines.append(f"{problem.check}: {problem.message}")
    if result.ok:
        lines.append("no problems")
    else:
        lines.append(
            f"{len(result.problems)} problems: "
            + ", ".join(f"{n} {check}" for check, n in sorted(by_check.items()))
        )
    return "\n".join(lines)
