"""Treatment eligibility (استحقاق درمان) for a verified person and each of their dependants.

The decision is the registry's: one row per person with a coverage-until date, covered ⇔
coverage-until ≥ today (DOMAIN.md § Treatment eligibility). This module adds what the official
inquiry gives — the two official states, the end date and a new tracking code per inquiry,
stored — and, for a row that is not covered, the likely reason and the next step from the
seed's cases: a son past the age limit without a university certificate, a daughter without
the original birth certificate on file, contributions that stopped; and anyone may dispute
their status through 1420.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from persian import mask_national_id
from persian.jalali import age_in_years
from services.clock import Clock
from services.common import UserRef, user_id, verified_national_id
from services.eligibility_store import InquiryStore, SessionInquiryStore
from services.enums import InsuranceRelation, Relation
from services.errors import NoSuchDependant, PersonNotFound
from services.registry import (
    RegistryDependant,
    RegistryGateway,
    RegistryPerson,
    SqlRegistryGateway,
)
from services.settings import Settings

logger = logging.getLogger(__name__)

Who = Relation | Literal["self"] | None


class NotCoveredReason(StrEnum):
    """Why a row shows «حمایت درمانی ندارد», as far as the registry's facts tell."""

    SON_OVER_AGE_LIMIT = "son_over_age_limit"  # no university certificate on file
    DAUGHTER_NO_BIRTH_CERTIFICATE = "daughter_no_original_birth_certificate"
    DAUGHTER_MARRIED = "daughter_married"
    DAUGHTER_EMPLOYED = "daughter_employed"
    PARENT_OWN_PENSION = "parent_own_pension"
    MAIN_INSURED_NOT_COVERED = "main_insured_not_covered"
    CONTRIBUTIONS_STOPPED = "contributions_stopped"
    VOLUNTARY_UNPAID = "voluntary_unpaid"
    COVERAGE_ENDED = "coverage_ended"  # nothing in the facts explains it


class NextStep(StrEnum):
    """What the person can do about a row that is not covered."""

    # Seed: served by the usual branch procedure until the electronic links exist.
    BRANCH_WITH_UNIVERSITY_CERTIFICATE = "branch_with_university_certificate"
    BRANCH_WITH_ORIGINAL_BIRTH_CERTIFICATE = "branch_with_original_birth_certificate"
    # Employers file and pay by the end of the following month; missing records are objected
    # to at the branch through the portal.
    EMPLOYER_CONTRIBUTIONS = "employer_contributions"
    PAY_CONTRIBUTIONS = "pay_contributions"
    BRANCH_REVIEW = "branch_review"
    # Seed: anyone who disputes their status follows it up through 1420.
    DISPUTE_VIA_1420 = "dispute_via_1420"


@dataclass(frozen=True, slots=True)
class EligibilityRow:
    """One person's answer; ``relation`` is ``None`` for the main insured."""

    national_id: str
    first_name: str
    last_name: str
    relation: Relation | None
    covered: bool
    coverage_until: dt.date | None
    reason: NotCoveredReason | None
    next_step: NextStep | None
    # Jalali (year, month) of the last paid month, for CONTRIBUTIONS_STOPPED.
    last_paid_month: tuple[int, int] | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """An inquiry's answer: its tracking code and one row per person asked about."""

    tracking_code: str
    inquired_at: dt.datetime
    national_id: str
    rows: tuple[EligibilityRow, ...]
    # Every dependant on file, (first name, relation), whoever was asked about: a follow-up
    # may name one («علی چی؟» after an answer about the daughter).
    family: tuple[tuple[str, Relation], ...] = ()


