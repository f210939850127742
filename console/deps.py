"""The console's dependencies, as ``Annotated`` aliases routes ask for by type.

``SessionDep`` (one database session per request, its unit of work), ``CurrentAgent`` (the signed-in agent, or
the request is refused), ``Supervisor`` (a signed-in supervisor), the services built on that
session, and ``verify_csrf`` (applied to the whole app: every unsafe request must carry the
session's CSRF token). Long-lived objects live on ``app.state``; tests override these
dependencies rather than patching globals.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console.files import BotFiles
from services.agents import AgentPublic, AgentService
from services.clock import Clock
from services.dashboard import DashboardService
from services.errors import DomainError
from services.handoff import AgentDesk, Catalogue, ConversationViews, TicketDesk
from services.handoff.request_desk import DeskSearch, RequestDesk
from services.knowledge.service import KnowledgeEditor
from services.knowledge.store import KnowledgeStore
from services.settings import ConsoleConfig, Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_TOKEN_KEY = "sid"
SESSION_CSRF_KEY = "csrf"


class NotAuthenticated(Exception):
    """No live console session: pages redirect to the login, other requests get 401."""


class Forbidden(Exception):
    """Signed in, but not allowed (a supervisor's page)."""


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_console_config(request: Request) -> ConsoleConfig:
    config: ConsoleConfig = request.app.state.console_config
    return config


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session, committed once after the route (before the response is sent).

    Services only flush. A route that fails is rolled back; a refusal (a ``DomainError``,
    which the app's handlers turn into a page) is an answer, so what the service recorded
    before refusing stays (a failed sign-in counts towards the throttle).
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with factory() as session:
        try:
            yield session
        except DomainError:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ConsoleConfigDep = Annotated[ConsoleConfig, Depends(get_console_config)]
# "function" scope: the commit happens when the route returns, before the response is sent,
# so a redirect never shows a page read before the change it follows is committed.
SessionDep = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, creating one for a new session."""
    token = request.session.get(SESSION_CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF_KEY] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form field or header does not carry the token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfFailed()


async def current_agent(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> AgentPublic:
    token = request.session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str) or not token:
        raise NotAuthenticated()
    agent = await AgentService(session, settings, clock).session_agent(token)
    if agent is None:
        request.session.pop(SESSION_TOKEN_KEY, None)
        raise NotAuthenticated()
    request.state.agent = agent
    return agent


CurrentAgent = Annotated[AgentPublic, Depends(current_agent)]


async def require_supervisor(agent: CurrentAgent) -> AgentPublic:
    if not agent.is_supervisor:
        raise Forbidden()
    return agent


Supervisor = Annotated[AgentPublic, Depends(require_supervisor)]


def get_views(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> ConversationViews:
    return ConversationViews(session, settings, clock)


def get_desk(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> AgentDesk:
    return AgentDesk(session, settings, clock)


def get_catalogue(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> Catalogue:
    return Catalogue(session, settings, clock)


def get_ticket_desk(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> TicketDesk:
    return TicketDesk(session, settings, clock)


def get_agents(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> AgentService:
    return AgentService(session, settings, clock)


def get_dashboard(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> DashboardService:
    return DashboardService(session, settings, clock)


def get_request_desk(session: SessionDep, settings: SettingsDep, clock: ClockDep) -> RequestDesk:
    return RequestDesk(session, settings, clock)


def get_desk_search(session: SessionDep, clock: ClockDep) -> DeskSearch:
    return DeskSearch(session, clock)


def get_files(request: Request) -> BotFiles:
    files: BotFiles = request.app.state.files
    return files


RequestDeskDep = Annotated[RequestDesk, Depends(get_request_desk)]
DeskSearchDep = Annotated[DeskSearch, Depends(get_desk_search)]
FilesDep = Annotated[BotFiles, Depends(get_files)]
ViewsDep = Annotated[ConversationViews, Depends(get_views)]
DeskDep = Annotated[AgentDesk, Depends(get_desk)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
TicketDeskDep = Annotated[TicketDesk, Depends(get_ticket_desk)]
AgentsDep = Annotated[AgentService, Depends(get_agents)]
DashboardDep = Annotated[DashboardService, Depends(get_dashboard)]


def get_knowledge_store(request: Request) -> KnowledgeStore:
    store: KnowledgeStore = request.app.state.knowledge
    return store


def get_knowledge_editor(
    request: Request, session: SessionDep, clock: ClockDep
) -> KnowledgeEditor:
    return KnowledgeEditor(session, get_knowledge_store(request), clock)


KnowledgeEditorDep = Annotated[KnowledgeEditor, Depends(get_knowledge_editor)]
