"""The knowledge base of Tamin's rules: sourced entries, loaded and validated at start, searched.

``load_knowledge_base(config)`` reads ``knowledge/<area>/<id>.yml`` and the lines known not to
be the knowledge base's (``rejections.py``), refuses them with one :class:`KnowledgeBaseError`
listing every problem, and indexes the approved entries;
``KnowledgeBase.search(question)`` returns the best entries with their scores and whether the
answer is confident or ambiguous. ``build_index(entries, config, rejections)`` indexes any list
of entries, for entries that come from elsewhere than the folder (``KnowledgeBase.with_entries``).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.knowledge.config import KnowledgeConfig
from services.knowledge.entries import (
    STATUSES,
    Entry,
    KnowledgeBaseError,
    LoadedEntries,
    Problem,
    Source,
    Status,
    load_entries,
    parse_entry,
)
from services.knowledge.index import KnowledgeIndex, Match, Retrieval, build_index
from services.knowledge.rejections import load_rejections, read_out_of_scope


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Every loaded entry (for counts and editing), the rejection lines, the index of both."""

    loaded: LoadedEntries
    rejections: tuple[str, ...]
    index: KnowledgeIndex

    def search(self, question: str) -> Retrieval:
        """Find the served entries that answer ``question`` (see :class:`Retrieval`)."""
        return self.index.search(question)

    def counts(self) -> dict[Status, int]:
        """How many entries there are of each status, served or not."""
        return self.loaded.counts()

    def with_entries(self, loaded: LoadedEntries, config: KnowledgeConfig) -> KnowledgeBase:
        """The same knowledge base over other entries (edited ones), indexed afresh."""
        return KnowledgeBase(
            loaded, self.rejections, build_index(loaded.entries, config, self.rejections)
        )


def load_knowledge_base(config: KnowledgeConfig) -> KnowledgeBase:
    """Load, validate and index the entries in ``config.directory`` and the rejection lines.

    Raises :class:`KnowledgeBaseError` listing every problem, each naming its file.
    """
    problems: list[Problem] = []
    loaded = LoadedEntries((), {})
    rejections: tuple[str, ...] = ()
    try:
        loaded = load_entries(config.directory)
    except KnowledgeBaseError as error:
        problems.extend(error.problems)
    if config.rejection_weight > 0:
        try:
            rejections = load_rejections(config.rejection_files)
        except KnowledgeBaseError as error:
            problems.extend(error.problems)
    if problems:
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(loaded, rejections, build_index(loaded.entries, config, rejections))


__all__ = [
    "STATUSES",
    "Entry",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "KnowledgeConfig",
    "KnowledgeIndex",
    "LoadedEntries",
    "Match",
    "Problem",
    "Retrieval",
    "Source",
    "Status",
    "build_index",
    "load_entries",
    "load_knowledge_base",
    "load_rejections",
    "parse_entry",
    "read_out_of_scope",
]
