"""Choose the knowledge base's confidence threshold and ambiguity margin by cross-validation.

``python -m services.knowledge.tune`` prints the figures behind :class:`KnowledgeConfig`'s
defaults. Positives: each approved entry's question variants, split into k folds; every fold's
variants are asked of an index built from the other folds (so a variant never finds itself).
Negatives: the out-of-scope TRAINING lines of the NLU, the same files the index rejects with
(``KnowledgeConfig.rejection_files``, read as plain YAML; the held-out sets under
``nlu/data/test/`` are never read), also split into k folds: every fold's lines are asked of the
index of every entry whose rejection lines are the other folds' (so a line never rejects itself).
The NLU's Tamin rule questions (``out_of_scope/tamin_rules.yml``) are the knowledge base's to
answer, so they are no negatives; they were written without looking at the entries, and the
share of them answered confidently is printed (they carry no entry label, so only that).

For each setting tried, the threshold is the lowest confidence that still rejects the required
share of negatives (a higher one only loses answers), and the setting kept is the one with the
most held-out variants whose right entry comes first with that confidence. The margin is then
the smallest one within 0.01 of the best utility over the confident held-out variants: a right
answer +1, a wrong one −1, "did you mean" with the right entry among the two +0.5, without it
−0.5.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import logging
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.knowledge.config import PROJECT_ROOT, RULE_QUESTIONS, KnowledgeConfig
from services.knowledge.entries import Entry, load_entries
from services.knowledge.index import KnowledgeIndex, build_index
from services.knowledge.rejections import load_rejections, read_out_of_scope

# What is tried: the weight of the entry as one document and of the closest rejection line.
# Fixed after wider grids on 2026-12-06 (150 entries, 1 660 variants, no rejection lines yet),
# where each did better for every setting tried, in held-out variants answered right: views
# weighted 0.3 / 0.4 / 0.3 (of five weightings, 1–2 points), titles indexed (+3 points), unseen
# words weighing 2 (+2–4), BM25 b 0.3 rather than 0.75 (+4–6), the variant's share 0.3 rather
# than 0 (+4–6), the entry as one document at weight 0.5–1 rather than 0 (+6–7) or 2 (−1).
ENTRY_WEIGHTS: tuple[float, ...] = (0.5, 1.0)
REJECTION_WEIGHTS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5)
FIXED: dict[str, float | bool] = {
    "word_weight": 0.3,
    "char_weight": 0.4,
    "skeleton_weight": 0.3,
    "index_titles": True,
    "unseen_weight": 2.0,
    "bm25_b": 0.3,
    "document_share": 0.3,
}
# Utilities closer than this to the best are one (the folds move them by about as much); of
# those, the smallest margin is kept, since "did you mean" costs the user a tap every time.
MARGIN_TOLERANCE = 0.01
MARGINS: tuple[float, ...] = tuple(round(0.01 * i, 2) for i in range(31))


@dataclass(frozen=True, slots=True)
class Asked:
    """A held-out question: its entry, the two best entries found, and the confidence."""

    truth: str
    first: str | None
    first_score: float
    second: str | None
    second_score: float
    confidence: float


def ask(index: KnowledgeIndex, truth: str, question: str) -> Asked:
    """Search ``question`` and keep what the tuning needs."""
    result = index.search(question, top_k=2)
    found = result.matches
    return Asked(
        truth,
        found[0].entry.id if found else None,
        found[0].score if found else 0.0,
        found[1].entry.id if len(found) > 1 else None,
        found[1].score if len(found) > 1 else 0.0,
        result.confidence,
    )


def _folds(count: int, folds: int, rng: random.Random) -> list[int]:
    order = list(range(count))
    rng.shuffle(order)
    offset = rng.randrange(folds)
    fold_of = [0] * count
    for rank, position in enumerate(order):
        fold_of[position] = (rank + offset) % folds
    return fold_of


def cross_validate(
    entries: Sequence[Entry],
    config: KnowledgeConfig,
    folds: int,
    seed: int,
    rejections: Sequence[str] = (),
) -> list[Asked]:
    """Ask every variant of an index built without its fold; return what was found."""
    rng = random.Random(seed)
    fold_of = {e.id: _folds(len(e.questions), folds, rng) for e in entries}
    asked: list[Asked] = []
    for fold in range(folds):
        kept: list[Entry] = []
        held: list[tuple[str, str]] = []
        for entry in entries:
            keep = [
                q for q, f in zip(entry.questions, fold_of[entry.id], strict=True) if f != fold
            ]
            held.extend(
                (entry.id, q)
                for q, f in zip(entry.questions, fold_of[entry.id], strict=True)
                if f == fold
            )
            if keep:
                kept.append(entry.model_copy(update={"questions": tuple(keep)}))
        index = build_index(kept, config, rejections)
        asked.extend(ask(index, truth, question) for truth, question in held)
    return asked


def negative_confidences(
    entries: Sequence[Entry],
    config: KnowledgeConfig,
    negatives: Sequence[str],
    folds: int,
    seed: int,
) -> list[float]:
    """Every negative's confidence, asked of an index whose rejection lines exclude its fold."""
    if config.rejection_weight <= 0:
        index = build_index(entries, config)
        return [index.search(q, top_k=2).confidence for q in negatives]
    fold_of = _folds(len(negatives), folds, random.Random(seed))
    confidences = [0.0] * len(negatives)
    for fold in range(folds):
        others = [q for q, f in zip(negatives, fold_of, strict=True) if f != fold]
        index = build_index(entries, config, others)
        for i, (question, f) in enumerate(zip(negatives, fold_of, strict=True)):
            if f == fold:
                confidences[i] = index.search(question, top_k=2).confidence
    return confidences


