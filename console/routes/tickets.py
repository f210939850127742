"""1420 tickets: filtered list with overdue ones highlighted, a ticket's page, answer, close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import ClockDep, CurrentAgent, TicketDeskDep
from console.rendering import flash, render
from services.enums import TicketCategory, TicketStatus
from services.handoff import TicketFilters

router = APIRouter(prefix="/tickets")

DUE_FILTERS = ("overdue", "today", "week")


@router.get("")
async def tickets_page(
    request: Request,
    agent: CurrentAgent,
    desk: TicketDeskDep,
    clock: ClockDep,
    status: str | None = None,
    category: str | None = None,
    due: str | None = None,
) -> Response:
    filters = TicketFilters(
        status=TicketStatus(status) if status in set(TicketStatus) else None,
        category=TicketCategory(category) if category in set(TicketCategory) else None,
        due=due if due in DUE_FILTERS else None,
    )
    return render(
        request,
        "tickets.html",
        {
            "tickets": await desk.search(filters),
            "filters": filters,
            "today": clock.today(),
        },
    )


def _back(code: str) -> RedirectResponse:
    return RedirectResponse(f"/tickets/{code}", status_code=303)


@router.get("/{code}")
async def ticket_page(
    request: Request, code: str, agent: CurrentAgent, desk: TicketDeskDep
) -> Response:
    return render(request, "ticket.html", {"p": await desk.page(agent, code)})


@router.post("/{code}/reveal")
async def reveal(
    request: Request, code: str, agent: CurrentAgent, desk: TicketDeskDep
) -> Response:
    return render(request, "ticket.html", {"p": await desk.page(agent, code, reveal=True)})


@router.post("/{code}/answer")
async def answer(
    request: Request,
    code: str,
    agent: CurrentAgent,
    desk: TicketDeskDep,
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    info = await desk.answer(agent, code, text)
    flash(request, texts.TICKET_ANSWER_OK)
    return _back(info.tracking_code)


@router.post("/{code}/close")
async def close(request: Request, code: str, agent: CurrentAgent, desk: TicketDeskDep) -> Response:
    info = await desk.close(agent, code)
    flash(request, texts.TICKET_CLOSE_OK)
    return _back(info.tracking_code)


@router.post("/{code}/chat")
async def start_chat(
    request: Request, code: str, agent: CurrentAgent, desk: TicketDeskDep
) -> Response:
    conversation_id = await desk.start_chat(agent, code)
    flash(request, texts.TICKET_CHAT_OK)
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)
