"""Shared fixtures: the model of tests/conftest.py (trained at most once per session), the data.

``test_data`` is the held-out split only (the files directly in ``nlu/data/test/``): the blind
set is reported by ``python -m nlu evaluate``, and no test tunes or asserts anything on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nlu import EntityExtractor
from nlu.evaluate import HELD_OUT, find_test_sets, load_test_examples
from nlu.settings import DEFAULT_DATA_DIR, DEFAULT_TEST_DIR, read_config_section
from nlu.training_data import TrainingData, load_training_data


@pytest.fixture(scope="session")
def nlu_section() -> dict[str, Any]:
    """The project's config.yml nlu: section, so the CLI (which reads it too) sees the same."""
    return read_config_section()


@pytest.fixture(scope="session")
def model_dir(nlu_model_dir: Path) -> Path:
    return nlu_model_dir


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    return load_training_data([DEFAULT_DATA_DIR])


@pytest.fixture(scope="session")
def test_data() -> TrainingData:
    held_out = dict(find_test_sets(DEFAULT_TEST_DIR))[HELD_OUT]
    return TrainingData(examples=load_test_examples(held_out))


@pytest.fixture(scope="session")
def extractor(training_data: TrainingData) -> EntityExtractor:
    return EntityExtractor.from_lookups(training_data.lookups, training_data.synonyms)


def write_small_data(folder: Path, training_data: TrainingData, per_intent: int = 12) -> Path:
    """A few lines of every intent of the real data, plus its lookups: enough for the tests of
    training itself (retraining, the train and tune commands) to run in a second or two."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lookups.yml").write_bytes((DEFAULT_DATA_DIR / "lookups.yml").read_bytes())
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in sorted(training_data.by_intent().items()):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {e.text}" for e in examples[:per_intent] if "[" not in e.text]
    (folder / "small.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def small_data_dir(tmp_path_factory: pytest.TempPathFactory, training_data: TrainingData) -> Path:
    return write_small_data(tmp_path_factory.mktemp("small-data") / "data", training_data)
