"""The knowledge base on one database session: answering and feedback for the bot, editing and
the feedback list for the console's supervisors.

``KnowledgeService`` serves the bot: search (through the process's :class:`KnowledgeStore`),
an entry by id, and recording what people could not get answered or marked 👎 (masked).
``KnowledgeEditor`` serves the console: every entry with the edits over them, saving an edit,
approving, retiring, adding a question to an entry's variants, and the collected questions
grouped by similarity and ranked by count. Each change is audited and bumps the edits' counter
in the same transaction (see ``store.py`` for how that reaches every process).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_identifiers
from services.clock import Clock
from services.common import audit
from services.db.knowledge_models import KnowledgeEdit, KnowledgeFeedback
from services.errors import KnowledgeEntryInvalid, KnowledgeEntryNotFound
from services.knowledge.entries import Entry, KnowledgeBaseError, Status, parse_entry
from services.knowledge.index import Retrieval
from services.knowledge.store import KnowledgeStore, bump_version, edit_origin, merge, read_edits
from services.knowledge.text import Views

FeedbackKind = Literal["unanswered", "down", "up"]
# What the feedback list shows: the questions nobody answered and the answers marked 👎.
LISTED_KINDS: tuple[FeedbackKind, ...] = ("unanswered", "down")
# A question is stored at most this long (the bot classifies at most 1 000 characters).
MAX_QUESTION_CHARS = 1000


def _entry_data(entry: Entry) -> dict[str, Any]:
    return entry.model_dump(mode="json", exclude_none=True)


class KnowledgeService:
    """What the bot asks of the knowledge base during one update."""

    def __init__(self, session: AsyncSession, store: KnowledgeStore, clock: Clock) -> None:
        self.session = session
        self.store = store
        self.clock = clock

    async def search(self, question: str) -> Retrieval:
        """Retrieve the entries for ``question`` from the knowledge base served now."""
        base = await self.store.current(self.session)
        return base.search(question)

    async def served_entry(self, entry_id: str) -> Entry | None:
        """The approved entry of this id, or None (retired, a draft, or never existed)."""
        base = await self.store.current(self.session)
        return next((e for e in base.index.entries if e.id == entry_id), None)

    def record(self, kind: FeedbackKind, question: str, entry_id: str | None = None) -> None:
        """Collect a question for the console's list, national IDs and mobiles masked."""
        self.session.add(
            KnowledgeFeedback(
                created_at=self.clock.now(),
                kind=kind,
                entry_id=entry_id,
                question=mask_identifiers(question.strip())[:MAX_QUESTION_CHARS],
                handled=False,
            )
        )


@dataclass(frozen=True, slots=True)
class EditableEntry:
    """An entry as the console lists it: where it comes from now, and whether it was edited."""

    entry: Entry
    origin: str
    edited: bool


@dataclass(frozen=True, slots=True)
class FeedbackGroup:
    """Similar collected questions: how many, of which kinds, and the entry they come closest to."""

    question: str
    count: int
    kinds: Mapping[str, int]
    examples: tuple[str, ...]
    feedback_ids: tuple[int, ...]
    entry_ids: tuple[str, ...]
    suggested: str | None


def _vector(text: str) -> Counter[str]:
    # The retrieval's character n-grams (typos and half-spaces folded the same way).
    return Counter(Views(text).chars)


def _cosine(a: Counter[str], b: Counter[str], norm_a: float, norm_b: float) -> float:
    if not norm_a or not norm_b:
        return 0.0
    small, large = (a, b) if len(a) < len(b) else (b, a)
    return sum(count * large[gram] for gram, count in small.items()) / (norm_a * norm_b)


def group_questions(
    rows: Sequence[tuple[int, str, str, str | None]], similarity: float
) -> list[list[tuple[int, str, str, str | None]]]:
    """Group ``(id, question, kind, entry_id)`` rows whose questions are alike, largest first.

    Greedy: each row joins the first group whose first question it resembles by at least
    ``similarity`` (cosine of character n-gram counts), else starts a group. The list is a
    few hundred recent rows, so the quadratic worst case stays small.
    """
    groups: list[tuple[Counter[str], float, list[tuple[int, str, str, str | None]]]] = []
    for row in rows:
        vector = _vector(row[1])
        norm = math.sqrt(sum(c * c for c in vector.values()))
        for head, head_norm, members in groups:
            if _cosine(vector, head, norm, head_norm) >= similarity:
                members.append(row)
                break
        else:
            groups.append((vector, norm, [row]))
    ordered = [members for _, _, members in groups]
    ordered.sort(key=len, reverse=True)
    return ordered


