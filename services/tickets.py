"""1420 tickets: requests and complaints with a tracking code, an answer target and a lifecycle.

- Tracking code: ``1420-`` and six random digits (``secrets``), unique.
- Due date (seed «خدمات غیرحضوری»): ``tickets.due_working_days`` per category — 3 working days
  for insurance matters, 7 for medical ones — never beyond ``max_working_days`` (10: article 13
  of the law on publishing and free access to information). Working days exclude Friday and
  official holidays (:class:`services.calendar.WorkingCalendar`); the day of filing is not
  counted.
- Lifecycle: open → in_progress → answered → closed (see :data:`TRANSITIONS`).
- Only the owner (the chat user who filed it) can look a ticket up; to anyone else a ticket
  that exists and one that does not look the same.
- Attachments are the messenger's file references (``file_id``), not files.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from persian import strip_control, to_ascii_digits, visible_length
from services.calendar import WorkingCalendar
from services.clock import TEHRAN, Clock
from services.common import UserRef, audit, load_chat_user, random_digits, unique_code, user_id
from services.db.models import Ticket, TicketAttachment, TicketEvent
from services.enums import TicketCategory, TicketStatus
from services.errors import (
    InvalidTicketText,
    InvalidTicketTransition,
    TicketNotFound,
    TooManyAttachments,
)
from services.settings import Settings

logger = logging.getLogger(__name__)

CODE_PREFIX: Final = "1420-"
CODE_DIGITS: Final = 6
MAX_TEXT_LENGTH: Final = 4000
# A complaint's description shorter than this cannot say what went wrong.
MIN_DESCRIPTION_LENGTH: Final = 10
MAX_ATTACHMENTS: Final = 10
_CODE_PATTERN: Final = re.compile(r"^(?:1420)?[\s\-_]*(\d{6})$")

# Forward moves, plus answered → in_progress when the user follows up on an answer.
TRANSITIONS: Final[dict[TicketStatus, frozenset[TicketStatus]]] = {
    TicketStatus.OPEN: frozenset(
        {TicketStatus.IN_PROGRESS, TicketStatus.ANSWERED, TicketStatus.CLOSED}
    ),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.ANSWERED, TicketStatus.CLOSED}),
    TicketStatus.ANSWERED: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A file sent with a ticket: the messenger's ``file_id`` and what is known about it."""

    file_id: str
    kind: str = "document"  # "photo", "document", "voice", …
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class TicketEventInfo:
    kind: str
    from_status: TicketStatus | None
    to_status: TicketStatus | None
    actor: str
    note: str | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class TicketInfo:
    """A ticket as its owner (or an agent) sees it; times are Tehran times."""

    tracking_code: str
    category: TicketCategory
    status: TicketStatus
    text: str
    due_date: dt.date
    answer: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    attachments: tuple[AttachmentRef, ...]
    events: tuple[TicketEventInfo, ...]


def check_description(text: str) -> str:
    """Return a complaint's description stripped, or raise :class:`InvalidTicketText`
    (``too_short`` under :data:`MIN_DESCRIPTION_LENGTH`, ``too_long`` over
    :data:`MAX_TEXT_LENGTH`)."""
    body = strip_control(text).strip()
    # Visible characters: twenty zero-width spaces are no description.
    if visible_length(body) < MIN_DESCRIPTION_LENGTH:
        raise InvalidTicketText("too_short", MAX_TEXT_LENGTH)
    if len(body) > MAX_TEXT_LENGTH:
        raise InvalidTicketText("too_long", MAX_TEXT_LENGTH)
    return body


def normalize_ticket_code(raw: str) -> str | None:
    """Return ``1420-NNNNNN`` for a typed code (any digits, with or without ``1420-``), or None."""
    text = to_ascii_digits(raw.strip()).replace("\u200c", "")
    match = _CODE_PATTERN.match(text)
    return None if match is None else CODE_PREFIX + match.group(1)


def _info(ticket: Ticket) -> TicketInfo:
    return TicketInfo(
        tracking_code=ticket.tracking_code,
        category=TicketCategory(ticket.category),
        status=TicketStatus(ticket.status),
        text=ticket.text,
        due_date=ticket.due_date,
        answer=ticket.answer,
        created_at=ticket.created_at.astimezone(TEHRAN),
        updated_at=ticket.updated_at.astimezone(TEHRAN),
        closed_at=ticket.closed_at.astimezone(TEHRAN) if ticket.closed_at else None,
        attachments=tuple(
            AttachmentRef(a.file_id, a.kind, a.file_name, a.mime_type) for a in ticket.attachments
        ),
        events=tuple(
            TicketEventInfo(
                kind=e.kind,
                from_status=TicketStatus(e.from_status) if e.from_status else None,
                to_status=TicketStatus(e.to_status) if e.to_status else None,
                actor=e.actor,
                note=e.note,
                at=e.created_at.astimezone(TEHRAN),
            )
            for e in ticket.events
        ),
    )


