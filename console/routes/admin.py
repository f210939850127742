"""Supervisors' settings: canned replies, labels, agent accounts, and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import AgentsDep, CatalogueDep, DashboardDep, Supervisor
from console.rendering import flash, parse_day, render
from services.agents import AgentRole

router = APIRouter(prefix="/settings")


def _back() -> RedirectResponse:
    return RedirectResponse("/settings", status_code=303)


@router.get("")
async def settings_page(
    request: Request,
    agent: Supervisor,
    catalogue: CatalogueDep,
    agents: AgentsDep,
    edit: int | None = None,
) -> Response:
    canned = await catalogue.canned_replies()
    return render(
        request,
        "settings.html",
        {
            "canned": canned,
            "editing": next((c for c in canned if c.id == edit), None),
            "labels": await catalogue.labels(),
            "agents": await agents.list_agents(),
        },
    )


@router.post("/canned")
async def save_canned(
    request: Request,
    agent: Supervisor,
    catalogue: CatalogueDep,
    short_code: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=256)],
    text: Annotated[str, Form(max_length=20_000)],
    reply_id: Annotated[int | None, Form()] = None,
) -> Response:
    await catalogue.save_canned_reply(
        agent, short_code=short_code, title=title, text=text, reply_id=reply_id
    )
    flash(request, texts.SAVED)
    return _back()


@router.post("/canned/{reply_id}/delete")
async def delete_canned(
    request: Request, reply_id: int, agent: Supervisor, catalogue: CatalogueDep
) -> Response:
    await catalogue.delete_canned_reply(agent, reply_id)
    flash(request, texts.DELETED)
    return _back()


@router.post("/labels")
async def create_label(
    request: Request,
    agent: Supervisor,
    catalogue: CatalogueDep,
    name: Annotated[str, Form(max_length=256)],
) -> Response:
    await catalogue.create_label(agent, name)
    flash(request, texts.SAVED)
    return _back()


@router.post("/labels/{label_id}/delete")
async def delete_label(
    request: Request, label_id: int, agent: Supervisor, catalogue: CatalogueDep
) -> Response:
    await catalogue.delete_label(agent, label_id)
    flash(request, texts.DELETED)
    return _back()


@router.post("/agents")
async def create_agent(
    request: Request,
    agent: Supervisor,
    agents: AgentsDep,
    username: Annotated[str, Form(max_length=64)],
    display_name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)] = AgentRole.AGENT.value,
) -> Response:
    await agents.create(
        username=username,
        display_name=display_name,
        password=password,
        role=role,
        actor=agent.actor,
    )
    flash(request, texts.SAVED)
    return _back()


@router.post("/agents/{agent_id}/active")
async def set_active(
    request: Request,
    agent_id: int,
    agent: Supervisor,
    agents: AgentsDep,
    active: Annotated[str, Form(max_length=1)],
) -> Response:
    await agents.set_active(agent_id, active == "1", actor=agent.actor)
    flash(request, texts.SAVED)
    return _back()


@router.get("/audit")
async def audit_page(
    request: Request,
    agent: Supervisor,
    dashboard: DashboardDep,
    agents: AgentsDep,
    actor: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
) -> Response:
    actors, actions = await dashboard.audit_choices()
    entries = await dashboard.recent_audit(
        actor=actor if actor in actors else None,
        action=action if action in actions or action in _families(actions) else None,
        date_from=parse_day(date_from),
        date_to=parse_day(date_to),
    )
    names = {p.agent.actor: p.agent.display_name for p in await agents.list_agents()}
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "actors": actors,
            "families": _families(actions),
            "actions": actions,
            "names": names,
            "actor": actor,
            "action": action,
            "date_from": date_from,
            "date_to": date_to,
        },
    )


def _families(actions: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({a.split(".", 1)[0] for a in actions if "." in a}))
