"""The training and test data: shape, coverage, and the wall between training and test."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import yaml

from nlu import INTENTS, OUT_OF_SCOPE, EntityExtractor
from nlu.entities import ENTITY_NAMES, RELATION_VALUES
from nlu.lint import DOMAIN_INTENTS
from nlu.settings import DEFAULT_DATA_DIR, DEFAULT_TEST_DIR
from nlu.training_data import TrainingData, iter_data_files, read_yaml_file

# The blind set's files too: their format is checked, their lines never looked at here.
ALL_FILES = sorted(DEFAULT_DATA_DIR.rglob("*.yml"))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(DEFAULT_DATA_DIR)))
def test_every_file_is_rasa_nlu_yaml(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["version"] == "3.1"
    assert isinstance(raw["nlu"], list) and raw["nlu"]
    for block in raw["nlu"]:
        kinds = {"intent", "synonym", "lookup", "regex"} & set(block)
        assert len(kinds) == 1, block
        assert isinstance(block["examples"], str)
        assert all(line.startswith("- ") for line in block["examples"].strip().splitlines())
        if "intent" in block:
            assert block["intent"] in INTENTS
    with caplog.at_level(logging.WARNING, logger="nlu.training_data"):
        read_yaml_file(path)
    assert not caplog.records, "the reader skipped something"


def test_reader_warns_with_file_and_intent_and_skips_bad_blocks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - سلام\n'
        "- intent: thanks\n  examples: [not, a, block]\n"
        '- intent: help\n  examples: |\n    - [x]{"value": "no entity"}\n'
        "- nonsense: 1\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="nlu.training_data"):
        data = read_yaml_file(bad)
    assert [e.text for e in data.examples] == ["سلام"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("bad.yml" in m and "'thanks'" in m for m in messages)
    assert any("bad.yml" in m and "'help'" in m for m in messages)
    assert any("bad.yml" in m and "block 4" in m for m in messages)


def test_annotations_are_parsed_into_offsets() -> None:
    from nlu.training_data import parse_annotated

    example = parse_annotated(
        'بیمه [پسرم](relation) با [۰۹۱۲]{"entity": "mobile", "value": "0912"}', {"پسرم": "son"}
    )
    assert example.text == "بیمه پسرم با ۰۹۱۲"
    assert [(a.entity, a.value, example.text[a.start : a.end]) for a in example.entities] == [
        ("relation", "son", "پسرم"),
        ("mobile", "0912", "۰۹۱۲"),
    ]


def test_every_intent_is_trained_and_the_domain_ones_have_forty_examples(
    training_data: TrainingData,
) -> None:
    counts = {intent: len(items) for intent, items in training_data.by_intent().items()}
    assert set(counts) == set(INTENTS)
    for intent in DOMAIN_INTENTS:
        assert counts[intent] >= 40, intent
    assert counts[OUT_OF_SCOPE] >= 300


# Duplicates across intents and training lines equal to a test line: test_lint.py, which runs
# the data linter (python -m nlu lint) on the project data.


def test_test_split_is_separate_and_large_enough(test_data: TrainingData) -> None:
    files = set(iter_data_files([DEFAULT_DATA_DIR]))
    assert files and not files & set(DEFAULT_TEST_DIR.iterdir()), "training must not see test/"
    by_intent = test_data.by_intent()
    assert set(by_intent) == set(INTENTS)
    ood = read_yaml_file(DEFAULT_TEST_DIR / "out_of_domain.yml").examples
    assert len(ood) >= 300
    assert {e.intent for e in ood} == {OUT_OF_SCOPE}


def test_entity_test_set_covers_every_entity_script_and_refusal() -> None:
    examples = read_yaml_file(DEFAULT_TEST_DIR / "entities.yml").examples
    annotated = [(e.text[a.start : a.end], a.entity) for e in examples for a in e.entities]
    assert {entity for _, entity in annotated} == set(ENTITY_NAMES)
    scripts = {
        "ascii": re.compile("[0-9]"),
        "persian": re.compile("[۰-۹]"),
        "arabic": re.compile("[٠-٩]"),
    }
    for entity in ("national_id", "mobile", "ticket_id", "date"):
        for name, pattern in scripts.items():
            assert any(e == entity and pattern.search(t) for t, e in annotated), (entity, name)
    # Lines with digits but no entity: the numbers that must not be extracted.
    refusals = [e for e in examples if re.search(r"[0-9۰-۹٠-٩]{4}", e.text) and not e.entities]
    assert len(refusals) >= 30


def test_training_annotations_agree_with_the_extractor(
    training_data: TrainingData, extractor: EntityExtractor
) -> None:
    for example in training_data.examples:
        extracted = {(e.entity, e.start, e.end) for e in extractor.extract(example.text)}
        for annotation in example.entities:
            assert (annotation.entity, annotation.start, annotation.end) in extracted, example
            if annotation.entity == "relation":
                assert annotation.value in RELATION_VALUES, example


def test_relation_vocabulary_comes_from_lookups(training_data: TrainingData) -> None:
    forms = training_data.lookups["relation"]
    assert len(forms) == len(set(forms))
    assert {training_data.synonyms.get(f, f) for f in forms} == set(RELATION_VALUES)


def test_training_never_reads_a_test_folder_at_any_depth(tmp_path: Path) -> None:
    block = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - سلام\n'
    for rel in ("a.yml", "test/b.yml", "x/test/c.yml", "test/blind/d.yml", "x/tests/e.yml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(block, encoding="utf-8")
    found = {p.relative_to(tmp_path).as_posix() for p in iter_data_files([tmp_path])}
    assert found == {"a.yml", "x/tests/e.yml"}
    every = {
        p.relative_to(tmp_path).as_posix() for p in iter_data_files([tmp_path], include_test=True)
    }
    assert len(every) == 5
    # Named directly, a test file or folder inside the project is still refused for training.
    assert not list(iter_data_files([DEFAULT_TEST_DIR]))
    assert not list(iter_data_files([DEFAULT_TEST_DIR / "intents.yml"]))


def test_style_metadata_of_blocks_and_examples_is_read(tmp_path: Path) -> None:
    path = tmp_path / "styled.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: check_eligibility\n  metadata:\n    style: finglish\n  examples: |\n"
        "    - bimam faale?\n    - bime daram?\n"
        "- intent: greet\n  examples: |\n    - سلام\n"
        "- intent: thanks\n  metadata:\n    style: short\n  examples:\n"
        "  - text: |\n      ممنون\n"
        "  - text: |\n      merci\n    metadata:\n      style: finglish\n",
        encoding="utf-8",
    )
    data = read_yaml_file(path)
    assert [(e.text, e.intent, e.style) for e in data.examples] == [
        ("bimam faale?", "check_eligibility", "finglish"),
        ("bime daram?", "check_eligibility", "finglish"),
        ("سلام", "greet", ""),
        ("ممنون", "thanks", "short"),
        ("merci", "thanks", "finglish"),
    ]


def test_every_intent_has_elderly_style_lines_and_so_does_out_of_scope(
    training_data: TrainingData,
) -> None:
    # Issue 15 asks every style; the elderly one (pensioners, titles and blessings) is tagged
    # `style: elderly` so that `nlu tune` reports it: ~25 per domain intent, ~8 per small talk.
    elderly: dict[str, int] = {}
    for example in training_data.examples:
        if example.style == "elderly":
            elderly[example.intent] = elderly.get(example.intent, 0) + 1
    for intent in INTENTS:
        if intent == OUT_OF_SCOPE:
            continue
        assert elderly.get(intent, 0) >= (25 if intent in DOMAIN_INTENTS else 7), intent
    assert elderly.get(OUT_OF_SCOPE, 0) >= 100
