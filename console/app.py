"""The console's application factory: ``create_console_app(settings, session_factory, clock)``.

Server-rendered Persian pages (right to left) with a little JavaScript of our own for live
updates; no build step and nothing loaded from another site. Sessions are signed cookies
(Starlette's ``SessionMiddleware``, itsdangerous) that carry a random session token checked
against the database and the CSRF token; every unsafe request must carry that CSRF token.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import texts
from console.deps import CsrfFailed, Forbidden, NotAuthenticated, verify_csrf
from console.files import BotFiles
from console.probes import add_probes
from console.rendering import create_templates, render
from console.routes import admin, auth, conversations, dashboard, queue, requests, tickets
from console.routes import knowledge as knowledge_routes
from services.clock import Clock
from services.errors import DomainError
from services.knowledge.store import KnowledgeStore
from services.settings import Settings
from services.supervision import Supervisor

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Our pages load only our own files: no inline script, no other origin, no framing.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
# With https_only: browsers then refuse plain HTTP to the console for a year (no downgrade).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Add :data:`SECURITY_HEADERS` to every response (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = (*SECURITY_HEADERS, HSTS) if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in self.headers:
                    if name == b"cache-control" and is_static:
                        continue
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_DOMAIN_STATUS = {
    "not_allowed": 403,
    "conversation_not_found": 404,
    "ticket_not_found": 404,
    "dependant_request_not_found": 404,
    "dependant_request_decided": 409,
    "agent_not_found": 404,
    "invalid_conversation_state": 409,
    "invalid_ticket_transition": 409,
    "agent_exists": 409,
}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.endswith(
        "/poll"
    )


def _error_page(request: Request, message: str, status_code: int) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status_code)
    return render(
        request,
        "error.html",
        {"message": message, "back": request.headers.get("referer")},
        status_code=status_code,
    )


def _domain_message(error: DomainError) -> str:
    template = texts.DOMAIN_ERRORS.get(error.code, texts.GENERIC_ERROR)
    state = getattr(error, "current", "")
    return template.format(
        state=texts.STATUSES.get(state, texts.TICKET_STATUSES.get(state, state)),
        limit=getattr(error, "limit", ""),
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _: NotAuthenticated) -> Response:
        if request.method == "GET" and not _wants_json(request):
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return JSONResponse({"error": "not_authenticated"}, status_code=401)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _: Forbidden) -> Response:
        return _error_page(request, texts.SUPERVISORS_ONLY, 403)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _: CsrfFailed) -> Response:
        logger.warning("console request refused: missing or wrong CSRF token")
        return _error_page(request, texts.CSRF_FAILED, 403)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        return _error_page(request, _domain_message(error), _DOMAIN_STATUS.get(error.code, 400))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return _error_page(request, texts.NOT_FOUND, 404)
        if error.status_code == 403:
            return _error_page(request, texts.FORBIDDEN, 403)
        return _error_page(request, texts.GENERIC_ERROR, error.status_code)


def create_console_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    supervisor: Supervisor | None = None,
    knowledge: KnowledgeStore | None = None,
    files: BotFiles | None = None,
) -> FastAPI:
    """Build the console; ``app/run.py`` serves it beside the bot and the sandbox.

    ``supervisor``: the process's background tasks, which ``/readyz`` and ``/healthz`` report.
    ``knowledge``: the process's knowledge base (loaded from the settings when not given).
    ``files``: how documents kept as a messenger's ``file_id`` are fetched (by default through
    the Bot API of each platform whose token the settings hold).
    """
    config = settings.config.console
    app = FastAPI(
        title=texts.APP_NAME,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.console_config = config
    app.state.templates = create_templates()
    app.state.files = files or BotFiles.from_settings(settings)
    app.state.knowledge = knowledge or KnowledgeStore.load(settings.config.knowledge)

    if settings.env.console_secret_key is not None:
        secret = settings.env.console_secret_key.get_secret_value()
    else:
        secret = secrets.token_urlsafe(32)
        logger.warning(
            "CONSOLE_SECRET_KEY is not set: console sessions end when this process ends"
        )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        # "__Host-": over HTTPS the browser keeps the cookie to this host, path / and secure
        # connections, so no sibling subdomain can set or shadow it.
        session_cookie=f"__Host-{config.session_cookie}"
        if config.https_only
        else config.session_cookie,
        max_age=config.session_max_age_hours * 3600,
        same_site=config.same_site,
        https_only=config.https_only,
    )
    app.add_middleware(SecurityHeaders, hsts=config.https_only)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # CSRF is checked on the console's own routers (not app-wide), so that a host app may add
    # routes of its own (webhooks, /model/parse) to this app without it.
    for module in (
        auth,
        queue,
        conversations,
        tickets,
        requests,
        dashboard,
        admin,
        knowledge_routes,
    ):
        app.include_router(module.router, dependencies=[Depends(verify_csrf)])
    _install_error_handlers(app)

    token = settings.env.metrics_token
    add_probes(
        app,
        supervisor=supervisor,
        session_factory=session_factory,
        metrics_token=None if token is None else token.get_secret_value(),
    )
    return app
