"""The person's side of the sandbox: a Persian, right-to-left web chat at ``/chat``.

A single server-rendered page (Jinja2) with a small script; it talks to the control API, so a
person does exactly what the tests do. Its words come from :mod:`sandbox.web_strings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from sandbox.web_strings import PERSONAS, STRINGS, UNKNOWN_NUMBER
from sandbox.world import SandboxWorld

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"


def build_router(world: SandboxWorld) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    @router.get("/")
    async def root() -> Response:
        return RedirectResponse("/chat", status_code=307)

    @router.get("/chat", response_class=HTMLResponse)
    async def chat(request: Request) -> Response:
        page: dict[str, Any] = {
            "strings": STRINGS,
            "personas": PERSONAS,
            "unknown_number": UNKNOWN_NUMBER,
            "bots": [
                {"id": bot.id, "platform": bot.platform, "username": bot.spec.resolved_username}
                for bot in world.bots.values()
            ],
        }
        return templates.TemplateResponse(request, "chat.html", {"s": STRINGS, "page": page})

    return router