class TicketService:
    """Files, finds and moves 1420 tickets."""

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self._session = session
        self._config = settings.config.tickets
        self._clock = clock
        self.calendar = WorkingCalendar(self._config)

    def working_days_for(self, category: TicketCategory) -> int:
        """Return the answer target of a category in working days, capped at the legal maximum."""
        return min(self._config.due_working_days[category.value], self._config.max_working_days)

    def due_date(self, category: TicketCategory, filed_on: dt.date) -> dt.date:
        """Return the due date of a ticket of ``category`` filed on ``filed_on`` (Tehran date)."""
        return self.calendar.add_working_days(filed_on, self.working_days_for(category))

    async def create(
        self,
        user: UserRef,
        category: TicketCategory,
        text: str,
        attachments: Sequence[AttachmentRef] = (),
    ) -> TicketInfo:
        """File a ticket for a chat user (verified or not).

        Raises :class:`InvalidTicketText` (empty or longer than :data:`MAX_TEXT_LENGTH`) and
        :class:`TooManyAttachments`.
        """
        body = text.strip()
        if not body:
            raise InvalidTicketText("empty", MAX_TEXT_LENGTH)
        if len(body) > MAX_TEXT_LENGTH:
            raise InvalidTicketText("too_long", MAX_TEXT_LENGTH)
        if len(attachments) > MAX_ATTACHMENTS:
            raise TooManyAttachments(MAX_ATTACHMENTS)
        return await self._create(user, category, body, attachments)

    async def _create(
        self,
        who: UserRef,
        category: TicketCategory,
        body: str,
        attachments: Sequence[AttachmentRef],
    ) -> TicketInfo:
        user = await load_chat_user(self._session, who)
        # Only a ticket filed at the same instant with the same random code (one in a million)
        # can still clash: the unique constraint fails that update, which the user may repeat.
        code = await unique_code(
            self._session, Ticket.tracking_code, lambda: CODE_PREFIX + random_digits(CODE_DIGITS)
        )
        now = self._clock.now()
        ticket = Ticket(
            tracking_code=code,
            chat_user_id=user.id,
            national_id=user.national_id if user.verified_at else None,
            category=category.value,
            text=body,
            status=TicketStatus.OPEN.value,
            due_date=self.due_date(category, now.astimezone(TEHRAN).date()),
            created_at=now,
            updated_at=now,
            attachments=[
                TicketAttachment(
                    platform=user.platform,
                    file_id=a.file_id,
                    kind=a.kind,
                    file_name=a.file_name,
                    mime_type=a.mime_type,
                )
                for a in attachments
            ],
            events=[
                TicketEvent(
                    kind="created",
                    from_status=None,
                    to_status=TicketStatus.OPEN.value,
                    actor=f"chat_user:{user.id}",
                    created_at=now,
                )
            ],
        )
        self._session.add(ticket)
        await self._session.flush()
        logger.info("ticket %s filed (%s, due %s)", code, category.value, ticket.due_date)
        return _info(ticket)

    def _query(self) -> Select[Ticket]:
        return select(Ticket).options(
            selectinload(Ticket.attachments), selectinload(Ticket.events)
        )

    async def get_for_owner(self, user: UserRef, tracking_code: str) -> TicketInfo:
        """Return the user's own ticket by its code as typed; :class:`TicketNotFound` otherwise."""
        code = normalize_ticket_code(tracking_code)
        if code is None:
            raise TicketNotFound(tracking_code.strip())
        ticket = await self._session.scalar(
            self._query().where(Ticket.tracking_code == code, Ticket.chat_user_id == user_id(user))
        )
        if ticket is None:
            raise TicketNotFound(code)
        return _info(ticket)

    async def list_mine(self, user: UserRef, limit: int = 20) -> tuple[TicketInfo, ...]:
        """Return the user's tickets, newest first."""
        rows = await self._session.scalars(
            self._query()
            .where(Ticket.chat_user_id == user_id(user))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return tuple(_info(t) for t in rows)

    async def get(self, tracking_code: str) -> TicketInfo:
        """Return any ticket by code — for the agents' console, never for chat users."""
        return _info(await self._load(tracking_code))

    async def _load(self, tracking_code: str) -> Ticket:
        code = normalize_ticket_code(tracking_code)
        ticket = None
        if code is not None:
            ticket = await self._session.scalar(self._query().where(Ticket.tracking_code == code))
        if ticket is None:
            raise TicketNotFound(code or tracking_code.strip())
        return ticket

    async def change_status(
        self, tracking_code: str, status: TicketStatus, actor: str, note: str | None = None
    ) -> TicketInfo:
        """Move a ticket along its lifecycle (:class:`InvalidTicketTransition`)."""
        ticket = await self._load(tracking_code)
        self._move(ticket, status, actor, note)
        await self._session.flush()
        return _info(ticket)

    async def answer(self, tracking_code: str, answer: str, actor: str) -> TicketInfo:
        """Record an agent's answer and mark the ticket answered."""
        body = answer.strip()
        if not body:
            raise InvalidTicketText("empty", MAX_TEXT_LENGTH)
        ticket = await self._load(tracking_code)
        ticket.answer = body
        self._move(ticket, TicketStatus.ANSWERED, actor, body)
        await self._session.flush()
        return _info(ticket)

    def _move(self, ticket: Ticket, status: TicketStatus, actor: str, note: str | None) -> None:
        current = TicketStatus(ticket.status)
        if status not in TRANSITIONS[current]:
            raise InvalidTicketTransition(current.value, status.value)
        now = self._clock.now()
        ticket.status = status.value
        ticket.updated_at = now
        if status is TicketStatus.CLOSED:
            ticket.closed_at = now
        ticket.events.append(
            TicketEvent(
                kind="status",
                from_status=current.value,
                to_status=status.value,
                actor=actor,
                note=note,
                created_at=now,
            )
        )
        audit(
            self._session,
            self._clock,
            actor=actor,
            action="tickets.status",
            subject=ticket.tracking_code,
            details={"from": current.value, "to": status.value},
        )