def rejecting_threshold(negative_scores: Sequence[float], rejection: float) -> float:
    """The lowest threshold that leaves at least ``rejection`` of the negatives below it."""
    ordered = np.sort(np.asarray(negative_scores, dtype=np.float64))
    if not len(ordered):
        return 0.0
    allowed = int(np.floor(len(ordered) * (1.0 - rejection) + 1e-9))  # may score ≥ threshold
    # Above the (allowed+1)-th highest score; rounded up so the stored default keeps it.
    boundary = float(ordered[len(ordered) - allowed - 1])
    return float(np.ceil((boundary + 1e-6) * 1000) / 1000)


def accuracy(asked: Sequence[Asked], threshold: float) -> float:
    """Share of held-out questions whose right entry comes first, confidently."""
    right = sum(1 for a in asked if a.first == a.truth and a.confidence >= threshold)
    return right / len(asked) if asked else 0.0


def utility(asked: Sequence[Asked], threshold: float, margin: float) -> tuple[float, float]:
    """Mean utility over confident held-out questions, and the share of them found ambiguous."""
    total = 0.0
    confident = ambiguous = 0
    for a in asked:
        if a.confidence < threshold:
            continue
        confident += 1
        if a.second is not None and a.first_score - a.second_score < margin:
            ambiguous += 1
            total += 0.5 if a.truth in (a.first, a.second) else -0.5
        else:
            total += 1.0 if a.first == a.truth else -1.0
    if not confident:
        return 0.0, 0.0
    return total / confident, ambiguous / confident


