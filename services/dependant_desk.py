"""The desk's side of dependant requests (the console's /requests): take, approve, reject.

Split from :mod:`services.dependants` (which files the requests and keeps the rules): a decision
is claimed with one conditional UPDATE, so two agents deciding at once cannot both win; an
approval writes the dependant into the registry; the user is told through the notices' gate.
``DependantsService`` inherits these methods, so callers keep one service per session.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_national_id, to_ascii_digits
from services import notices
from services.clock import TEHRAN, Clock
from services.common import audit
from services.db.models import ChatUser, Dependant, DependantRequest, Person
from services.enums import DependantRejectReason, DependantRequestStatus, Gender, Relation
from services.errors import (
    AlreadyDependant,
    DependantRequestDecided,
    DependantRequestNotFound,
    InvalidDecision,
    PersonNotFound,
)
from services.settings import Settings

logger = logging.getLogger(__name__)

# What a decision's free text may hold (it is sent to the user in one message).
MAX_DECISION_NOTE: Final = 1000
MAX_NAME: Final = 64
_FEMALE_RELATIONS: Final = frozenset({Relation.WIFE, Relation.DAUGHTER, Relation.MOTHER})


@dataclass(frozen=True, slots=True)
class DecidedRequest:
    """A request after the desk's decision; ``notified`` says whether a ``request_decided``
    notice was planned for the user (``services.notices``: it goes at once, or after the quiet
    hours; False when the user switched that notice off or has no chat to tell)."""

    tracking_code: str
    status: DependantRequestStatus
    relation: Relation
    decided_at: dt.datetime
    decided_by: str
    reject_reason: DependantRejectReason | None
    note: str | None
    notified: bool


class DependantDesk:
    """Decide dependant requests; mixed into ``DependantsService`` (its session, clock, settings)."""

    _session: AsyncSession
    _clock: Clock
    _settings: Settings

    async def approve(
        self, tracking_code: str, *, actor: str, first_name: str, last_name: str
    ) -> DecidedRequest:
        """Approve a request under review: the dependant enters the registry, covered from
        today (the decision date) as long as the insured is, and the user is told.

        The names are the civil registry's (the agent reads them off the documents; the portal
        fills them from ثبت احوال). Raises :class:`DependantRequestNotFound`,
        :class:`DependantRequestDecided` (also when another agent decided first),
        :class:`InvalidDecision` (no names), :class:`PersonNotFound` and
        :class:`AlreadyDependant`. Flushes; the caller commits.
        """
        first, last = " ".join(first_name.split()), " ".join(last_name.split())
        if not first or not last or len(first) > MAX_NAME or len(last) > MAX_NAME:
            raise InvalidDecision("names")
        row = await self._undecided(tracking_code)
        person = await self._session.scalar(
            select(Person).where(Person.national_id == row.insured_national_id)
        )
        if person is None:
            raise PersonNotFound()
        present = await self._session.scalar(
            select(Dependant.id).where(
                Dependant.insured_id == person.id,
                Dependant.national_id == row.dependant_national_id,
            )
        )
        if present is not None:
            raise AlreadyDependant()
        await self._claim(row, DependantRequestStatus.APPROVED, actor, None, None)
        relation = Relation(row.relation)
        # The demo registry stands in for Tamin's back end: approving writes the row its
        # eligibility service would then answer with. A dependant's cover follows the main
        # insured's coverage-until date (DOMAIN.md § Treatment eligibility).
        self._session.add(
            Dependant(
                insured_id=person.id,
                national_id=row.dependant_national_id,
                first_name=first,
                last_name=last,
                relation=relation.value,
                birth_date=row.birth_date,
                gender=(Gender.FEMALE if relation in _FEMALE_RELATIONS else Gender.MALE).value,
                coverage_until=person.coverage_until,
            )
        )
        return await self._decided(row, actor, "dependants.approve")

    async def reject(
        self,
        tracking_code: str,
        *,
        actor: str,
        reason: DependantRejectReason,
        note: str = "",
    ) -> DecidedRequest:
        """Reject a request under review with a reason from the list and optional free text
        (required for :attr:`DependantRejectReason.OTHER`); the user is told. Flushes."""
        text = note.strip()
        if len(text) > MAX_DECISION_NOTE or (reason is DependantRejectReason.OTHER and not text):
            raise InvalidDecision("note")
        row = await self._undecided(tracking_code)
        await self._claim(row, DependantRequestStatus.REJECTED, actor, reason, text or None)
        return await self._decided(row, actor, "dependants.reject")

    async def assign(self, tracking_code: str, agent_id: int | None, *, actor: str) -> None:
        """Put a request on an agent's desk (``None``: back to the shared queue)."""
        row = await self.request_row(tracking_code)
        row.assigned_agent_id = agent_id
        audit(
            self._session,
            self._clock,
            actor=actor,
            action="dependants.assign",
            subject=row.tracking_code,
            details={"agent_id": agent_id},
        )
        await self._session.flush()

    async def request_row(self, tracking_code: str) -> DependantRequest:
        """The request with this code (typed in any digits, with or without separators)."""
        code = "".join(ch for ch in to_ascii_digits(tracking_code) if ch.isdigit())
        row = await self._session.scalar(
            select(DependantRequest).where(DependantRequest.tracking_code == code)
        )
        if row is None:
            raise DependantRequestNotFound(code or tracking_code)
        return row

    async def _undecided(self, tracking_code: str) -> DependantRequest:
        row = await self.request_row(tracking_code)
        if row.status != DependantRequestStatus.UNDER_BRANCH_REVIEW.value:
            raise DependantRequestDecided(row.status)
        return row

    async def _claim(
        self,
        row: DependantRequest,
        status: DependantRequestStatus,
        actor: str,
        reason: DependantRejectReason | None,
        note: str | None,
    ) -> None:
        """Decide in one conditional UPDATE, so two agents deciding at once cannot both win."""
        result = await self._session.execute(
            update(DependantRequest)
            .where(
                DependantRequest.id == row.id,
                DependantRequest.status == DependantRequestStatus.UNDER_BRANCH_REVIEW.value,
            )
            .values(
                status=status.value,
                decided_at=self._clock.now(),
                decided_by=actor,
                reject_reason=reason.value if reason is not None else None,
                decision_note=note,
            )
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            await self._session.refresh(row)
            raise DependantRequestDecided(row.status)
        await self._session.refresh(row)

    async def _decided(self, row: DependantRequest, actor: str, action: str) -> DecidedRequest:
        audit(
            self._session,
            self._clock,
            actor=actor,
            action=action,
            subject=row.tracking_code,
            details={
                "relation": row.relation,
                "dependant": mask_national_id(row.dependant_national_id),
                **({"reason": row.reject_reason} if row.reject_reason else {}),
            },
        )
        notified = await notify_request_decided(self._session, self._clock, self._settings, row)
        await self._session.flush()
        logger.info("dependant request %s %s by %s", row.tracking_code, row.status, actor)
        assert row.decided_at is not None
        return DecidedRequest(
            tracking_code=row.tracking_code,
            status=DependantRequestStatus(row.status),
            relation=Relation(row.relation),
            decided_at=row.decided_at.astimezone(TEHRAN),
            decided_by=actor,
            reject_reason=(
                DependantRejectReason(row.reject_reason) if row.reject_reason else None
            ),
            note=row.decision_note,
            notified=notified,
        )


async def notify_request_decided(
    session: AsyncSession, clock: Clock, settings: Settings, row: DependantRequest
) -> bool:
    """Tell the user the desk's decision, with the tracking code, through the notices' gate.

    The one place a decided request reaches the user: ``services.notices.request_decided``
    plans a ``request_decided`` notice in the caller's transaction, honouring the user's
    switch (on by default), the quiet hours (it then waits for their end) and once-only.
    An approved dependant is covered from the decision date (``approve``). Returns whether a
    notice was planned (False when the chat user is gone or switched the kind off).
    """
    user = await session.get(ChatUser, row.chat_user_id)
    if user is None:
        return False
    approved = row.status == DependantRequestStatus.APPROVED.value
    decided_on = row.decided_at.astimezone(TEHRAN).date() if row.decided_at else clock.today()
    return await notices.request_decided(
        session,
        clock,
        settings,
        chat_user_id=user.id,
        tracking_code=row.tracking_code,
        relation=row.relation,
        approved=approved,
        covered_from=decided_on if approved else None,
        reason=row.reject_reason,
        note=row.decision_note,
    )
