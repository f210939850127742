"""Sign-in (argon2, throttled), sign-out and the agent's availability switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from console import texts
from console.deps import (
    SESSION_CSRF_KEY,
    SESSION_TOKEN_KEY,
    AgentsDep,
    CurrentAgent,
)
from console.rendering import flash, jtime, render
from services.agents import InvalidCredentials, LoginThrottled

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path of this site: never an absolute or scheme-relative address."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
async def login_page(request: Request, agents: AgentsDep, next: str | None = None) -> Response:
    token = request.session.get(SESSION_TOKEN_KEY)
    if isinstance(token, str) and token and await agents.session_agent(token) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    agents: AgentsDep,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/queue",
) -> Response:
    try:
        agent = await agents.authenticate(
            username=username, password=password, ip=client_ip(request)
        )
    except LoginThrottled as error:
        message = texts.LOGIN_THROTTLED.format(until=jtime(error.until))
        return render(
            request, "login.html", {"next": safe_next(next), "error": message}, status_code=429
        )
    except InvalidCredentials:
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "error": texts.LOGIN_FAILED},
            status_code=401,
        )
    token = await agents.open_session(agent)
    # A fresh session (and CSRF token) at sign-in: nothing set before it survives.
    request.session.clear()
    request.session[SESSION_TOKEN_KEY] = token
    request.session[SESSION_CSRF_KEY] = secrets.token_urlsafe(32)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, agents: AgentsDep) -> Response:
    token = request.session.get(SESSION_TOKEN_KEY)
    if isinstance(token, str) and token:
        await agents.close_session(token)
    request.session.clear()
    flash(request, texts.LOGGED_OUT)
    return RedirectResponse("/login", status_code=303)


@router.post("/availability")
async def availability(
    request: Request,
    agent: CurrentAgent,
    agents: AgentsDep,
    available: Annotated[str, Form(max_length=1)],
    back: Annotated[str, Form(max_length=2048)] = "/queue",
) -> Response:
    await agents.set_available(agent, available == "1")
    flash(request, texts.AVAILABILITY_OK)
    return RedirectResponse(safe_next(back), status_code=303)
