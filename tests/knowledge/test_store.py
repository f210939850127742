"""The served store: edits over the folder, the version counter, when a process rebuilds, and
feedback recorded masked (on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import FixedClock
from services.db.knowledge_models import KnowledgeEdit, KnowledgeFeedback
from services.knowledge import KnowledgeBase, KnowledgeConfig, LoadedEntries, parse_entry
from services.knowledge.service import KnowledgeEditor, KnowledgeService
from services.knowledge.store import KnowledgeStore, merge, read_version
from tests.knowledge.conftest import make_entry

DEADLINE = "voluntary-payment-deadline"


def test_merge_replaces_adds_and_skips_what_no_longer_validates(clock: FixedClock) -> None:
    files = LoadedEntries(
        (parse_entry(make_entry("a-one", ["اول"]), "x/a-one.yml"),), {"a-one": "x/a-one.yml"}
    )
    now = clock.now()
    edits = [
        KnowledgeEdit(entry_id="a-one", data=make_entry("a-one", ["ویرایش"]), updated_at=now),
        KnowledgeEdit(entry_id="b-two", data=make_entry("b-two", ["تازه"]), updated_at=now),
        KnowledgeEdit(entry_id="c-bad", data={"id": "c-bad"}, updated_at=now),
    ]
    merged = merge(files, edits)
    assert [(e.id, e.questions) for e in merged.entries] == [
        ("a-one", ("ویرایش",)),
        ("b-two", ("تازه",)),
    ]
    assert merged.origins["a-one"] == "database:kb_entries/a-one"


async def test_a_process_sees_an_edit_after_its_refresh_interval_or_invalidation(
    session: AsyncSession, knowledge_files: KnowledgeBase, clock: FixedClock
) -> None:
    slow = KnowledgeStore(knowledge_files, KnowledgeConfig(refresh_seconds=3600))
    fast = KnowledgeStore(knowledge_files, KnowledgeConfig(refresh_seconds=0))
    assert (await slow.current(session)) is knowledge_files  # counter 0: the files as loaded
    editor = KnowledgeEditor(session, KnowledgeStore(knowledge_files, KnowledgeConfig()), clock)
    await editor.set_status("boss", DEADLINE, "retired")
    await session.commit()
    assert await read_version(session) == 1

    def served(base: KnowledgeBase) -> bool:
        return any(e.id == DEADLINE for e in base.index.entries)

    assert served(await slow.current(session))  # checked less than an hour ago
    assert not served(await fast.current(session))
    slow.invalidate()
    assert not served(await slow.current(session))
    await editor.set_status("boss", DEADLINE, "approved")
    await session.commit()
    assert await read_version(session) == 2
    assert served(await fast.current(session))


async def test_feedback_is_stored_masked(
    session: AsyncSession, knowledge_store: KnowledgeStore, clock: FixedClock
) -> None:
    service = KnowledgeService(session, knowledge_store, clock)
    service.record("unanswered", "کد ملیم ۶۵۰۸۱۲۴۲۲۶ و موبایلم 09121234567 هست، یارانه کی میاد؟")
    await session.commit()
    stored = await session.scalar(select(KnowledgeFeedback.question))
    assert stored is not None
    assert "6508124226" not in stored and "۶۵۰۸۱۲۴۲۲۶" not in stored
    assert "09121234567" not in stored and "یارانه کی میاد" in stored
