"""The served knowledge base: the folder's entries with the console's edits over them.

``KnowledgeStore`` is process-wide (one per bot or console process). It is built at start from
the folder (an invalid folder stops the start with :class:`KnowledgeBaseError`, naming each
file) and holds the knowledge base it serves now.

How a process's cache is invalidated: every edit in the console bumps the one counter of
``kb_version`` in the edit's own transaction. ``KnowledgeStore.current`` reads that counter at
most once every ``refresh_seconds`` per process (a primary-key read, on the session the update
already has); when it differs from the counter the served index was built from, the process
reads every edited row, lays them over the folder's entries (an edit replaces the file of the
same id; a new id is added) and rebuilds the index off the event loop, then swaps it in. So an
edit reaches every worker, whatever their number, within ``refresh_seconds`` and without a
restart; between two checks a process serves its last index and costs nothing. The process that
made the edit calls :meth:`KnowledgeStore.invalidate` to see it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common import insert_unless_taken
from services.db.knowledge_models import KnowledgeEdit, KnowledgeVersion
from services.knowledge import KnowledgeBase, load_knowledge_base
from services.knowledge.config import KnowledgeConfig
from services.knowledge.entries import (
    Entry,
    KnowledgeBaseError,
    LoadedEntries,
    parse_entry,
)

logger = logging.getLogger(__name__)

VERSION_ROW = 1


def edit_origin(entry_id: str) -> str:
    """Where an edited entry comes from, as problems and the console name it."""
    return f"database:kb_entries/{entry_id}"


async def read_version(session: AsyncSession) -> int:
    """The edits' counter (0 before the first edit)."""
    version = await session.scalar(
        select(KnowledgeVersion.version).where(KnowledgeVersion.id == VERSION_ROW)
    )
    return int(version or 0)


async def bump_version(session: AsyncSession) -> None:
    """Count one more edit, in the caller's transaction (so the edit and its count commit together)."""
    await insert_unless_taken(session, KnowledgeVersion, {"id": VERSION_ROW, "version": 0})
    await session.execute(
        update(KnowledgeVersion)
        .where(KnowledgeVersion.id == VERSION_ROW)
        .values(version=KnowledgeVersion.version + 1)
    )


async def read_edits(session: AsyncSession) -> list[KnowledgeEdit]:
    """Every edited entry, by id."""
    rows = await session.scalars(select(KnowledgeEdit).order_by(KnowledgeEdit.entry_id))
    return list(rows)


def merge(files: LoadedEntries, edits: Sequence[KnowledgeEdit]) -> LoadedEntries:
    """The folder's entries with the edits over them (an edit that no longer validates is skipped)."""
    by_id: dict[str, Entry] = {e.id: e for e in files.entries}
    origins = dict(files.origins)
    for row in edits:
        origin = edit_origin(row.entry_id)
        try:
            entry = parse_entry(row.data, origin)
        except KnowledgeBaseError as error:
            # Saved edits were validated; a schema change since is logged, the file kept.
            logger.error("edited knowledge entry skipped: %s", error)
            continue
        by_id[entry.id] = entry
        origins[entry.id] = origin
    return LoadedEntries(tuple(by_id.values()), origins)


class KnowledgeStore:
    """The knowledge base one process serves, rebuilt when the console's edits change."""

    def __init__(self, files: KnowledgeBase, config: KnowledgeConfig) -> None:
        self.files = files
        self.config = config
        self._served = files
        self._version = 0
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def load(cls, config: KnowledgeConfig) -> KnowledgeStore:
        """Load and validate the folder; raises :class:`KnowledgeBaseError` naming each file."""
        return cls(load_knowledge_base(config), config)

    @property
    def served(self) -> KnowledgeBase:
        """The knowledge base as of the last check (no database read)."""
        return self._served

    def invalidate(self) -> None:
        """Check the counter at the next :meth:`current` (after this process's own edit)."""
        self._checked_at = None

    async def current(self, session: AsyncSession) -> KnowledgeBase:
        """The knowledge base to serve now: the counter is read at most every refresh_seconds."""
        if self._fresh():
            return self._served
        async with self._lock:
            if self._fresh():  # another task checked while this one waited
                return self._served
            version = await read_version(session)
            if version != self._version:
                loaded = merge(self.files.loaded, await read_edits(session))
                # Some 0.5 s of CPU for 150 entries: off the event loop, the old index serves.
                self._served = await asyncio.to_thread(
                    self.files.with_entries, loaded, self.config
                )
                logger.info("knowledge base rebuilt at edit version %d", version)
                self._version = version
            self._checked_at = time.monotonic()
        return self._served

    def _fresh(self) -> bool:
        return (
            self._checked_at is not None
            and time.monotonic() - self._checked_at < self.config.refresh_seconds
        )
