"""The sandbox's ASGI application: Bot API, control API and web chat over one world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from sandbox import botapi, control, web
from sandbox.config import SandboxConfig, demo_config
from sandbox.errors import ControlError
from sandbox.world import SandboxWorld


def create_sandbox_app(
    config: SandboxConfig | None = None, *, world: SandboxWorld | None = None
) -> FastAPI:
    """Build the sandbox app; ``app.state.world`` and ``app.state.bot_api`` expose its insides.

    With neither argument it hosts the demo bots of :func:`sandbox.config.demo_config`.
    """
    if world is None:
        world = SandboxWorld(config or demo_config())
    api = botapi.BotApi(world)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await world.close()

    app = FastAPI(
        title="Tamin sandbox",
        description="A local Telegram/Bale-compatible Bot API with a control API and a web chat.",
        lifespan=lifespan,
        # Swagger UI would load its scripts from a CDN; the schema alone works offline.
        docs_url=None,
        redoc_url=None,
        openapi_url="/sandbox/openapi.json",
    )
    app.state.world = world
    app.state.bot_api = api

    @app.exception_handler(ControlError)
    async def control_error(_request: Request, error: ControlError) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error.message}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg')}"
            for item in error.errors()
        ]
        return JSONResponse({"ok": False, "error": "; ".join(problems)}, status_code=422)

    app.include_router(botapi.build_router(api))
    app.include_router(control.build_router(world))
    app.include_router(web.build_router(world))
    app.mount("/sandbox/static", StaticFiles(directory=str(web.STATIC_DIR)), name="sandbox-static")
    return app
