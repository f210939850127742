"""The queue (queued chats, oldest first), the agent's own chats, and all chats for supervisors."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from console.deps import (
    CatalogueDep,
    ClockDep,
    CurrentAgent,
    SessionDep,
    SettingsDep,
    Supervisor,
    ViewsDep,
)
from console.rendering import render
from services.enums import ConversationStatus
from services.handoff.counts import Counts

router = APIRouter()


@router.get("/")
async def home(agent: CurrentAgent) -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
async def queue_page(request: Request, agent: CurrentAgent, views: ViewsDep) -> Response:
    return render(
        request,
        "queue.html",
        {"queued": await views.queue(), "mine": await views.mine(agent)},
    )


@router.get("/queue/rows")
async def queue_rows(request: Request, agent: CurrentAgent, views: ViewsDep) -> Response:
    """The queue's table body, fetched by the page every few seconds."""
    return render(request, "_queue_rows.html", {"queued": await views.queue()})


@router.get("/counts")
async def counts(
    agent: CurrentAgent, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> JSONResponse:
    """What waits for this agent (menu badges, tab title, the new-chat chime); polled."""
    found = await Counts(session, settings, clock).for_agent(agent)
    return JSONResponse(asdict(found))


@router.get("/mine")
async def mine_page(request: Request, agent: CurrentAgent, views: ViewsDep) -> Response:
    return render(
        request,
        "mine.html",
        {"mine": await views.mine(agent), "history": await views.history(agent)},
    )


@router.get("/conversations")
async def all_page(
    request: Request,
    agent: Supervisor,
    views: ViewsDep,
    catalogue: CatalogueDep,
    status: str | None = None,
    label: int | None = None,
) -> Response:
    chosen = ConversationStatus(status) if status in set(ConversationStatus) else None
    return render(
        request,
        "all.html",
        {
            "conversations": await views.all_conversations(agent, status=chosen, label_id=label),
            "labels": await catalogue.labels(),
            "status": chosen.value if chosen else "",
            "label": label,
        },
    )
