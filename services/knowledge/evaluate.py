"""The blind evaluation of the knowledge base: ``python -m services.knowledge.evaluate``.

``tests/knowledge/blind_questions.yml`` holds rule questions written by someone who had read
neither the entries nor their variants (text, the expected entry id or null, a style). This
prints, overall and by style, for questions with an entry: the right entry first (the issue's
bar: ≥ 90 %), the right entry first and confident (what the bot answers outright), and the
right entry among what the bot offers (the answer or the two of "did you mean"); for questions
without one (general knowledge, other organisations): the share rejected (bar: ≥ 97 %).

The figures are reported as they come: nothing is ever tuned on this set (the thresholds come
from ``services.knowledge.tune``'s cross-validation on the variants and the NLU's training
lines), or it would stop being blind.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from services.knowledge import KnowledgeBase, load_knowledge_base
from services.knowledge.config import PROJECT_ROOT, KnowledgeConfig

BLIND_SET = PROJECT_ROOT / "tests" / "knowledge" / "blind_questions.yml"
FIRST_BAR = 0.90
REJECTED_BAR = 0.97


@dataclass(frozen=True, slots=True)
class BlindQuestion:
    text: str
    entry: str | None
    style: str


@dataclass
class Tally:
    """Counts of one group of questions (a style, or all)."""

    asked: int = 0
    first: int = 0
    confident: int = 0
    offered: int = 0
    negatives: int = 0
    rejected: int = 0
    misses: list[tuple[str, str, str | None]] = field(default_factory=list)

    def share(self, part: int, whole: int) -> str:
        return f"{100 * part / whole:5.1f} %" if whole else "    —  "


@dataclass(frozen=True, slots=True)
class Report:
    """The evaluation's outcome: every group's tally (``"all"`` is the whole set)."""

    tallies: dict[str, Tally]
    unknown: tuple[str, ...]

    @property
    def overall(self) -> Tally:
        return self.tallies["all"]

    @property
    def first_rate(self) -> float:
        return self.overall.first / self.overall.asked if self.overall.asked else 0.0

    @property
    def rejected_rate(self) -> float:
        total = self.overall
        return total.rejected / total.negatives if total.negatives else 0.0


def read_blind_set(path: Path = BLIND_SET) -> list[BlindQuestion]:
    """The questions of the blind set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        BlindQuestion(str(q["text"]), q.get("entry") or None, str(q.get("style") or "—"))
        for q in data["questions"]
    ]


def evaluate(base: KnowledgeBase, questions: Sequence[BlindQuestion]) -> Report:
    """Ask every question of ``base`` and count."""
    served = {e.id for e in base.index.entries}
    tallies: dict[str, Tally] = defaultdict(Tally)
    unknown = sorted({q.entry for q in questions if q.entry and q.entry not in served})
    for question in questions:
        retrieval = base.search(question.text)
        best = retrieval.best
        best_id = best.entry.id if best else None
        offered = {m.entry.id for m in retrieval.offered}
        for name in ("all", question.style):
            tally = tallies[name]
            if question.entry is None:
                tally.negatives += 1
                tally.rejected += not retrieval.confident
                if retrieval.confident:
                    tally.misses.append((question.text, "answered", best_id))
                continue
            tally.asked += 1
            right = best_id == question.entry
            tally.first += right
            tally.confident += right and retrieval.confident
            tally.offered += question.entry in offered
            if not right:
                tally.misses.append((question.text, question.entry, best_id))
    return Report(dict(tallies), tuple(unknown))


def format_report(report: Report) -> str:
    """The figures as a table, by style, with the bars."""
    lines = [
        f"{'style':<14}{'asked':>6}{'first':>10}{'first+conf':>12}{'offered':>10}"
        f"{'negatives':>11}{'rejected':>10}"
    ]
    names = ["all", *sorted(n for n in report.tallies if n != "all")]
    for name in names:
        t = report.tallies[name]
        lines.append(
            f"{name:<14}{t.asked:>6}{t.share(t.first, t.asked):>10}"
            f"{t.share(t.confident, t.asked):>12}{t.share(t.offered, t.asked):>10}"
            f"{t.negatives:>11}{t.share(t.rejected, t.negatives):>10}"
        )
    first_ok = "met" if report.first_rate >= FIRST_BAR else "NOT met"
    rejected_ok = "met" if report.rejected_rate >= REJECTED_BAR else "NOT met"
    lines.append(
        f"bars: right entry first {100 * report.first_rate:.1f} % (≥ 90 %: {first_ok}); "
        f"null questions rejected {100 * report.rejected_rate:.1f} % (≥ 97 %: {rejected_ok})"
    )
    if report.unknown:
        lines.append(f"expected entries not served: {', '.join(report.unknown)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=Path, default=BLIND_SET)
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    report = evaluate(load_knowledge_base(KnowledgeConfig()), read_blind_set(args.questions))
    print(format_report(report))
    if args.misses:
        for text, expected, got in report.overall.misses:
            print(f"- {text} | expected {expected} | got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
