"""The cross-validation that chooses the threshold and the margin."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.knowledge import (
    KnowledgeBaseError,
    KnowledgeConfig,
    load_rejections,
    parse_entry,
    read_out_of_scope,
)
from services.knowledge.config import OUT_OF_SCOPE_DIR, RULE_QUESTIONS, out_of_scope_files
from services.knowledge.tune import (
    Asked,
    accuracy,
    cross_validate,
    held_out_rejection,
    rejecting_threshold,
    utility,
)
from tests.knowledge.conftest import make_entry, toy_config


def test_the_threshold_rejects_the_required_share_and_no_more() -> None:
    scores = [i / 100 for i in range(100)]  # 0.00 … 0.99
    threshold = rejecting_threshold(scores, 0.97)
    assert sum(s < threshold for s in scores) == 97
    assert rejecting_threshold(scores, 1.0) > 0.99
    assert rejecting_threshold([], 0.97) == 0.0


def test_held_out_rejection_is_measured_on_negatives_not_used_for_the_threshold() -> None:
    scores = [i / 1000 for i in range(1000)]
    assert held_out_rejection(scores, 0.9, folds=5, seed=1) == pytest.approx(0.9, abs=0.02)


def write_rasa(path: Path, *lines: str, intent: str = "out_of_scope") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    examples = "".join(f"    - {line}\n" for line in lines)
    path.write_text(
        f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n{examples}', encoding="utf-8"
    )
    return path


def test_rejection_lines_are_the_out_of_scope_examples_of_rasa_files(tmp_path: Path) -> None:
    first = write_rasa(tmp_path / "out_of_scope.yml", "یارانه کی میاد", "هوا چطوره")
    greet = write_rasa(tmp_path / "smalltalk.yml", "سلام", intent="greet")
    second = write_rasa(tmp_path / "out_of_scope" / "general.yml", "پایتخت فرانسه", "هوا چطوره")
    assert read_out_of_scope([first, greet, second]) == [
        "یارانه کی میاد",
        "هوا چطوره",
        "پایتخت فرانسه",
        "هوا چطوره",
    ]
    assert load_rejections([first, second]) == ("یارانه کی میاد", "هوا چطوره", "پایتخت فرانسه")


def test_bad_rejection_files_are_errors_naming_them(tmp_path: Path) -> None:
    held_out = write_rasa(tmp_path / "test" / "out_of_domain.yml", "قیمت طلا")
    greet = write_rasa(tmp_path / "smalltalk.yml", "سلام", intent="greet")
    missing = tmp_path / "nowhere.yml"
    with pytest.raises(KnowledgeBaseError) as caught:
        load_rejections([held_out, greet, missing])
    messages = [str(p) for p in caught.value.problems]
    assert messages[0] == f"{held_out}: held-out test data is never read"
    assert messages[1] == f"{greet}: holds no out_of_scope example"
    assert messages[2].startswith(f"{missing}: cannot be read as out-of-scope lines")


def test_the_default_rejection_files_leave_out_the_tamin_rule_questions() -> None:
    names = [p.name for p in KnowledgeConfig().rejection_files]
    assert "tamin_rules.yml" not in names
    assert all("test" not in p.parts for p in KnowledgeConfig().rejection_files)


def test_the_default_rejection_files_are_every_out_of_scope_file_of_the_nlu() -> None:
    # The folder is read: the files written after the first list are rejection lines too.
    names = {p.name for p in KnowledgeConfig().rejection_files}
    folder = {p.name for p in OUT_OF_SCOPE_DIR.glob("*.yml")} - {RULE_QUESTIONS.name}
    assert names == folder | {"out_of_scope.yml"}
    assert {"general_more.yml", "hard_negatives_more.yml", "elderly.yml"} <= names


def test_a_new_out_of_scope_file_is_read_without_naming_it(tmp_path: Path) -> None:
    single = write_rasa(tmp_path / "out_of_scope.yml", "هوا چطوره")
    newer = write_rasa(tmp_path / "out_of_scope" / "zz_newer.yml", "قیمت طلا")
    write_rasa(tmp_path / "out_of_scope" / RULE_QUESTIONS.name, "مرخصی زایمان چند ماهه")
    write_rasa(tmp_path / "intents" / "greet.yml", "سلام", intent="greet")
    assert out_of_scope_files(tmp_path) == (single, newer)
    assert load_rejections(out_of_scope_files(tmp_path)) == ("هوا چطوره", "قیمت طلا")


def test_cross_validation_asks_every_variant_of_an_index_without_it() -> None:
    entries = [
        parse_entry(make_entry("a", ["عیدی بازنشستگان", "عیدی مستمری بگیران", "eydi"]), "a"),
        parse_entry(make_entry("b", ["کمک هزینه ازدواج", "هدیه ازدواج"]), "b"),
        parse_entry(make_entry("c", ["یکتاواژه"]), "c"),
    ]
    asked = cross_validate(entries, toy_config(), folds=3, seed=1)
    assert sorted(a.truth for a in asked) == ["a", "a", "a", "b", "b", "c"]
    # "c" has one variant: when it is held out, nothing of "c" is left to find it with.
    (lonely,) = [a for a in asked if a.truth == "c"]
    assert lonely.first != "c"


def test_accuracy_and_utility_count_what_the_user_would_get() -> None:
    asked = [
        Asked("a", "a", 0.9, "b", 0.2, 0.9),  # right, clear: +1
        Asked("a", "b", 0.8, "a", 0.75, 0.8),  # close: "did you mean" with the right one: +0.5
        Asked("a", "b", 0.9, "c", 0.1, 0.9),  # wrong, clear: -1
        Asked("a", "a", 0.9, "b", 0.1, 0.3),  # rejected (low confidence): not counted
    ]
    assert accuracy(asked, 0.5) == 0.25
    assert accuracy(asked, 0.0) == 0.5
    value, ambiguous = utility(asked, threshold=0.5, margin=0.1)
    assert value == pytest.approx((1 + 0.5 - 1) / 3)
    assert ambiguous == pytest.approx(1 / 3)
