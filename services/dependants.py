"""Dependants (افراد تحت تکفل): who can be added, with which documents, and applications.

The rules by relation (DOMAIN.md § Dependants; age boundaries from ``config.yml``):

- wife: always;
- husband: from ``husband_min_age_years`` or disabled, and supported by the insured wife;
- son: younger than ``son_age_limit_years`` full years; older only while at university (a valid
  certificate) or if disabled;
- daughter: while unmarried and not employed;
- father from ``father_min_age_years``, mother from ``mother_min_age_years`` (or disabled),
  supported by the insured, with no pension of their own.

Ages are full years on the Jalali calendar (see :func:`persian.jalali.age_in_years`). Requests
are reviewed by the branch: cover is never instant.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from persian import (
    InvalidNationalId,
    mask_national_id,
    normalize_national_id,
)
from persian.jalali import age_in_years
from services.clock import TEHRAN, Clock
from services.common import (
    UserRef,
    audit,
    random_digits,
    unique_code,
    user_id,
    verified_national_id,
)
from services.db.models import (
    DependantRequest,
    DependantRequestDocument,
)
from services.dependant_desk import (
    DependantDesk,
)
from services.enums import (
    DependantRequestStatus,
    Gender,
    Relation,
)
from services.errors import (
    AlreadyDependant,
    DependantNotEligible,
    DuplicateDependantRequest,
    InvalidDependant,
    InvalidNationalIdError,
    PersonNotFound,
)
from services.registry import RegistryGateway, SqlRegistryGateway
from services.settings import Settings

logger = logging.getLogger(__name__)

# The e-services portal's menu path and buttons, in the portal's own words (DOMAIN.md).
PORTAL_PATH: Final = (
    "بیمه‌شدگان",
    "خدمات نام‌نویسی",
    "مشاهده و ثبت افراد تبعی",
    "اضافه کردن فرد جدید تحت پوشش",
)
PORTAL_STEPS: Final = (
    "national_id_birth_date_relation",
    "fetch_from_civil_registry",  # «دریافت اطلاعات از سازمان ثبت احوال»
    "other_details_and_documents",
    "confirm",  # «تائید و ادامه»
)

TRACKING_CODE_DIGITS: Final = 10


class Reason(StrEnum):
    """Why a dependant can (the first group) or cannot (the second) be added."""

    WIFE = "wife"
    HUSBAND_AGE = "husband_age"
    HUSBAND_DISABLED = "husband_disabled"
    SON_UNDER_AGE_LIMIT = "son_under_age_limit"
    SON_STUDENT = "son_student"
    SON_DISABLED = "son_disabled"
    DAUGHTER_UNMARRIED_NOT_EMPLOYED = "daughter_unmarried_not_employed"
    PARENT_AGE = "parent_age"
    PARENT_DISABLED = "parent_disabled"

    HUSBAND_UNDER_AGE = "husband_under_age"
    SON_OVER_AGE_LIMIT = "son_over_age_limit"
    DAUGHTER_MARRIED = "daughter_married"
    DAUGHTER_EMPLOYED = "daughter_employed"
    PARENT_UNDER_AGE = "parent_under_age"
    OWN_PENSION = "own_pension"
    NOT_SUPPORTED = "not_supported"
    RELATION_GENDER = "relation_gender"  # a wife for a female insured, a husband for a male one


class Document(StrEnum):
    """Documents to upload on the portal (or bring to the branch)."""

    BIRTH_CERTIFICATE = "birth_certificate"  # شناسنامه
    ORIGINAL_BIRTH_CERTIFICATE = "original_birth_certificate"  # اصل شناسنامه
    NATIONAL_CARD = "national_card"  # کارت ملی
    MARRIAGE_CERTIFICATE = "marriage_certificate"  # سند ازدواج
    UNIVERSITY_CERTIFICATE = "university_certificate"  # گواهی اشتغال به تحصیل
    DISABILITY_CERTIFICATE = "disability_certificate"  # گواهی از کارافتادگی
    NO_PENSION_CERTIFICATE = "no_pension_certificate"  # گواهی عدم دریافت مستمری


_BY_DISABILITY: Final = frozenset(
    {Reason.HUSBAND_DISABLED, Reason.SON_DISABLED, Reason.PARENT_DISABLED}
)


@dataclass(frozen=True, slots=True)
class DependantFacts:
    """What the rules look at; ``student`` means a valid university certificate."""

    relation: Relation
    birth_date: dt.date
    student: bool = False
    disabled: bool = False
    married: bool = False
    employed: bool = False
    own_pension: bool = False
    supported: bool = True


@dataclass(frozen=True, slots=True)
class DependantDecision:
    """The answer to «can I add …?»: yes or no, why, the documents and the portal path."""

    relation: Relation
    eligible: bool
    age_years: int
    reasons: tuple[Reason, ...]
    documents: tuple[Document, ...]
    # The age boundary that applies to the relation (the son's limit, the parents' minimum).
    age_threshold: int | None
    portal_path: tuple[str, ...] = PORTAL_PATH
    portal_steps: tuple[str, ...] = PORTAL_STEPS
    # Requests are reviewed by the branch; cover is not instant.
    branch_review: bool = True


@dataclass(frozen=True, slots=True)
class DependantInfo:
    """A current dependant, as listed to the insured."""

    national_id: str
    first_name: str
    last_name: str
    relation: Relation
    birth_date: dt.date
    age_years: int
    covered: bool
    coverage_until: dt.date | None


@dataclass(frozen=True, slots=True)
class DependantApplication:
    """A recorded application and its status."""

    tracking_code: str
    relation: Relation
    dependant_national_id: str
    birth_date: dt.date
    status: DependantRequestStatus
    created_at: dt.datetime


class DependantsService(DependantDesk):
    """The rule engine for adding dependants, the list of dependants, and applications; the
    desk's decisions on applications come from :class:`services.dependant_desk.DependantDesk`."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        registry: RegistryGateway | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._rules = settings.config.dependants
        self._clock = clock
        self._registry = registry or SqlRegistryGateway(session)

    def assess(
        self, facts: DependantFacts, insured_gender: Gender | None = None
    ) -> DependantDecision:
        """Decide whether a person with these facts can be added as a dependant today."""
        rules = self._rules
        age = age_in_years(facts.birth_date, self._clock.today())
        ok: list[Reason] = []
        no: list[Reason] = []
        docs = [Document.BIRTH_CERTIFICATE, Document.NATIONAL_CARD]
        threshold: int | None = None
        relation = facts.relation

        if relation is Relation.WIFE:
            docs.append(Document.MARRIAGE_CERTIFICATE)
            if insured_gender is Gender.FEMALE:
                no.append(Reason.RELATION_GENDER)
            else:
                ok.append(Reason.WIFE)
        elif relation is Relation.HUSBAND:
            threshold = rules.husband_min_age_years
            docs.append(Document.MARRIAGE_CERTIFICATE)
            if insured_gender is Gender.MALE:
                no.append(Reason.RELATION_GENDER)
            if age >= threshold:
                ok.append(Reason.HUSBAND_AGE)
            elif facts.disabled:
                ok.append(Reason.HUSBAND_DISABLED)
            else:
                no.append(Reason.HUSBAND_UNDER_AGE)
            if not facts.supported:
                no.append(Reason.NOT_SUPPORTED)
        elif relation is Relation.SON:
            threshold = rules.son_age_limit_years
            if age < threshold:
                ok.append(Reason.SON_UNDER_AGE_LIMIT)
            elif facts.student:
                ok.append(Reason.SON_STUDENT)
                docs.append(Document.UNIVERSITY_CERTIFICATE)
            elif facts.disabled:
                ok.append(Reason.SON_DISABLED)
            else:
                no.append(Reason.SON_OVER_AGE_LIMIT)
                docs.append(Document.UNIVERSITY_CERTIFICATE)
        elif relation is Relation.DAUGHTER:
            # Seed: daughters need the original birth certificate on file.
            docs[0] = Document.ORIGINAL_BIRTH_CERTIFICATE
            if facts.married:
                no.append(Reason.DAUGHTER_MARRIED)
            if facts.employed:
                no.append(Reason.DAUGHTER_EMPLOYED)
            if not no:
                ok.append(Reason.DAUGHTER_UNMARRIED_NOT_EMPLOYED)
        else:  # father or mother
            threshold = (
                rules.father_min_age_years
                if relation is Relation.FATHER
                else rules.mother_min_age_years
            )
            docs.append(Document.NO_PENSION_CERTIFICATE)
            if age >= threshold:
                ok.append(Reason.PARENT_AGE)
            elif facts.disabled:
                ok.append(Reason.PARENT_DISABLED)
            else:
                no.append(Reason.PARENT_UNDER_AGE)
            if facts.own_pension:
                no.append(Reason.OWN_PENSION)
            if not facts.supported:
                no.append(Reason.NOT_SUPPORTED)

        if any(r in _BY_DISABILITY for r in ok):
            docs.append(Document.DISABILITY_CERTIFICATE)
        eligible = not no
        return DependantDecision(
            relation=relation,
            eligible=eligible,
            age_years=age,
            reasons=tuple(ok if eligible else no),
            documents=tuple(docs),
            age_threshold=threshold,
        )

    async def list_dependants(self, user: UserRef) -> tuple[DependantInfo, ...]:
        """Return the verified user's current dependants with their cover."""
        national_id = await verified_national_id(self._session, user)
        today = self._clock.today()
        return tuple(
            DependantInfo(
                national_id=d.national_id,
                first_name=d.first_name,
                last_name=d.last_name,
                relation=d.relation,
                birth_date=d.birth_date,
                age_years=age_in_years(d.birth_date, today),
                covered=d.coverage_until is not None and d.coverage_until >= today,
                coverage_until=d.coverage_until,
            )
            for d in await self._registry.dependants(national_id)
        )

    async def record_application(
        self,
        user: UserRef,
        relation: Relation,
        dependant_national_id: str,
        birth_date: dt.date,
        facts: DependantFacts | None = None,
    ) -> DependantApplication:
        """Record an application to add a dependant, "under branch review", with a tracking code.

        ``dependant_national_id`` may be typed in any digits. When ``facts`` are given the rules
        are applied first (:class:`DependantNotEligible`). Also raises :class:`NotVerified`,
        :class:`InvalidNationalIdError`, :class:`InvalidDependant` (own ID, birth date in the
        future, relation that does not fit the insured's gender), :class:`AlreadyDependant` and
        :class:`DuplicateDependantRequest`. Commits.
        """
        national_id = await verified_national_id(self._session, user)
        try:
            dependant_id = normalize_national_id(dependant_national_id)
        except InvalidNationalId as exc:
            raise InvalidNationalIdError(exc.problem) from exc
        if dependant_id == national_id:
            raise InvalidDependant("self")
        if birth_date > self._clock.today():
            raise InvalidDependant("future_birth_date")
        person = await self._registry.person(national_id)
        if person is None:
            raise PersonNotFound()
        if (relation is Relation.WIFE and person.gender is Gender.FEMALE) or (
            relation is Relation.HUSBAND and person.gender is Gender.MALE
        ):
            raise InvalidDependant("relation_gender")
        if facts is not None:
            decision = self.assess(facts, insured_gender=person.gender)
            if not decision.eligible:
                raise DependantNotEligible([r.value for r in decision.reasons])
        current = await self._registry.dependants(national_id)
        if any(d.national_id == dependant_id for d in current):
            raise AlreadyDependant()
        pending = await self._session.scalar(
            select(DependantRequest.tracking_code).where(
                DependantRequest.insured_national_id == national_id,
                DependantRequest.dependant_national_id == dependant_id,
                DependantRequest.status == DependantRequestStatus.UNDER_BRANCH_REVIEW.value,
            )
        )
        if pending is not None:
            raise DuplicateDependantRequest(pending)

        code = await unique_code(
            self._session,
            DependantRequest.tracking_code,
            lambda: random_digits(TRACKING_CODE_DIGITS),
        )
        now = self._clock.now()
        request = DependantRequest(
            tracking_code=code,
            chat_user_id=user_id(user),
            insured_national_id=national_id,
            relation=relation.value,
            dependant_national_id=dependant_id,
            birth_date=birth_date,
            status=DependantRequestStatus.UNDER_BRANCH_REVIEW.value,
            created_at=now,
        )
        self._session.add(request)
        audit(
            self._session,
            self._clock,
            actor=f"chat_user:{user_id(user)}",
            action="dependants.application",
            subject=code,
            details={"relation": relation.value, "dependant": mask_national_id(dependant_id)},
        )
        await self._session.flush()
        logger.info("dependant application %s recorded (%s)", code, relation.value)
        return application_info(request)

    async def list_applications(self, user: UserRef) -> tuple[DependantApplication, ...]:
        """Return the verified user's applications, newest first."""
        national_id = await verified_national_id(self._session, user)
        rows = await self._session.scalars(
            select(DependantRequest)
            .where(DependantRequest.insured_national_id == national_id)
            .order_by(DependantRequest.created_at.desc(), DependantRequest.id.desc())
        )
        return tuple(application_info(row) for row in rows)

    async def add_document(
        self,
        tracking_code: str,
        *,
        platform: str,
        file_id: str,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """Keep a document the user sent for a request (the messenger's file reference)."""
        row = await self.request_row(tracking_code)
        document = DependantRequestDocument(
            request_id=row.id,
            platform=platform,
            file_id=file_id,
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            file_size=file_size,
            created_at=self._clock.now(),
        )
        self._session.add(document)
        await self._session.flush()
        return document.id

    async def document_count(self, tracking_code: str) -> int:
        """How many documents the request holds."""
        row = await self.request_row(tracking_code)
        count = await self._session.scalar(
            select(func.count())
            .select_from(DependantRequestDocument)
            .where(DependantRequestDocument.request_id == row.id)
        )
        return int(count or 0)


def application_info(row: DependantRequest) -> DependantApplication:
    return DependantApplication(
        tracking_code=row.tracking_code,
        relation=Relation(row.relation),
        dependant_national_id=row.dependant_national_id,
        birth_date=row.birth_date,
        status=DependantRequestStatus(row.status),
        created_at=row.created_at.astimezone(TEHRAN),
    )
