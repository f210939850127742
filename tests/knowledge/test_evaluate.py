"""The blind evaluation: its counting on a toy index, and the issue's bars on the blind set.

The blind set (``blind_questions.yml``) is only ever measured, never tuned on; this test keeps
the README's figures from slipping unnoticed when entries change.
"""

from __future__ import annotations

from pathlib import Path

from services.knowledge import KnowledgeBase, LoadedEntries, build_index, parse_entry
from services.knowledge.evaluate import (
    BLIND_SET,
    BlindQuestion,
    evaluate,
    format_report,
    read_blind_set,
)
from tests.knowledge.conftest import make_entry, toy_config


def test_counts_by_style_on_a_toy_index() -> None:
    entries = (
        parse_entry(make_entry("voluntary-deadline", ["مهلت پرداخت بیمه اختیاری"]), "a"),
        parse_entry(make_entry("booklet-renewal", ["تمدید دفترچه درمانی"]), "b"),
    )
    config = toy_config(threshold=0.3)
    base = KnowledgeBase(LoadedEntries(entries, {}), (), build_index(entries, config))
    questions = [
        BlindQuestion("مهلت پرداخت بیمه اختیاری چقدره", "voluntary-deadline", "colloquial"),
        BlindQuestion("dafterche tamdid", "booklet-renewal", "finglish"),
        BlindQuestion("تمدید دفترچه", "voluntary-deadline", "short"),
        BlindQuestion("قیمت دلار امروز", None, "general"),
    ]
    report = evaluate(base, questions)
    total = report.overall
    assert (total.asked, total.first, total.negatives, total.rejected) == (3, 2, 1, 1)
    assert report.tallies["short"].first == 0
    assert report.tallies["short"].misses == [
        ("تمدید دفترچه", "voluntary-deadline", "booklet-renewal")
    ]
    assert "NOT met" in format_report(report)  # 2 of 3 first


def test_the_blind_set_meets_the_issue_bars(real_knowledge: KnowledgeBase) -> None:
    questions = read_blind_set(BLIND_SET)
    assert Path(BLIND_SET).name == "blind_questions.yml" and len(questions) >= 400
    report = evaluate(real_knowledge, questions)
    assert report.unknown == ()
    assert report.first_rate >= 0.90
    assert report.rejected_rate >= 0.97
