"""Fixtures for the knowledge base: entry files written into a temporary folder.

``entry_data(id, questions)`` returns a valid entry as a dict; ``write_entry(folder, area,
data)`` writes it as ``<folder>/<area>/<id>.yml`` (or under another file name) and returns the
path; ``toy_config`` is the tuned settings without rejection lines, for small indexes built in
a test; ``real_knowledge`` loads the repository's own ``knowledge/`` with the tuned defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.knowledge import KnowledgeBase, KnowledgeConfig, load_knowledge_base

EntryFactory = Callable[..., dict[str, Any]]
EntryWriter = Callable[..., Path]


def toy_config(**changes: Any) -> KnowledgeConfig:
    """The tuned settings without the rejection lines, for indexes built in a test."""
    return KnowledgeConfig.model_validate({"rejection_weight": 0.0, **changes})


def make_entry(entry_id: str, questions: Sequence[str], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry_id,
        "title": "عنوان آزمایشی",
        "status": "approved",
        "tags": ["test"],
        "questions": list(questions),
        "answer": "پاسخ کوتاه آزمایشی است.",
        "more": "توضیح بیشتر.",
        "source": {
            "title": "دستور اداری آزمایشی",
            "clause": "بند ۶",
            "date": "1399-05-11",
            "url": "shared/sources/003_e12c6844a39e0f9e.txt",
        },
        "valid_from": "2020-08-01",
        "review_by": "2027-06-30",
        "uncertain": False,
    }
    data.update(changes)
    return data


def write(folder: Path, area: str, data: dict[str, Any] | str, name: str | None = None) -> Path:
    if name is None:
        assert isinstance(data, dict)
        name = f"{data['id']}.yml"
    path = folder / area / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def entry_data() -> EntryFactory:
    return make_entry


@pytest.fixture
def write_entry() -> EntryWriter:
    return write


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def real_knowledge() -> KnowledgeBase:
    return load_knowledge_base(KnowledgeConfig())
