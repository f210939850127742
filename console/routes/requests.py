"""Dependant requests: the queue with filters, a request's page, take, approve, reject; the
documents that came with a request (and a ticket's files); search of tickets and requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import (
    CurrentAgent,
    DeskSearchDep,
    FilesDep,
    RequestDeskDep,
    TicketDeskDep,
)
from console.files import BotFiles, FileUnavailable
from console.rendering import flash, parse_day, render
from services.enums import DependantRejectReason, DependantRequestStatus, Relation
from services.handoff.request_desk import ASSIGNED_FILTERS, RequestFilters
from services.handoff.results import DocRef

router = APIRouter()

# Served inline (shown in the page); anything else is only downloaded.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"})


@router.get("/requests")
async def requests_page(
    request: Request,
    agent: CurrentAgent,
    desk: RequestDeskDep,
    status: str | None = None,
    relation: str | None = None,
    reason: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    assigned: str | None = None,
) -> Response:
    filters = RequestFilters(
        status=DependantRequestStatus(status) if status in set(DependantRequestStatus) else None,
        relation=Relation(relation) if relation in set(Relation) else None,
        reject_reason=(
            DependantRejectReason(reason) if reason in set(DependantRejectReason) else None
        ),
        date_from=parse_day(date_from),
        date_to=parse_day(date_to),
        assigned=assigned if assigned in ASSIGNED_FILTERS else None,
    )
    return render(
        request,
        "requests.html",
        {
            "requests": await desk.search(agent, filters),
            "filters": filters,
            "date_from": date_from or "",
            "date_to": date_to or "",
        },
    )


def _back(code: str) -> RedirectResponse:
    return RedirectResponse(f"/requests/{code}", status_code=303)


@router.get("/requests/{code}")
async def request_page(
    request: Request, code: str, agent: CurrentAgent, desk: RequestDeskDep
) -> Response:
    return render(request, "request.html", {"p": await desk.page(agent, code)})


@router.post("/requests/{code}/reveal")
async def reveal(
    request: Request, code: str, agent: CurrentAgent, desk: RequestDeskDep
) -> Response:
    return render(request, "request.html", {"p": await desk.page(agent, code, reveal=True)})


@router.post("/requests/{code}/take")
async def take(request: Request, code: str, agent: CurrentAgent, desk: RequestDeskDep) -> Response:
    found = await desk.take(agent, code)
    flash(request, texts.REQUEST_TAKEN_OK)
    return _back(found)


@router.post("/requests/{code}/approve")
async def approve(
    request: Request,
    code: str,
    agent: CurrentAgent,
    desk: RequestDeskDep,
    first_name: Annotated[str, Form(max_length=200)] = "",
    last_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    decided = await desk.approve(agent, code, first_name, last_name)
    flash(
        request, texts.REQUEST_APPROVED_OK if decided.notified else texts.REQUEST_APPROVED_SILENT
    )
    return _back(decided.tracking_code)


@router.post("/requests/{code}/reject")
async def reject(
    request: Request,
    code: str,
    agent: CurrentAgent,
    desk: RequestDeskDep,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    if reason not in set(DependantRejectReason):
        flash(request, texts.REQUEST_REASON_REQUIRED, "error")
        return _back(code)
    decided = await desk.reject(agent, code, DependantRejectReason(reason), note)
    flash(
        request, texts.REQUEST_REJECTED_OK if decided.notified else texts.REQUEST_REJECTED_SILENT
    )
    return _back(decided.tracking_code)


async def _serve(files: BotFiles, ref: DocRef, name: str, download: bool) -> Response:
    try:
        content = await files.fetch(ref.platform, ref.file_id)
    except FileUnavailable:
        return Response(texts.FILE_UNAVAILABLE, status_code=502, media_type="text/plain")
    # Messenger photos come without a MIME type and are always JPEG.
    mime = ref.mime_type or ("image/jpeg" if ref.kind == "photo" else None)
    inline = not download and mime in INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=mime if inline and mime else "application/octet-stream",
        headers={"content-disposition": f'{disposition}; filename="{name}"'},
    )


@router.get("/requests/{code}/files/{index}")
async def request_file(
    code: str,
    index: int,
    agent: CurrentAgent,
    desk: RequestDeskDep,
    files: FilesDep,
    download: bool = False,
) -> Response:
    ref = await desk.document(agent, code, index)
    return await _serve(files, ref, f"request-{code}-{index + 1}", download)


@router.get("/tickets/{code}/files/{index}")
async def ticket_file(
    code: str,
    index: int,
    agent: CurrentAgent,
    desk: TicketDeskDep,
    files: FilesDep,
    download: bool = False,
) -> Response:
    ref = await desk.attachment(agent, code, index)
    return await _serve(files, ref, f"ticket-{code}-{index + 1}", download)


@router.get("/search")
async def search_page(
    request: Request, agent: CurrentAgent, search: DeskSearchDep, q: str = ""
) -> Response:
    return render(request, "search.html", {"result": await search.search(agent, q[:200])})
