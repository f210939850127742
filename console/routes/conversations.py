"""One conversation: transcript, identity (revealing it is audited), reply, notes, labels,
transfer, resolve, and the polling endpoint that brings new messages without a reload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import AgentsDep, CatalogueDep, CurrentAgent, DeskDep, ViewsDep
from console.rendering import flash, render
from services.handoff import ConversationDetail

router = APIRouter(prefix="/conversations")

# Only these types are shown inline; anything else is downloaded, never rendered by the
# browser (a user could send an HTML "document").
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def _back(conversation_id: int) -> RedirectResponse:
    return RedirectResponse(f"/conversations/{conversation_id}", status_code=303)


async def _page(
    request: Request,
    detail: ConversationDetail,
    catalogue: CatalogueDep,
    agents: AgentsDep,
) -> Response:
    can_act = detail.can_act
    return render(
        request,
        "conversation.html",
        {
            "c": detail,
            "canned": await catalogue.canned_replies() if can_act else [],
            "labels": await catalogue.labels(),
            "agents": [p for p in await agents.list_agents() if p.agent.is_active]
            if can_act
            else [],
            "last_id": detail.messages[-1].id if detail.messages else 0,
        },
    )


@router.get("/{conversation_id}")
async def conversation_page(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    views: ViewsDep,
    catalogue: CatalogueDep,
    agents: AgentsDep,
) -> Response:
    detail = await views.detail(agent, conversation_id)
    return await _page(request, detail, catalogue, agents)


@router.post("/{conversation_id}/reveal")
async def reveal(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    views: ViewsDep,
    catalogue: CatalogueDep,
    agents: AgentsDep,
) -> Response:
    detail = await views.detail(agent, conversation_id, reveal=True)
    return await _page(request, detail, catalogue, agents)


@router.get("/{conversation_id}/poll")
async def poll(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    views: ViewsDep,
    after: int = 0,
) -> Response:
    """New messages (rendered by the same template as the page) and the current state."""
    messages = await views.messages_after(agent, conversation_id, after)
    state = await views.conversation_state(agent, conversation_id)
    deliveries = await views.deliveries(agent, conversation_id)
    templates = request.app.state.templates
    template = templates.env.get_template("_message.html")
    return JSONResponse(
        {
            "status": state.status.value,
            "messages": [
                {"id": m.id, "html": template.render(m=m, conversation_id=conversation_id)}
                for m in messages
            ],
            "deliveries": [
                {"id": mid, "status": status, "label": texts.DELIVERY.get(status, status)}
                for mid, status in sorted(deliveries.items())
            ],
        }
    )


@router.get("/{conversation_id}/files/{message_id}")
async def attachment(
    conversation_id: int,
    message_id: int,
    agent: CurrentAgent,
    views: ViewsDep,
    download: bool = False,
) -> Response:
    found = await views.attachment(agent, conversation_id, message_id)
    media_type = found.mime_type if found.mime_type in INLINE_TYPES and not download else None
    disposition = "inline" if media_type else "attachment"
    name = f"file-{message_id}"
    return Response(
        found.content,
        media_type=media_type or "application/octet-stream",
        headers={"content-disposition": f'{disposition}; filename="{name}"'},
    )


@router.post("/{conversation_id}/take")
async def take(
    request: Request, conversation_id: int, agent: CurrentAgent, desk: DeskDep
) -> Response:
    await desk.take(agent, conversation_id)
    flash(request, texts.TAKEN_OK)
    return _back(conversation_id)


@router.post("/{conversation_id}/reply")
async def reply(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    desk: DeskDep,
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    await desk.reply(agent, conversation_id, text)
    flash(request, texts.REPLY_OK)
    return _back(conversation_id)


@router.post("/{conversation_id}/notes")
async def add_note(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    desk: DeskDep,
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    await desk.add_note(agent, conversation_id, text)
    flash(request, texts.NOTE_OK)
    return _back(conversation_id)


@router.post("/{conversation_id}/labels")
async def set_label(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    desk: DeskDep,
    label_id: Annotated[int, Form()],
    action: Annotated[str, Form(pattern="^(add|remove)$")] = "add",
) -> Response:
    await desk.set_label(agent, conversation_id, label_id, action == "add")
    flash(request, texts.LABEL_OK)
    return _back(conversation_id)


@router.post("/{conversation_id}/transfer")
async def transfer(
    request: Request,
    conversation_id: int,
    agent: CurrentAgent,
    desk: DeskDep,
    to: Annotated[str, Form(max_length=16)],
) -> Response:
    if to == "queue":
        await desk.transfer(agent, conversation_id, None)
        flash(request, texts.REQUEUE_OK)
        return RedirectResponse("/queue", status_code=303)
    if not to.isdigit():
        return render(
            request, "error.html", {"message": texts.GENERIC_ERROR, "back": None}, status_code=400
        )
    await desk.transfer(agent, conversation_id, int(to))
    flash(request, texts.TRANSFER_OK)
    if agent.is_supervisor:
        return _back(conversation_id)
    return RedirectResponse("/queue", status_code=303)


@router.post("/{conversation_id}/resolve")
async def resolve(
    request: Request, conversation_id: int, agent: CurrentAgent, desk: DeskDep
) -> Response:
    await desk.resolve(agent, conversation_id)
    flash(request, texts.RESOLVE_OK)
    return _back(conversation_id)