class EligibilityService:
    """Answers treatment-eligibility inquiries and stores each with a tracking code."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
        store: InquiryStore | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)
        # The bot passes its process-wide group-commit store; alone, in the caller's session.
        self._shared_store = store
        self._session_store = SessionInquiryStore(session)

    async def inquire(self, user: UserRef, who: Who = None) -> EligibilityResult:
        """Answer for the verified user and each dependant, or only for ``who``.

        ``user`` is the chat user's id or their :class:`ChatUserInfo` of this update.

        ``who`` is a :class:`Relation` («پسرم» → ``Relation.SON``: every son), ``"self"`` or
        ``None`` (everyone). Raises :class:`NotVerified`, :class:`NoSuchDependant` when no
        dependant has that relation. Returns once the inquiry is stored with its tracking code:
        by the given store in its own transaction, else in the caller's unit of work.

        An update whose session has begun a transaction (it wrote: a verification just made,
        a message relayed to an agent) stores its inquiry in that transaction rather than in
        the shared store's: on SQLite the store's write would wait for the update's own write
        lock, which its unit of work releases only after this returns.
        """
        national_id = await verified_national_id(self._session, user)
        household = await self._registry.household(national_id)
        if household is None:
            raise PersonNotFound()
        today = self._clock.today()
        main_row = await self._main_row(household.person, today)
        rows: list[EligibilityRow] = []
        if who is None or who == "self":
            rows.append(main_row)
        if who != "self":
            chosen = [d for d in household.dependants if who is None or d.relation == who]
            if who is not None and not chosen:
                raise NoSuchDependant(str(who))
            rows.extend(self._dependant_row(d, main_row, today) for d in chosen)
        stored = [_stored(row) for row in rows]

        now = self._clock.now()
        store = self._shared_store
        if store is None or self._session.in_transaction():
            store = self._session_store
        code = await store.store(
            {
                "chat_user_id": user_id(user),
                "national_id": national_id,
                "relation_filter": None if who is None else str(who),
                "covered": main_row.covered,
                "result": stored,
                "created_at": now,
            }
        )
        logger.info(
            "eligibility inquiry %s for %s: %s rows",
            code,
            mask_national_id(national_id),
            len(rows),
        )
        return EligibilityResult(
            tracking_code=code,
            inquired_at=now,
            national_id=national_id,
            rows=tuple(rows),
            family=tuple((d.first_name, d.relation) for d in household.dependants),
        )

    async def _main_row(self, person: RegistryPerson, today: dt.date) -> EligibilityRow:
        covered = person.coverage_until is not None and person.coverage_until >= today
        reason: NotCoveredReason | None = None
        step: NextStep | None = None
        last_paid: tuple[int, int] | None = None
        if not covered:
            if person.insurance_relation is InsuranceRelation.VOLUNTARY:
                reason, step = NotCoveredReason.VOLUNTARY_UNPAID, NextStep.PAY_CONTRIBUTIONS
            elif person.insurance_relation is InsuranceRelation.PENSIONER:
                # Pensioners stay covered; a gap is an upstream matter to dispute.
                reason, step = NotCoveredReason.COVERAGE_ENDED, NextStep.DISPUTE_VIA_1420
            else:
                last = await self._registry.last_contribution(person.national_id)
                last_paid = None if last is None else (last.year, last.month)
                reason = NotCoveredReason.CONTRIBUTIONS_STOPPED
                step = (
                    NextStep.EMPLOYER_CONTRIBUTIONS
                    if person.insurance_relation is InsuranceRelation.MANDATORY
                    else NextStep.PAY_CONTRIBUTIONS
                )
        return EligibilityRow(
            national_id=person.national_id,
            first_name=person.first_name,
            last_name=person.last_name,
            relation=None,
            covered=covered,
            coverage_until=person.coverage_until,
            reason=reason,
            next_step=step,
            last_paid_month=last_paid,
        )

    def _dependant_row(
        self, dependant: RegistryDependant, main: EligibilityRow, today: dt.date
    ) -> EligibilityRow:
        until = dependant.coverage_until
        covered = until is not None and until >= today
        reason, step = (None, None) if covered else self._why_not(dependant, main, today)
        return EligibilityRow(
            national_id=dependant.national_id,
            first_name=dependant.first_name,
            last_name=dependant.last_name,
            relation=dependant.relation,
            covered=covered,
            coverage_until=until,
            reason=reason,
            next_step=step,
            last_paid_month=main.last_paid_month if not main.covered else None,
        )

    def _why_not(
        self, dependant: RegistryDependant, main: EligibilityRow, today: dt.date
    ) -> tuple[NotCoveredReason, NextStep]:
        rules = self._settings.config.dependants
        if not main.covered:
            return NotCoveredReason.MAIN_INSURED_NOT_COVERED, main.next_step or (
                NextStep.DISPUTE_VIA_1420
            )
        relation = dependant.relation
        if relation is Relation.SON:
            over = age_in_years(dependant.birth_date, today) >= rules.son_age_limit_years
            if over and not dependant.has_university_certificate and not dependant.disabled:
                return (
                    NotCoveredReason.SON_OVER_AGE_LIMIT,
                    NextStep.BRANCH_WITH_UNIVERSITY_CERTIFICATE,
                )
        if relation is Relation.DAUGHTER:
            if not dependant.has_original_birth_certificate:
                return (
                    NotCoveredReason.DAUGHTER_NO_BIRTH_CERTIFICATE,
                    NextStep.BRANCH_WITH_ORIGINAL_BIRTH_CERTIFICATE,
                )
            if dependant.married:
                return NotCoveredReason.DAUGHTER_MARRIED, NextStep.DISPUTE_VIA_1420
            if dependant.employed:
                return NotCoveredReason.DAUGHTER_EMPLOYED, NextStep.DISPUTE_VIA_1420
        if relation in (Relation.FATHER, Relation.MOTHER) and dependant.has_own_pension:
            return NotCoveredReason.PARENT_OWN_PENSION, NextStep.DISPUTE_VIA_1420
        return NotCoveredReason.COVERAGE_ENDED, NextStep.DISPUTE_VIA_1420


def _stored(row: EligibilityRow) -> dict[str, Any]:
    """The stored form of a row: enough to answer a follow-up, with the ID masked."""
    return {
        "national_id": mask_national_id(row.national_id),
        "relation": None if row.relation is None else row.relation.value,
        "covered": row.covered,
        "coverage_until": None if row.coverage_until is None else row.coverage_until.isoformat(),
        "reason": None if row.reason is None else row.reason.value,
    }
