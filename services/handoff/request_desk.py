"""The console's dependant requests desk: the queue, a request's page, decide, and search.

Dependant requests are filed in the chat (``services.dependants.record_application``); here an
agent lists them with filters, opens one (identities masked unless revealed, every reveal
audited), takes it onto their desk, and approves or rejects it through
:class:`services.dependants.DependantsService`, which tells the user through the outbox.

:class:`DeskSearch` finds tickets and requests by tracking code (any digits, with or without
the dash), by national ID or mobile (full or masked as the console shows it; such a search
is audited like a reveal, since it tells whether a person has filed anything), or by text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from persian import (
    InvalidMobile,
    InvalidNationalId,
    mask_mobile,
    mask_national_id,
    normalize_mobile,
    normalize_national_id,
    to_ascii_digits,
)
from persian.jalali import age_in_years
from services import notices
from services.agents import AgentPublic
from services.clock import TEHRAN, Clock
from services.common import audit
from services.db.handoff_models import Agent
from services.db.models import ChatUser, DependantRequest, DependantRequestDocument, Ticket
from services.dependant_desk import DecidedRequest
from services.dependants import DependantsService
from services.enums import (
    DependantRejectReason,
    DependantRequestStatus,
    NoticeKind,
    Relation,
)
from services.errors import NotAllowed
from services.handoff.results import DocRef, IdentityView, TicketRow, tehran
from services.handoff.ticket_desk import ticket_row
from services.registry import SqlRegistryGateway
from services.settings import Settings

ASSIGNED_FILTERS: Final = ("mine", "unassigned", "others")
_SEPARATORS: Final = re.compile(r"[\s\u200c\-_.\u2010-\u2014\u2212]+")
# «0912***4567» as the console prints a mobile: the visible digits around the stars.
_MASKED: Final = re.compile(r"^([0-9]*)\*+([0-9]*)$")


@dataclass(frozen=True, slots=True)
class RequestFilters:
    status: DependantRequestStatus | None = None
    relation: Relation | None = None
    reject_reason: DependantRejectReason | None = None
    # Filed on or after / on or before these days (Tehran).
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    # mine | unassigned | others | None
    assigned: str | None = None
    limit: int = 200


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A dependant request in the desk's queue (identities masked)."""

    id: int
    tracking_code: str
    relation: Relation
    status: DependantRequestStatus
    created_at: dt.datetime
    insured_masked: str
    dependant_masked: str
    assigned_to: str | None
    documents: int
    reject_reason: DependantRejectReason | None


@dataclass(frozen=True, slots=True)
class DocumentView:
    index: int
    kind: str
    file_name: str | None
    mime_type: str | None

    @property
    def is_image(self) -> bool:
        return self.kind == "photo" or (self.mime_type or "").startswith("image/")


