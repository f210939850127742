"""The knowledge base in the console: supervisors edit, approve and retire entries (audited), the
edits reach another process's store without a restart, and the collected questions are grouped,
ranked and added to an entry's variants with one click.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console import texts
from services.agents import AgentRole
from services.clock import FixedClock
from services.db.knowledge_models import KnowledgeEdit, KnowledgeFeedback
from services.db.models import AuditLog
from services.knowledge import KnowledgeBase, KnowledgeConfig
from services.knowledge.service import KnowledgeService
from services.knowledge.store import KnowledgeStore
from tests.console.conftest import AgentFactory, Console, ConsoleFactory

FORGOT = "account-forgot-password"  # a draft in the repository's folder
DEADLINE = "voluntary-payment-deadline"


def bot_process(knowledge_files: KnowledgeBase) -> KnowledgeStore:
    """Another process's store (a bot worker), reading the edits' counter on every use."""
    return KnowledgeStore(knowledge_files, KnowledgeConfig(refresh_seconds=0.0))


async def supervisor(agent_factory: AgentFactory, console_factory: ConsoleFactory) -> Console:
    await agent_factory("boss", AgentRole.SUPERVISOR)
    return await console_factory("boss")


async def form_of(console: Console, entry_id: str) -> dict[str, str]:
    """The edit form's fields as the page fills them in."""
    page = await console.get(f"/knowledge/{entry_id}")
    assert page.status_code == 200
    fields = dict(re.findall(r'<input name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    for name in ("questions", "answer", "more"):
        match = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page.text, re.S)
        assert match is not None
        fields[name] = match.group(1)
    status = re.search(r'<option value="(\w+)" selected>', page.text)
    assert status is not None
    fields["status"] = status.group(1)
    if 'name="uncertain" value="1" checked' in page.text:
        fields["uncertain"] = "1"
    return {k: _unescape(v) for k, v in fields.items()}


def _unescape(value: str) -> str:
    return html.unescape(value)


async def actions(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(AuditLog.action, AuditLog.subject).order_by(AuditLog.id)
        )
        return [(a, s or "") for a, s in rows if a.startswith("kb_")]


async def test_the_knowledge_pages_are_for_supervisors(
    agent_factory: AgentFactory, console_factory: ConsoleFactory
) -> None:
    await agent_factory("sara")
    sara = await console_factory("sara")
    for url in ("/knowledge", f"/knowledge/{DEADLINE}", "/knowledge/feedback"):
        page = await sara.get(url)
        assert page.status_code == 403 and texts.SUPERVISORS_ONLY in page.text
    boss = await supervisor(agent_factory, console_factory)
    page = await boss.get("/knowledge")
    assert page.status_code == 200
    assert "تأییدشده: ۱۵۰ · پیش‌نویس: ۳ · بازنشسته: ۰" in page.text
    drafts = await boss.get("/knowledge?status=draft")
    assert drafts.text.count('data-entry="') == 3 and f'data-entry="{FORGOT}"' in drafts.text


async def test_an_edit_is_audited_and_served_by_another_process_without_a_restart(
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
    session_factory: async_sessionmaker[AsyncSession],
    knowledge_files: KnowledgeBase,
    clock: FixedClock,
) -> None:
    worker = bot_process(knowledge_files)
    async with session_factory() as session:
        before = await KnowledgeService(session, worker, clock).search("مهلت پرداخت بیمه اختیاری")
    assert before.best is not None and before.best.entry.id == DEADLINE
    boss = await supervisor(agent_factory, console_factory)
    form = await form_of(boss, DEADLINE)
    form["answer"] = "پاسخ ویرایش‌شده: مهلت پرداخت تا پایان ماه بعد است."
    form["questions"] += "\nاقساط بیمه خویش‌فرما کی سررسید میشه"
    saved = await boss.post("/knowledge/save", form)
    assert saved.status_code == 303 and saved.headers["location"] == f"/knowledge/{DEADLINE}"
    page = await boss.get(saved.headers["location"])
    assert texts.KB_SAVED in page.text and texts.KB_EDITED in page.text
    assert await actions(session_factory) == [("kb_entry_edited", DEADLINE)]
    async with session_factory() as session:
        service = KnowledgeService(session, worker, clock)
        after = await service.search("مهلت پرداخت بیمه اختیاری")
        added = await service.search("اقساط بیمه خویش‌فرما کی سررسید میشه")
        audit = await session.scalar(select(AuditLog.details).where(AuditLog.subject == DEADLINE))
    assert after.best is not None and after.best.entry.answer == form["answer"]
    assert added.best is not None and added.best.entry.id == DEADLINE
    assert audit == {"fields": ["answer", "questions"]}


async def test_an_invalid_edit_names_the_fields_and_stores_nothing(
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    boss = await supervisor(agent_factory, console_factory)
    form = await form_of(boss, DEADLINE)
    form["questions"] = "   "
    form["source.url"] = "ftp://example"
    form["review_by"] = "2010-01-01"
    response = await boss.post("/knowledge/save", form)
    assert response.status_code == 400
    for field in ("questions", "source.url"):
        assert texts.KB_FIELD_LABELS[field] in response.text
    async with session_factory() as session:
        assert (await session.scalars(select(KnowledgeEdit))).all() == []
    assert await actions(session_factory) == []


async def test_approving_a_draft_serves_it_and_retiring_stops_it(
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
    session_factory: async_sessionmaker[AsyncSession],
    knowledge_files: KnowledgeBase,
    clock: FixedClock,
) -> None:
    worker = bot_process(knowledge_files)
    boss = await supervisor(agent_factory, console_factory)

    async def served(entry_id: str) -> bool:
        async with session_factory() as session:
            entry = await KnowledgeService(session, worker, clock).served_entry(entry_id)
            return entry is not None

    assert not await served(FORGOT) and await served(DEADLINE)
    await boss.get(f"/knowledge/{FORGOT}")
    approved = await boss.post(f"/knowledge/{FORGOT}/status", {"status": "approved"})
    assert approved.status_code == 303
    await boss.get(f"/knowledge/{DEADLINE}")
    assert (await boss.post(f"/knowledge/{DEADLINE}/status", {"status": "retired"})).status_code
    assert await served(FORGOT) and not await served(DEADLINE)
    refused = await boss.post(f"/knowledge/{DEADLINE}/status", {"status": "published"})
    assert refused.status_code == 400
    assert await actions(session_factory) == [
        ("kb_entry_approved", FORGOT),
        ("kb_entry_retired", DEADLINE),
    ]


async def test_collected_questions_are_grouped_ranked_and_added_with_one_click(
    agent_factory: AgentFactory,
    console_factory: ConsoleFactory,
    session_factory: async_sessionmaker[AsyncSession],
    knowledge_store: KnowledgeStore,
    clock: FixedClock,
) -> None:
    async with session_factory() as session:
        service = KnowledgeService(session, knowledge_store, clock)
        for question in (
            "هزینه عینک رو تامین میده؟",
            "هزینه عینک را تامین میدهد",
            "هزینه‌ی عینک رو تامین میده",
        ):
            service.record("unanswered", question)
        service.record("down", "کد ملی 6508124226 مستمری کی واریز میشه", "pension-eidi")
        service.record("up", "سپاس", "pension-eidi")
        await session.commit()
    boss = await supervisor(agent_factory, console_factory)
    page = await boss.get("/knowledge/feedback")
    assert page.status_code == 200
    rows = page.text.split('<tr class="kb-group">')[1:]
    assert len(rows) == 2  # the 👍 is counted, not listed
    assert "<td>۳</td>" in rows[0] and "عینک" in rows[0]
    assert "<td>۱</td>" in rows[1] and "6508124226" not in page.text
    ids = rows[0].split('name="feedback_ids" value="')[1].split('"')[0]
    question = rows[0].split('name="question" value="')[1].split('"')[0]
    added = await boss.post(
        "/knowledge/feedback/variant",
        {"entry_id": "portal-medical-centres", "question": question, "feedback_ids": ids},
    )
    assert added.status_code == 303
    page = await boss.get("/knowledge/feedback")
    assert page.text.count('<tr class="kb-group">') == 1
    async with session_factory() as session:
        edit = await session.get(KnowledgeEdit, "portal-medical-centres")
        handled = (
            await session.scalars(
                select(KnowledgeFeedback.handled).where(KnowledgeFeedback.kind == "unanswered")
            )
        ).all()
    assert edit is not None and edit.data["questions"][-1] == _unescape(question)
    assert handled == [True, True, True]
    assert await actions(session_factory) == [("kb_variant_added", "portal-medical-centres")]