class KnowledgeEditor:
    """The console's supervisors' work on the knowledge base, on one session."""

    def __init__(self, session: AsyncSession, store: KnowledgeStore, clock: Clock) -> None:
        self.session = session
        self.store = store
        self.clock = clock

    async def entries(self) -> list[EditableEntry]:
        """Every entry (drafts and retired ones too), edits over files, sorted by id."""
        edits = await read_edits(self.session)
        merged = merge(self.store.files.loaded, edits)
        edited = {row.entry_id for row in edits}
        listed = [EditableEntry(e, merged.origins[e.id], e.id in edited) for e in merged.entries]
        return sorted(listed, key=lambda item: item.entry.id)

    async def entry(self, entry_id: str) -> EditableEntry:
        """One entry; raises :class:`KnowledgeEntryNotFound`."""
        for item in await self.entries():
            if item.entry.id == entry_id:
                return item
        raise KnowledgeEntryNotFound(entry_id)

    async def save(self, actor: str, data: Mapping[str, Any]) -> Entry:
        """Validate and store a supervisor's version of an entry (a new id creates one).

        Raises :class:`KnowledgeEntryInvalid` naming every offending field.
        """
        entry_id = str(data.get("id", ""))
        try:
            entry = parse_entry(data, edit_origin(entry_id))
        except KnowledgeBaseError as error:
            fields = sorted({p.message.split(":", 1)[0] for p in error.problems})
            raise KnowledgeEntryInvalid(fields) from None
        before = next((i.entry for i in await self.entries() if i.entry.id == entry.id), None)
        new = _entry_data(entry)
        old = _entry_data(before) if before is not None else {}
        changed = sorted(key for key in new.keys() | old.keys() if new.get(key) != old.get(key))
        await self._store(actor, entry)
        audit(
            self.session,
            self.clock,
            actor=actor,
            action="kb_entry_created" if before is None else "kb_entry_edited",
            subject=entry.id,
            details={"fields": changed},
        )
        return entry

    async def set_status(self, actor: str, entry_id: str, status: Status) -> Entry:
        """Approve a draft, retire an entry (or bring it back); audited."""
        current = (await self.entry(entry_id)).entry
        if current.status == status:
            return current
        entry = current.model_copy(update={"status": status})
        await self._store(actor, entry)
        audit(
            self.session,
            self.clock,
            actor=actor,
            action=f"kb_entry_{status}",
            subject=entry_id,
            details={"from": current.status, "to": status},
        )
        return entry

    async def add_variant(
        self, actor: str, entry_id: str, question: str, feedback_ids: Sequence[int] = ()
    ) -> Entry:
        """Add a collected question to an entry's variants; its feedback rows are handled."""
        current = (await self.entry(entry_id)).entry
        text = " ".join(question.split())
        if not text:
            raise KnowledgeEntryInvalid(["questions"])
        if text not in current.questions:
            entry = current.model_copy(update={"questions": (*current.questions, text)})
            await self._store(actor, entry)
        else:
            entry = current
        if feedback_ids:
            await self.session.execute(
                update(KnowledgeFeedback)
                .where(KnowledgeFeedback.id.in_(list(feedback_ids)))
                .values(handled=True)
            )
        audit(
            self.session,
            self.clock,
            actor=actor,
            action="kb_variant_added",
            subject=entry_id,
            details={"feedback": len(feedback_ids)},
        )
        return entry

    async def dismiss(self, actor: str, feedback_ids: Sequence[int]) -> None:
        """Take collected questions off the list without adding them anywhere; audited."""
        await self.session.execute(
            update(KnowledgeFeedback)
            .where(KnowledgeFeedback.id.in_(list(feedback_ids)))
            .values(handled=True)
        )
        audit(
            self.session,
            self.clock,
            actor=actor,
            action="kb_feedback_dismissed",
            details={"feedback": len(feedback_ids)},
        )

    async def feedback_groups(self, limit: int = 500) -> list[FeedbackGroup]:
        """The recent unhandled questions, grouped by similarity, the largest groups first."""
        rows = (
            await self.session.execute(
                select(
                    KnowledgeFeedback.id,
                    KnowledgeFeedback.question,
                    KnowledgeFeedback.kind,
                    KnowledgeFeedback.entry_id,
                )
                .where(
                    KnowledgeFeedback.kind.in_(LISTED_KINDS),
                    KnowledgeFeedback.handled.is_(False),
                )
                .order_by(KnowledgeFeedback.id.desc())
                .limit(limit)
            )
        ).all()
        base = self.store.served
        groups = []
        similarity = self.store.config.feedback_similarity
        listed = [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
        for members in group_questions(listed, similarity):
            questions = Counter(m[1] for m in members)
            head = questions.most_common(1)[0][0]
            entry_ids = tuple(sorted({m[3] for m in members if m[3]}))
            best = base.search(head).best
            groups.append(
                FeedbackGroup(
                    question=head,
                    count=len(members),
                    kinds=Counter(m[2] for m in members),
                    examples=tuple(q for q, _ in questions.most_common(5)),
                    feedback_ids=tuple(m[0] for m in members),
                    entry_ids=entry_ids,
                    suggested=entry_ids[0] if entry_ids else (best.entry.id if best else None),
                )
            )
        return groups

    async def _store(self, actor: str, entry: Entry) -> None:
        row = await self.session.get(KnowledgeEdit, entry.id)
        data = _entry_data(entry)
        if row is None:
            self.session.add(
                KnowledgeEdit(
                    entry_id=entry.id,
                    data=data,
                    updated_at=self.clock.now(),
                    updated_by=actor,
                )
            )
        else:
            row.data = data
            row.updated_at = self.clock.now()
            row.updated_by = actor
        await bump_version(self.session)
        self.store.invalidate()
