"""Everything a chat user filed, in one place: «درخواست‌هام» and tracking by any code.

The bot prints three kinds of code, and each finds what it was given for:

- ``1420-NNNNNN``: a 1420 ticket (a complaint, or a request for an agent out of hours);
- ten digits: an application to add a dependant, reviewed by the branch;
- twelve digits: an eligibility inquiry. It is no request and has nothing to follow up: the
  code records the answer given that day, so the answer says what it was and when.

The list of requests is one query (tickets and dependant applications together, newest first).
A code only ever finds what the same chat user was given: someone else's code answers like a
code that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Row, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from persian import to_ascii_digits
from services.clock import TEHRAN
from services.common import UserRef, user_id
from services.db.models import DependantRequest, EligibilityInquiry, Ticket
from services.dependants import DependantApplication, application_info
from services.enums import DependantRequestStatus, Relation, TicketCategory, TicketStatus
from services.errors import TicketNotFound
from services.tickets import TicketInfo, TicketService, normalize_ticket_code

DEFAULT_LIMIT: Final = 10
_SEPARATORS: Final = re.compile(r"[\s\u200c\-_\u2010-\u2014\u2212]+")
# A ticket's code written as the bot prints it (1420, a separator, six digits), or its six digits.
_TICKET_WRITTEN: Final = re.compile(r"^(?:1420[\s\-_\u2010-\u2014\u2212]+)?[0-9]{6}$")


class RequestKind(StrEnum):
    TICKET = "ticket"
    DEPENDANT = "dependant"


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One line of «my requests»; ``due_date`` is None where no answer date is set (the
    branch's review of a dependant has no legal deadline)."""

    kind: RequestKind
    tracking_code: str
    status: TicketStatus | DependantRequestStatus
    created_at: dt.datetime
    due_date: dt.date | None
    # The ticket's category, or the dependant's relation.
    subject: TicketCategory | Relation


@dataclass(frozen=True, slots=True)
class InquiryInfo:
    """An eligibility inquiry found by its code: what was answered, and when."""

    tracking_code: str
    created_at: dt.datetime
    relation_filter: str | None
    covered: bool
    people: int


TrackedItem = TicketInfo | DependantApplication | InquiryInfo


class RequestsService:
    """Lists a chat user's requests and finds whatever a code the bot printed stands for."""

    def __init__(self, session: AsyncSession, tickets: TicketService) -> None:
        self._session = session
        self._tickets = tickets

    async def list_mine(
        self, user: UserRef, limit: int = DEFAULT_LIMIT
    ) -> tuple[RequestSummary, ...]:
        """Return the user's tickets and dependant applications, newest first (one query)."""
        owner = user_id(user)
        tickets = select(
            literal(RequestKind.TICKET.value).label("kind"),
            Ticket.tracking_code.label("code"),
            Ticket.status.label("status"),
            Ticket.created_at.label("created_at"),
            Ticket.due_date.label("due_date"),
            Ticket.category.label("subject"),
            Ticket.id.label("row_id"),
        ).where(Ticket.chat_user_id == owner)
        applications = select(
            literal(RequestKind.DEPENDANT.value).label("kind"),
            DependantRequest.tracking_code,
            DependantRequest.status,
            DependantRequest.created_at,
            literal(None).label("due_date"),
            DependantRequest.relation,
            DependantRequest.id,
        ).where(DependantRequest.chat_user_id == owner)
        both = union_all(tickets, applications).subquery()
        rows = await self._session.execute(
            select(both)
            .order_by(both.c.created_at.desc(), both.c.row_id.desc())
            .limit(max(1, limit))
        )
        return tuple(_summary(row) for row in rows)

    async def find(self, user: UserRef, code: str) -> TrackedItem:
        """Return what ``code`` (as typed, any digits) stands for; :class:`TicketNotFound` when
        it is not one of this user's codes."""
        written = to_ascii_digits(code.strip())
        typed = _SEPARATORS.sub("", written)
        owner = user_id(user)
        if _TICKET_WRITTEN.match(written):
            return await self._tickets.get_for_owner(owner, written)
        if typed.isdigit() and len(typed) == 10:
            application = await self._session.scalar(
                select(DependantRequest).where(
                    DependantRequest.tracking_code == typed,
                    DependantRequest.chat_user_id == owner,
                )
            )
            if application is not None:
                return application_info(application)
            if not typed.startswith("1420"):
                raise TicketNotFound(typed)
            # «1420123456»: a ticket's code typed without its dash.
            return await self._tickets.get_for_owner(owner, typed)
        if typed.isdigit() and len(typed) == 12:
            inquiry = await self._session.scalar(
                select(EligibilityInquiry).where(
                    EligibilityInquiry.tracking_code == typed,
                    EligibilityInquiry.chat_user_id == owner,
                )
            )
            if inquiry is None:
                raise TicketNotFound(typed)
            return InquiryInfo(
                tracking_code=inquiry.tracking_code,
                created_at=inquiry.created_at.astimezone(TEHRAN),
                relation_filter=inquiry.relation_filter,
                covered=inquiry.covered,
                people=len(inquiry.result or ()),
            )
        if normalize_ticket_code(written) is None:
            raise TicketNotFound(typed or written)
        return await self._tickets.get_for_owner(owner, written)


def _summary(row: Row[Any]) -> RequestSummary:
    values = row._mapping
    kind = RequestKind(values["kind"])
    status: TicketStatus | DependantRequestStatus
    subject: TicketCategory | Relation
    if kind is RequestKind.TICKET:
        status, subject = TicketStatus(values["status"]), TicketCategory(values["subject"])
    else:
        status, subject = DependantRequestStatus(values["status"]), Relation(values["subject"])
    created: dt.datetime = values["created_at"]
    return RequestSummary(
        kind=kind,
        tracking_code=values["code"],
        status=status,
        created_at=created.astimezone(TEHRAN),
        due_date=values["due_date"],
        subject=subject,
    )
