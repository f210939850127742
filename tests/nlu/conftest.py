"""Shared fixtures: the model is trained once per test session into a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nlu import EntityExtractor, NluModel, load_or_train
from nlu.settings import DEFAULT_DATA_DIR, DEFAULT_TEST_DIR, read_config_section
from nlu.training_data import TrainingData, load_training_data


@pytest.fixture(scope="session")
def nlu_section() -> dict[str, Any]:
    """The project's config.yml nlu: section, so the CLI (which reads it too) sees the same."""
    return read_config_section()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-model") / "model"


@pytest.fixture(scope="session")
def nlu_model(nlu_section: dict[str, Any], model_dir: Path) -> NluModel:
    return load_or_train(nlu_section, model_dir=model_dir)


@pytest.fixture(scope="session")
def training_data() -> TrainingData:
    return load_training_data([DEFAULT_DATA_DIR])


@pytest.fixture(scope="session")
def test_data() -> TrainingData:
    return load_training_data([DEFAULT_TEST_DIR], include_test=True)


@pytest.fixture(scope="session")
def extractor(training_data: TrainingData) -> EntityExtractor:
    return EntityExtractor.from_lookups(training_data.lookups, training_data.synonyms)
