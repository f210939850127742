"""The training and test data: shape, coverage, and the wall between training and test."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from nlu import INTENTS, OUT_OF_SCOPE, EntityExtractor
from nlu.entities import ENTITY_NAMES, RELATION_VALUES
from nlu.features import canonical_text
from nlu.settings import DEFAULT_DATA_DIR, DEFAULT_TEST_DIR
from nlu.training_data import TrainingData, iter_data_files, read_yaml_file
from persian import normalize

DOMAIN_INTENTS = INTENTS[:12]
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


def test_no_example_is_in_two_intents(training_data: TrainingData) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for example in training_data.examples:
        seen[canonical_text(example.text)].add(example.intent)
    clashes = {text: intents for text, intents in seen.items() if len(intents) > 1}
    assert not clashes


def test_no_test_line_is_in_training(training_data: TrainingData, test_data: TrainingData) -> None:
    train = {normalize(e.text) for e in training_data.examples}
    train_folded = {canonical_text(e.text) for e in training_data.examples}
    leaked = [e.text for e in test_data.examples if normalize(e.text) in train]
    assert not leaked
    # Stricter than the rule: not even after folding spaces, half-spaces and digits.
    folded = [e.text for e in test_data.examples if canonical_text(e.text) in train_folded]
    assert not folded


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
