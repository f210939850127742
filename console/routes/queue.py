"""The queue (pending chats, oldest first), the agent's own chats, and all chats for supervisors."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console.deps import CurrentAgent, HandoffDep, Supervisor
from console.rendering import render
from services.handoff import ConversationStatus

router = APIRouter()


@router.get("/")
async def home(agent: CurrentAgent) -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
async def queue_page(request: Request, agent: CurrentAgent, handoff: HandoffDep) -> Response:
    return render(
        request,
        "queue.html",
        {"pending": await handoff.queue(), "mine": await handoff.mine(agent)},
    )


@router.get("/queue/rows")
async def queue_rows(request: Request, agent: CurrentAgent, handoff: HandoffDep) -> Response:
    """The queue's table body, fetched by the page every few seconds."""
    return render(request, "_queue_rows.html", {"pending": await handoff.queue()})


@router.get("/mine")
async def mine_page(request: Request, agent: CurrentAgent, handoff: HandoffDep) -> Response:
    return render(
        request,
        "mine.html",
        {"mine": await handoff.mine(agent), "history": await handoff.history(agent)},
    )


@router.get("/conversations")
async def all_page(
    request: Request,
    agent: Supervisor,
    handoff: HandoffDep,
    status: str | None = None,
    label: int | None = None,
) -> Response:
    chosen = ConversationStatus(status) if status in set(ConversationStatus) else None
    return render(
        request,
        "all.html",
        {
            "conversations": await handoff.all_conversations(agent, status=chosen, label_id=label),
            "labels": await handoff.labels(),
            "status": chosen.value if chosen else "",
            "label": label,
        },
    )