def held_out_rejection(scores: Sequence[float], rejection: float, folds: int, seed: int) -> float:
    """Rejection of negatives not used to choose the threshold (k-fold over the negatives)."""
    order = list(range(len(scores)))
    random.Random(seed).shuffle(order)
    rejected = 0
    for fold in range(folds):
        train = [scores[i] for k, i in enumerate(order) if k % folds != fold]
        test = [scores[i] for k, i in enumerate(order) if k % folds == fold]
        threshold = rejecting_threshold(train, rejection)
        rejected += sum(1 for s in test if s < threshold)
    return rejected / len(scores) if scores else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.knowledge.tune", description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=KnowledgeConfig().directory)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rejection", type=float, default=0.97)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    # Every fold's index would warn about the same overlapping lines: said once, below.
    logging.getLogger("services.knowledge.index").setLevel(logging.ERROR)

    loaded = load_entries(args.knowledge)
    entries = [e for e in loaded.entries if e.served and len(e.questions) >= 2]
    files = KnowledgeConfig().rejection_files
    negatives = list(load_rejections(files))
    rules = read_out_of_scope([RULE_QUESTIONS]) if RULE_QUESTIONS.is_file() else []
    n_variants = sum(len(e.questions) for e in entries)
    print(f"entries: {len(entries)} approved, {n_variants} variants, {args.folds} folds")
    print(f"negatives: {len(negatives)} distinct out-of-scope training lines from", end=" ")
    print(", ".join(str(p.relative_to(PROJECT_ROOT)) for p in files))
    print(f"required rejection of negatives: {args.rejection:.1%}")
    print(f"fixed: {FIXED}\n")

    print("entry  rejection  threshold  top-1  top-2  right and confident  wrong and confident")
    best: tuple[float, KnowledgeConfig, list[Asked], list[float]] | None = None
    for entry_weight, rejection_weight in itertools.product(ENTRY_WEIGHTS, REJECTION_WEIGHTS):
        config = KnowledgeConfig.model_validate(
            {
                **FIXED,
                "directory": args.knowledge,
                "entry_weight": entry_weight,
                "rejection_weight": rejection_weight,
            }
        )
        asked = cross_validate(entries, config, args.folds, args.seed, negatives)
        scores = negative_confidences(loaded.entries, config, negatives, args.folds, args.seed)
        threshold = rejecting_threshold(scores, args.rejection)
        at = accuracy(asked, threshold)
        top1 = sum(1 for a in asked if a.first == a.truth) / len(asked)
        top2 = sum(1 for a in asked if a.truth in (a.first, a.second)) / len(asked)
        wrong = sum(1 for a in asked if a.confidence >= threshold and a.first != a.truth)
        print(
            f"  {entry_weight:3.1f}  {rejection_weight:9.1f}  {threshold:9.3f}  {top1:5.1%}  "
            f"{top2:5.1%}  {at:19.1%}  {wrong / len(asked):19.1%}",
            flush=True,
        )
        if best is None or at > best[0]:
            best = (at, config.model_copy(update={"threshold": threshold}), asked, scores)
    assert best is not None
    at, config, asked, scores = best
    threshold = config.threshold

    print("\nmargin  utility  ambiguous share (of confident held-out variants)")
    margins = [(m, *utility(asked, threshold, m)) for m in MARGINS]
    for margin, value, share in margins:
        print(f"  {margin:.2f}  {value:7.3f}  {share:8.1%}")
    top = max(value for _, value, _ in margins)
    margin, value, share = min(m for m in margins if m[1] >= top - MARGIN_TOLERANCE)

    rejected = sum(1 for s in scores if s < threshold) / len(scores)
    estimate = held_out_rejection(scores, args.rejection, args.folds, args.seed)
    confident = sum(1 for a in asked if a.confidence >= threshold) / len(asked)
    wrong = sum(1 for a in asked if a.confidence >= threshold and a.first != a.truth)
    top1 = sum(1 for a in asked if a.first == a.truth) / len(asked)
    top2 = sum(1 for a in asked if a.truth in (a.first, a.second)) / len(asked)
    print(
        f"\nchosen on {dt.date.today().isoformat()}: entry weight {config.entry_weight}, "
        f"rejection weight {config.rejection_weight}; threshold {threshold:.3f}; "
        f"margin {margin:.2f}"
    )
    print(f"  held-out variants: right first {top1:.1%} (first two {top2:.1%})")
    print(f"    right first and confident {at:.1%}; confident {confident:.1%}, of all held out")
    print(f"    wrong yet confident {wrong / len(asked):.1%} of all held out")
    print(
        f"  negatives rejected: {rejected:.1%} (threshold chosen on other folds: {estimate:.1%})"
    )
    print(f"  margin utility {value:.3f}, ambiguous {share:.1%} of confident held-out variants")
    final = build_index(loaded.entries, config, negatives)
    if final.overlapping_rejections:
        print(
            "  rejection lines that are also variants (the entry's, not rejected by the index): "
            + " | ".join(final.overlapping_rejections)
        )
    rule_scores = [final.search(q, top_k=2).confidence for q in rules]
    if rules:
        answered = sum(1 for s in rule_scores if s >= threshold) / len(rules)
        print(
            f"  Tamin rule questions of the NLU ({len(rules)}, not in the tuning): "
            f"{answered:.1%} answered confidently"
        )
    print("\nthe trade-off at this setting (the threshold for other required rejections):")
    print("  rejection  threshold  right and confident  rule questions answered")
    for wanted in (0.90, 0.95, 0.97, 0.99):
        other = rejecting_threshold(scores, wanted)
        answered = sum(1 for s in rule_scores if s >= other) / len(rules) if rules else 0.0
        print(f"  {wanted:9.0%}  {other:9.3f}  {accuracy(asked, other):19.1%}  {answered:23.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
