"""Loading and validating the knowledge base's entry files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.knowledge import (
    KnowledgeBaseError,
    KnowledgeConfig,
    LoadedEntries,
    build_index,
    load_entries,
    load_knowledge_base,
    parse_entry,
)
from tests.knowledge.conftest import EntryFactory, EntryWriter, toy_config

QUESTIONS = ["مهلت پرداخت بیمه اختیاری چند روزه؟", "mohlat pardakht bime ekhtiari"]


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as caught:
        load_entries(folder)
    return [str(p) for p in caught.value.problems]


def test_a_valid_folder_loads_into_frozen_typed_entries(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "voluntary", entry_data("voluntary-deadline", QUESTIONS))
    loaded = load_entries(knowledge_dir)
    (entry,) = loaded.entries
    assert entry.id == "voluntary-deadline"
    assert entry.questions == tuple(QUESTIONS)
    assert entry.valid_from == dt.date(2020, 8, 1)
    assert entry.source.clause == "بند ۶"
    assert loaded.origins == {"voluntary-deadline": "knowledge/voluntary/voluntary-deadline.yml"}
    with pytest.raises(ValueError, match="frozen"):
        entry.answer = "چیز دیگر"  # type: ignore[misc]


def test_drafts_and_retired_entries_are_loaded_and_counted_but_not_served(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "a", entry_data("served", ["عیدی بازنشستگان کی واریز میشه"]))
    write_entry(knowledge_dir, "a", entry_data("drafted", ["کمک هزینه ازدواج"], status="draft"))
    write_entry(
        knowledge_dir, "b", entry_data("old-rule", ["تمدید دفترچه درمانی"], status="retired")
    )
    base = load_knowledge_base(toy_config(directory=knowledge_dir))
    assert base.counts() == {"draft": 1, "approved": 1, "retired": 1}
    assert [e.id for e in base.index.entries] == ["served"]
    for question in ("کمک هزینه ازدواج", "تمدید دفترچه درمانی"):
        assert [m.entry.id for m in base.search(question).matches] in ([], ["served"])
    best = base.search("عیدی بازنشستگان کی واریز میشه").best
    assert best is not None and best.entry.id == "served"


def test_an_index_is_rebuilt_from_edited_entries(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "a", entry_data("pension-eidi", ["عیدی بازنشستگان"]))
    write_entry(knowledge_dir, "a", entry_data("marriage", ["کمک هزینه ازدواج"], status="draft"))
    config = toy_config(directory=knowledge_dir)
    entries = load_entries(knowledge_dir).entries
    # What the console will do: approve the draft and add a variant, then index again.
    edited = [
        e.model_copy(update={"status": "approved", "questions": (*e.questions, "هدیه عروسی")})
        if e.id == "marriage"
        else e
        for e in entries
    ]
    best = build_index(edited, config).search("هدیه عروسی").best
    assert best is not None and best.entry.id == "marriage"


def test_a_knowledge_base_is_reindexed_over_edited_entries_with_its_rejection_lines(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter, tmp_path: Path
) -> None:
    write_entry(knowledge_dir, "a", entry_data("payslip", ["فیش حقوقی بازنشستگی"]))
    rejections = tmp_path / "out_of_scope.yml"
    rejections.write_text(
        "nlu:\n- intent: out_of_scope\n  examples: |\n    - فیش حقوقی بانک\n", encoding="utf-8"
    )
    config = toy_config(
        directory=knowledge_dir, rejection_files=(rejections,), rejection_weight=1.0, threshold=0.2
    )
    base = load_knowledge_base(config)
    assert base.rejections == ("فیش حقوقی بانک",)
    edited = [
        e.model_copy(update={"questions": (*e.questions, "حکم حقوق بازنشستگی")})
        for e in base.loaded.entries
    ]
    again = base.with_entries(LoadedEntries(tuple(edited), base.loaded.origins), config)
    assert again.rejections == base.rejections
    assert again.search("حکم حقوق بازنشستگی").confident
    assert not again.search("فیش حقوقی بانک").confident


def test_parse_entry_validates_an_entry_from_elsewhere(entry_data: EntryFactory) -> None:
    entry = parse_entry(entry_data("from-db", QUESTIONS), "database row 7")
    assert entry.id == "from-db"
    with pytest.raises(KnowledgeBaseError, match=r"database row 7: answer"):
        parse_entry(entry_data("from-db", QUESTIONS, answer="  "), "database row 7")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"status": "published"}, "status: Input should be 'draft', 'approved' or 'retired'"),
        ({"valid_from": "2020-13-01"}, "valid_from: Input should be a valid date"),
        ({"review_by": "soon"}, "review_by: Input should be a valid date"),
        ({"review_by": "2019-01-01"}, "review_by must come after valid_from"),
        ({"source": None}, "source: Input should be a valid dictionary"),
        ({"source": {}}, "source.title: Field required"),
        ({"questions": []}, "questions: Tuple should have at least 1 item"),
        ({"questions": ["  "]}, "questions.0: String should have at least 1 character"),
        ({"title": ""}, "title: String should have at least 1 character"),
        ({"uncertain": "maybe"}, "uncertain: Input should be a valid boolean"),
        ({"tags": "voluntary"}, "tags: Input should be a valid tuple"),
        ({"answers": "typo of a key"}, "answers: Extra inputs are not permitted"),
        ({"id": "Voluntary_Deadline"}, "id: String should match pattern"),
    ],
)
def test_each_bad_field_is_an_error_naming_the_file(
    knowledge_dir: Path,
    entry_data: EntryFactory,
    write_entry: EntryWriter,
    change: dict[str, object],
    expected: str,
) -> None:
    data = entry_data("voluntary-deadline", QUESTIONS)
    data.update(change)
    write_entry(knowledge_dir, "voluntary", data, name="voluntary-deadline.yml")
    problems = problems_of(knowledge_dir)
    assert any(
        p.startswith("knowledge/voluntary/voluntary-deadline.yml: ") and expected in p
        for p in problems
    ), problems


@pytest.mark.parametrize(
    ("source_change", "expected"),
    [
        ({"url": ""}, "source.url: String should have at least 1 character"),
        ({"url": "www.tamin.ir"}, "source.url: Value error, expected an http(s) address"),
        ({"clause": " "}, "source.clause: String should have at least 1 character"),
        ({"date": "1399-13-40"}, "source.date: Value error, no such Jalali date"),
        ({"date": "دیروز"}, "source.date: Value error, expected YYYY"),
        ({"date": "2020-02-30"}, "source.date: Value error, day is out of range"),
    ],
)
def test_a_missing_or_bad_source_is_an_error_naming_the_file(
    knowledge_dir: Path,
    entry_data: EntryFactory,
    write_entry: EntryWriter,
    source_change: dict[str, str],
    expected: str,
) -> None:
    data = entry_data("voluntary-deadline", QUESTIONS)
    data["source"].update(source_change)
    write_entry(knowledge_dir, "voluntary", data)
    problems = problems_of(knowledge_dir)
    assert any(p.startswith("knowledge/voluntary/voluntary-deadline.yml: ") for p in problems)
    assert any(expected in p for p in problems), problems


def test_a_missing_field_is_an_error_naming_the_file(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    data = entry_data("voluntary-deadline", QUESTIONS)
    del data["answer"], data["source"]
    write_entry(knowledge_dir, "voluntary", data)
    assert problems_of(knowledge_dir) == [
        "knowledge/voluntary/voluntary-deadline.yml: answer: Field required",
        "knowledge/voluntary/voluntary-deadline.yml: source: Field required",
    ]


def test_source_dates_as_written_are_accepted(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    for n, date in enumerate(["1399", "1399-05", "۱۳۹۹/۰۵/۱۱", "2024-03-19", "بدون تاریخ"]):
        data = entry_data(f"dated-{n}", QUESTIONS)
        data["source"]["date"] = date
        write_entry(knowledge_dir, "a", data)
    write_entry(knowledge_dir, "a", "id: unquoted-date\n", name="unquoted-date.yml")
    unquoted = entry_data("unquoted-date", QUESTIONS)
    unquoted["source"]["date"] = dt.date(2024, 3, 19)
    write_entry(knowledge_dir, "a", unquoted)
    dates = [e.source.date for e in load_entries(knowledge_dir).entries]
    assert dates == ["1399", "1399-05", "۱۳۹۹/۰۵/۱۱", "2024-03-19", "بدون تاریخ", "2024-03-19"]


def test_bad_yaml_is_an_error_naming_the_file_and_line(
    knowledge_dir: Path, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "booklet", "id: x\nquestions: [a, b\nanswer: c\n", name="x.yml")
    (problem,) = problems_of(knowledge_dir)
    assert problem.startswith("knowledge/booklet/x.yml: is not valid YAML: ")
    assert "line 3" in problem


@pytest.mark.parametrize(("text", "kind"), [("", "empty"), ("- a\n- b\n", "a list")])
def test_a_file_that_is_not_one_mapping_is_an_error(
    knowledge_dir: Path, write_entry: EntryWriter, text: str, kind: str
) -> None:
    write_entry(knowledge_dir, "booklet", text, name="x.yml")
    assert problems_of(knowledge_dir) == [
        f"knowledge/booklet/x.yml: must hold one mapping (it is {kind})"
    ]


def test_an_id_that_is_not_the_file_name_is_an_error(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(
        knowledge_dir, "booklet", entry_data("booklet-renewal", QUESTIONS), name="renew.yml"
    )
    assert problems_of(knowledge_dir) == [
        "knowledge/booklet/renew.yml: id 'booklet-renewal' is not the file name 'renew'"
    ]


def test_a_duplicate_id_is_an_error_naming_both_files(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "booklet", entry_data("renewal", QUESTIONS))
    write_entry(knowledge_dir, "eligibility", entry_data("renewal", QUESTIONS))
    assert problems_of(knowledge_dir) == [
        "knowledge/booklet/renewal.yml: duplicate id 'renewal' "
        "(also in knowledge/eligibility/renewal.yml)",
        "knowledge/eligibility/renewal.yml: duplicate id 'renewal' "
        "(also in knowledge/booklet/renewal.yml)",
    ]


def test_one_error_lists_every_problem_of_every_file(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "a", entry_data("good", QUESTIONS))
    write_entry(knowledge_dir, "a", entry_data("bad-status", QUESTIONS, status="ok"))
    write_entry(knowledge_dir, "b", "answer: [\n", name="broken.yml")
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(toy_config(directory=knowledge_dir))
    message = str(caught.value)
    assert message.startswith("2 problem(s) in the knowledge base:\n")
    assert "- knowledge/a/bad-status.yml: status: " in message
    assert "- knowledge/b/broken.yml: is not valid YAML" in message


def test_a_yaml_extension_is_an_error_not_an_entry_left_out(
    knowledge_dir: Path, entry_data: EntryFactory, write_entry: EntryWriter
) -> None:
    write_entry(knowledge_dir, "booklet", entry_data("renewal", QUESTIONS), name="renewal.yaml")
    assert problems_of(knowledge_dir) == [
        "knowledge/booklet/renewal.yaml: entries end in .yml, not .yaml"
    ]


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nowhere")
    assert problem.endswith("nowhere: is not a folder")


def test_the_real_knowledge_folder_loads_with_enough_approved_entries() -> None:
    # May fail while the content is still being written; the bar is 120 approved.
    base = load_knowledge_base(KnowledgeConfig())
    assert base.counts()["approved"] >= 120
    assert len(base.index.entries) == base.counts()["approved"]