@dataclass(frozen=True, slots=True)
class RequestPage:
    row: RequestRow
    birth_date: dt.date
    # Full years on the Jalali calendar today: what the rules by relation look at.
    age_years: int
    insured: IdentityView
    dependant_national_id: str
    decided_at: dt.datetime | None
    decided_by: str | None
    note: str | None
    platform: str | None
    assigned_agent_id: int | None
    documents: tuple[DocumentView, ...]
    deliveries: tuple[tuple[dt.datetime, str], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    # code | national_id | mobile | text | empty
    kind: str
    tickets: tuple[TicketRow, ...]
    requests: tuple[RequestRow, ...]


class RequestDesk:
    """The console's view of dependant requests."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._service = DependantsService(session, settings, clock)

    async def search(self, agent: AgentPublic, filters: RequestFilters) -> list[RequestRow]:
        query = _rows_query().limit(filters.limit)
        if filters.status is not None:
            query = query.where(DependantRequest.status == filters.status.value)
        if filters.relation is not None:
            query = query.where(DependantRequest.relation == filters.relation.value)
        if filters.reject_reason is not None:
            query = query.where(DependantRequest.reject_reason == filters.reject_reason.value)
        if filters.date_from is not None:
            query = query.where(DependantRequest.created_at >= _start_of(filters.date_from))
        if filters.date_to is not None:
            query = query.where(
                DependantRequest.created_at < _start_of(filters.date_to + dt.timedelta(days=1))
            )
        if filters.assigned == "mine":
            query = query.where(DependantRequest.assigned_agent_id == agent.id)
        elif filters.assigned == "unassigned":
            query = query.where(DependantRequest.assigned_agent_id.is_(None))
        elif filters.assigned == "others":
            query = query.where(
                DependantRequest.assigned_agent_id.is_not(None),
                DependantRequest.assigned_agent_id != agent.id,
            )
        return [_row(*r) for r in (await self._session.execute(query)).all()]

    async def _load(self, tracking_code: str) -> tuple[DependantRequest, str | None, int]:
        row = await self._service.request_row(tracking_code)
        found = (
            await self._session.execute(_rows_query().where(DependantRequest.id == row.id))
        ).one()
        return found[0], found[1], found[2]

    async def page(
        self, agent: AgentPublic, tracking_code: str, *, reveal: bool = False
    ) -> RequestPage:
        request, assignee, documents = await self._load(tracking_code)
        can_reveal = agent.is_supervisor or request.assigned_agent_id == agent.id
        if reveal and not can_reveal:
            raise NotAllowed(f"reveal request {request.tracking_code}")
        if reveal:
            audit(
                self._session,
                self._clock,
                actor=agent.actor,
                action="dependants.reveal_identity",
                subject=request.tracking_code,
            )
            await self._session.flush()
        user = await self._session.get(ChatUser, request.chat_user_id)
        person = await SqlRegistryGateway(self._session).person(request.insured_national_id)
        mobile = user.mobile if user is not None else None
        insured = IdentityView(
            verified=True,
            name=person.full_name if person is not None else None,
            national_id=(
                request.insured_national_id
                if reveal
                else mask_national_id(request.insured_national_id)
            ),
            mobile=(mobile if reveal else mask_mobile(mobile)) if mobile else None,
            revealed=reveal,
            can_reveal=can_reveal,
        )
        return RequestPage(
            row=_row(request, assignee, documents),
            birth_date=request.birth_date,
            age_years=age_in_years(request.birth_date, self._clock.today()),
            insured=insured,
            dependant_national_id=(
                request.dependant_national_id
                if reveal
                else mask_national_id(request.dependant_national_id)
            ),
            decided_at=tehran(request.decided_at) if request.decided_at else None,
            decided_by=request.decided_by,
            note=request.decision_note,
            platform=user.platform if user is not None else None,
            assigned_agent_id=request.assigned_agent_id,
            documents=tuple(
                DocumentView(i, d.kind, d.file_name, d.mime_type)
                for i, d in enumerate(request.documents)
            ),
            deliveries=await self._deliveries(request, user),
        )

    async def _deliveries(
        self, request: DependantRequest, user: ChatUser | None
    ) -> tuple[tuple[dt.datetime, str], ...]:
        """The decision's notice to the user (``services.notices``, kind ``request_decided``):
        the outbox's status once handed over, ``waiting`` while the quiet hours hold it, and
        ``off`` when the user switched that notice off (dropped, or never planned)."""
        if user is None or request.decided_at is None:
            return ()
        log = await notices.delivery_log(
            self._session, user.id, NoticeKind.REQUEST_DECIDED, [request.tracking_code]
        )
        if not log:
            return ((tehran(request.decided_at), "off"),)
        return tuple((tehran(moment), state) for _, moment, state in log)

    async def take(self, agent: AgentPublic, tracking_code: str) -> str:
        row = await self._service.request_row(tracking_code)
        await self._service.assign(row.tracking_code, agent.id, actor=agent.actor)
        return row.tracking_code

    async def approve(
        self, agent: AgentPublic, tracking_code: str, first_name: str, last_name: str
    ) -> DecidedRequest:
        return await self._service.approve(
            tracking_code, actor=agent.actor, first_name=first_name, last_name=last_name
        )

    async def reject(
        self, agent: AgentPublic, tracking_code: str, reason: DependantRejectReason, note: str
    ) -> DecidedRequest:
        return await self._service.reject(
            tracking_code, actor=agent.actor, reason=reason, note=note
        )

    async def document(self, agent: AgentPublic, tracking_code: str, index: int) -> DocRef:
        """A request's document by its place in the list; the opening is audited."""
        row = await self._service.request_row(tracking_code)
        if not 0 <= index < len(row.documents):
            raise NotAllowed(f"document {index} of {row.tracking_code}")
        document = row.documents[index]
        audit(
            self._session,
            self._clock,
            actor=agent.actor,
            action="dependants.open_document",
            subject=row.tracking_code,
            details={"index": index},
        )
        await self._session.flush()
        return DocRef(
            document.platform,
            document.file_id,
            document.file_name,
            document.mime_type,
            document.kind,
        )


class DeskSearch:
    """Find tickets and dependant requests by code, national ID, mobile or text."""

    def __init__(self, session: AsyncSession, clock: Clock, limit: int = 50) -> None:
        self._session = session
        self._clock = clock
        self._limit = limit

    async def search(self, agent: AgentPublic, query: str) -> SearchResult:
        raw = " ".join(query.split())
        if not raw:
            return SearchResult("", "empty", (), ())
        ascii_text = to_ascii_digits(raw)
        compact = _SEPARATORS.sub("", ascii_text)
        masked = _MASKED.match(compact)
        if compact.isdigit() and len(compact) in (6, 10, 12):
            found = await self._by_code(compact)
            if found is not None:
                return found
        if compact.isdigit() and len(compact) == 10:
            try:
                national_id = normalize_national_id(compact)
            except InvalidNationalId:
                national_id = None
            if national_id is not None:
                self._audit(agent, "desk.search_national_id", mask_national_id(national_id))
                return await self._by_people(raw, "national_id", national_id=national_id)
        if compact.isdigit() or masked is not None:
            mobile = None
            if compact.isdigit():
                try:
                    mobile = normalize_mobile(compact)
                except InvalidMobile:
                    mobile = None
            if mobile is not None:
                self._audit(agent, "desk.search_mobile", mask_mobile(mobile))
                return await self._by_people(raw, "mobile", mobile_like=mobile)
            if masked is not None and (len(masked.group(1)) + len(masked.group(2))) >= 4:
                pattern = f"{masked.group(1)}%{masked.group(2)}"
                self._audit(agent, "desk.search_mobile", compact)
                return await self._by_people(raw, "mobile", mobile_like=pattern)
        return await self._by_text(raw)

    def _audit(self, agent: AgentPublic, action: str, what: str) -> None:
        audit(self._session, self._clock, actor=agent.actor, action=action, subject=what)

    async def _by_code(self, digits: str) -> SearchResult | None:
        ticket_codes = {digits, f"1420-{digits[-6:]}"} if len(digits) in (6, 10) else {digits}
        if len(digits) == 10 and not digits.startswith("1420"):
            ticket_codes = set()
        tickets = await self._tickets(Ticket.tracking_code.in_(ticket_codes or {""}))
        requests = await self._requests(DependantRequest.tracking_code == digits)
        if not tickets and not requests:
            return None
        return SearchResult(digits, "code", tickets, requests)

    async def _by_people(
        self, raw: str, kind: str, *, national_id: str | None = None, mobile_like: str = ""
    ) -> SearchResult:
        if national_id is not None:
            users = select(ChatUser.id).where(ChatUser.national_id == national_id)
            tickets = await self._tickets(
                or_(Ticket.national_id == national_id, Ticket.chat_user_id.in_(users))
            )
            requests = await self._requests(
                or_(
                    DependantRequest.insured_national_id == national_id,
                    DependantRequest.dependant_national_id == national_id,
                )
            )
        else:
            users = select(ChatUser.id).where(ChatUser.mobile.like(mobile_like))
            tickets = await self._tickets(Ticket.chat_user_id.in_(users))
            requests = await self._requests(DependantRequest.chat_user_id.in_(users))
        return SearchResult(raw, kind, tickets, requests)

    async def _by_text(self, raw: str) -> SearchResult:
        needle = f"%{_escape_like(raw)}%"
        tickets = await self._tickets(func.lower(Ticket.text).like(needle.lower(), escape="\\"))
        requests = await self._requests(
            func.lower(cast(DependantRequest.decision_note, String)).like(
                needle.lower(), escape="\\"
            )
        )
        return SearchResult(raw, "text", tickets, requests)

    async def _tickets(self, condition: object) -> tuple[TicketRow, ...]:
        today = self._clock.today()
        rows = await self._session.execute(
            select(Ticket, ChatUser.platform)
            .outerjoin(ChatUser, ChatUser.id == Ticket.chat_user_id)
            .where(condition)  # type: ignore[arg-type]
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(self._limit)
        )
        return tuple(ticket_row(t, platform, today) for t, platform in rows)

    async def _requests(self, condition: object) -> tuple[RequestRow, ...]:
        query = _rows_query()
        rows = await self._session.execute(
            query.where(condition).limit(self._limit)  # type: ignore[arg-type]
        )
        return tuple(_row(*r) for r in rows.all())


def _rows_query() -> Select[DependantRequest, str | None, int]:
    """Requests with their agent's name and how many documents came with them, newest first."""
    documents = (
        select(func.count())
        .where(DependantRequestDocument.request_id == DependantRequest.id)
        .correlate(DependantRequest)
        .scalar_subquery()
    )
    return (
        select(DependantRequest, Agent.display_name, documents)
        .outerjoin(Agent, Agent.id == DependantRequest.assigned_agent_id)
        .order_by(DependantRequest.created_at.desc(), DependantRequest.id.desc())
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TEHRAN)


def _row(request: DependantRequest, assignee: str | None, documents: int) -> RequestRow:
    return RequestRow(
        id=request.id,
        tracking_code=request.tracking_code,
        relation=Relation(request.relation),
        status=DependantRequestStatus(request.status),
        created_at=tehran(request.created_at),
        insured_masked=mask_national_id(request.insured_national_id),
        dependant_masked=mask_national_id(request.dependant_national_id),
        assigned_to=assignee,
        documents=int(documents or 0),
        reject_reason=(
            DependantRejectReason(request.reject_reason) if request.reject_reason else None
        ),
    )
