"""Supervisors' knowledge base: the entries (edit, approve, retire) and the collected questions.

Every change goes through ``KnowledgeEditor`` (audited, stored in the database over the folder's
version of the entry) and reaches the bot's workers within the knowledge section's
``refresh_seconds`` (see ``services/knowledge/store.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import KnowledgeEditorDep, Supervisor
from console.rendering import flash, render
from services.errors import KnowledgeEntryInvalid
from services.knowledge.entries import STATUSES, Entry, Status

router = APIRouter(prefix="/knowledge")

_TAG_SEPARATORS = re.compile(r"[,،\n]")
_IDS = re.compile(r"^\d+(?:,\d+)*$")
_STATUS: dict[str, Status] = {status: status for status in STATUSES}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in _TAG_SEPARATORS.split(text) if tag.strip()]


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",")] if _IDS.match(text) else []


def _form_of(entry: Entry | None) -> dict[str, Any]:
    """The edit form's values for an entry (empty for a new one)."""
    if entry is None:
        return {"status": "draft", "uncertain": False, "questions": "", "tags": ""}
    return {
        "id": entry.id,
        "title": entry.title,
        "status": entry.status,
        "tags": "، ".join(entry.tags),
        "questions": "\n".join(entry.questions),
        "answer": entry.answer,
        "more": entry.more or "",
        "source.title": entry.source.title,
        "source.clause": entry.source.clause,
        "source.date": entry.source.date,
        "source.url": entry.source.url,
        "valid_from": entry.valid_from.isoformat(),
        "review_by": entry.review_by.isoformat(),
        "uncertain": entry.uncertain,
    }


@router.get("")
async def entries_page(
    request: Request,
    agent: Supervisor,
    editor: KnowledgeEditorDep,
    status: str = "",
    q: str = "",
) -> Response:
    listed = await editor.entries()
    counts = {s: sum(1 for i in listed if i.entry.status == s) for s in STATUSES}
    needle = q.strip().lower()
    shown = [
        item
        for item in listed
        if (not status or item.entry.status == status)
        and (not needle or needle in item.entry.id or needle in item.entry.title.lower())
    ]
    return render(
        request,
        "knowledge.html",
        {"entries": shown, "counts": counts, "status": status, "q": q, "statuses": STATUSES},
    )


@router.get("/feedback")
async def feedback_page(
    request: Request, agent: Supervisor, editor: KnowledgeEditorDep
) -> Response:
    groups = await editor.feedback_groups()
    ids = [item.entry.id for item in await editor.entries() if item.entry.status != "retired"]
    return render(request, "knowledge_feedback.html", {"groups": groups, "entry_ids": ids})


@router.post("/feedback/variant")
async def add_variant(
    request: Request,
    agent: Supervisor,
    editor: KnowledgeEditorDep,
    entry_id: Annotated[str, Form(max_length=64)],
    question: Annotated[str, Form(max_length=1000)],
    feedback_ids: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    await editor.add_variant(agent.actor, entry_id, question, _ids(feedback_ids))
    flash(request, texts.KB_VARIANT_ADDED.format(id=entry_id))
    return RedirectResponse("/knowledge/feedback", status_code=303)


@router.post("/feedback/dismiss")
async def dismiss(
    request: Request,
    agent: Supervisor,
    editor: KnowledgeEditorDep,
    feedback_ids: Annotated[str, Form(max_length=20_000)],
) -> Response:
    await editor.dismiss(agent.actor, _ids(feedback_ids))
    flash(request, texts.KB_DISMISSED)
    return RedirectResponse("/knowledge/feedback", status_code=303)


@router.get("/new")
async def new_entry(request: Request, agent: Supervisor, question: str = "") -> Response:
    form = _form_of(None)
    form["questions"] = question
    return render(
        request, "knowledge_entry.html", {"form": form, "new": True, "error": "", "item": None}
    )


@router.get("/{entry_id}")
async def entry_page(
    request: Request, entry_id: str, agent: Supervisor, editor: KnowledgeEditorDep
) -> Response:
    item = await editor.entry(entry_id)
    return render(
        request,
        "knowledge_entry.html",
        {"form": _form_of(item.entry), "new": False, "error": "", "item": item},
    )


@router.post("/save")
async def save_entry(
    request: Request,
    agent: Supervisor,
    editor: KnowledgeEditorDep,
    entry_id: Annotated[str, Form(alias="id", max_length=64)],
    title: Annotated[str, Form(max_length=500)],
    status: Annotated[str, Form(max_length=16)],
    questions: Annotated[str, Form(max_length=50_000)],
    answer: Annotated[str, Form(max_length=5_000)],
    source_title: Annotated[str, Form(alias="source.title", max_length=500)],
    source_clause: Annotated[str, Form(alias="source.clause", max_length=500)],
    source_date: Annotated[str, Form(alias="source.date", max_length=32)],
    source_url: Annotated[str, Form(alias="source.url", max_length=1000)],
    valid_from: Annotated[str, Form(max_length=32)],
    review_by: Annotated[str, Form(max_length=32)],
    tags: Annotated[str, Form(max_length=2_000)] = "",
    more: Annotated[str, Form(max_length=20_000)] = "",
    uncertain: Annotated[str, Form(max_length=8)] = "",
    new: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    data: dict[str, Any] = {
        "id": entry_id.strip(),
        "title": title,
        "status": status,
        "tags": _tags(tags),
        "questions": _lines(questions),
        "answer": answer.strip(),
        "source": {
            "title": source_title,
            "clause": source_clause,
            "date": source_date.strip(),
            "url": source_url.strip(),
        },
        "valid_from": valid_from.strip(),
        "review_by": review_by.strip(),
        "uncertain": bool(uncertain),
    }
    if more.strip():
        data["more"] = more.strip()
    try:
        entry = await editor.save(agent.actor, data)
    except KnowledgeEntryInvalid as error:
        form = {
            **{k: v for k, v in data.items() if k != "source"},
            **{f"source.{k}": v for k, v in data["source"].items()},
            "tags": tags,
            "questions": questions,
            "more": more,
        }
        labels = [texts.KB_FIELD_LABELS.get(f, f) for f in error.fields]
        return render(
            request,
            "knowledge_entry.html",
            {
                "form": form,
                "new": bool(new),
                "item": None,
                "error": texts.KB_INVALID.format(fields="، ".join(labels)),
            },
            status_code=400,
        )
    flash(request, texts.KB_SAVED)
    return RedirectResponse(f"/knowledge/{entry.id}", status_code=303)


@router.post("/{entry_id}/status")
async def set_status(
    request: Request,
    entry_id: str,
    agent: Supervisor,
    editor: KnowledgeEditorDep,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    chosen = _STATUS.get(status)
    if chosen is None:
        raise KnowledgeEntryInvalid(["status"])
    await editor.set_status(agent.actor, entry_id, chosen)
    flash(request, texts.KB_STATUS_CHANGED.format(status=texts.KB_STATUSES[status]))
    return RedirectResponse(f"/knowledge/{entry_id}", status_code=303)
