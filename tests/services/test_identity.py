"""Identity: own contact, normalised mobile, national-ID verification, lockout, logout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import MARYAM_NID, PERSONA_MOBILES, REZA_NID, UNKNOWN_MOBILE
from persian.national_id import NationalIdProblem
from services.clock import FixedClock
from services.db.models import AuditLog, VerificationAttempt
from services.enums import Gender, InsuranceRelation
from services.errors import (
    ContactNotOwn,
    ContactRequired,
    IdentityMismatch,
    InvalidMobileError,
    InvalidNationalIdError,
    MobileNotRegistered,
    NotVerified,
    VerificationLocked,
)
from services.identity import IdentityService
from services.metrics import metrics
from services.registry import (
    ContributionRow,
    Household,
    PensionSlipRow,
    RegistryDependant,
    RegistryPerson,
    VoluntaryContractRow,
)
from services.settings import Settings
from tests.conftest import with_config
from tests.services.helpers import unique_platform_id

MARYAM_MOBILE = PERSONA_MOBILES[MARYAM_NID]
PERSIAN_MARYAM_NID = "۶۵۰۸۱۲۴۲۲۶"


async def _user_with_contact(identity: IdentityService, mobile: str = MARYAM_MOBILE) -> int:
    platform_user_id = unique_platform_id()
    user = await identity.ensure_user("telegram", platform_user_id, "مریم")
    await identity.register_contact(user.id, contact_user_id=platform_user_id, phone_number=mobile)
    return user.id


async def test_ensure_user_is_idempotent_and_platforms_do_not_collide(
    session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    first = await identity.ensure_user("telegram", 42, "علی")
    again = await identity.ensure_user("telegram", 42, "علی")
    bale = await identity.ensure_user("bale", 42, "علی")
    assert first.id == again.id
    assert bale.id != first.id
    assert (await identity.find_user("bale", 42)) == bale
    assert await identity.find_user("bale", 43) is None
    assert not first.is_verified and not first.has_contact


@pytest.mark.parametrize("contact_user_id", [None, 999])
async def test_contact_must_be_the_senders_own(
    session: AsyncSession, db_settings: Settings, clock: FixedClock, contact_user_id: int | None
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user = await identity.ensure_user("telegram", 1000)
    with pytest.raises(ContactNotOwn) as caught:
        await identity.register_contact(
            user.id, contact_user_id=contact_user_id, phone_number=MARYAM_MOBILE
        )
    assert caught.value.code == "contact_not_own"
    assert (await identity.get_user(user.id)).mobile is None


@pytest.mark.parametrize(
    "raw", ["+989121234567", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "00989121234567", "989121234567", "912-123-4567"]
)
async def test_contact_mobile_is_normalised(
    session: AsyncSession, db_settings: Settings, clock: FixedClock, raw: str
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user = await identity.ensure_user("bale", 5)
    info = await identity.register_contact(user.id, contact_user_id=5, phone_number=raw)
    assert info.mobile == "09121234567"


async def test_contact_that_is_not_a_mobile(
    session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user = await identity.ensure_user("telegram", 6)
    with pytest.raises(InvalidMobileError):
        await identity.register_contact(user.id, contact_user_id=6, phone_number="02188776655")


async def test_verify_in_persian_digits(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user_id = await _user_with_contact(identity)
    verified = await identity.verify(user_id, PERSIAN_MARYAM_NID)
    assert verified.user.is_verified
    assert verified.user.national_id == MARYAM_NID
    assert verified.user.verified_at == clock.now()
    assert verified.person.full_name == "مریم رضایی"
    assert (await identity.verified_identity(user_id)).person.national_id == MARYAM_NID
    actions = (await session.scalars(select(AuditLog.action))).all()
    assert "identity.verified" in actions
    details = (await session.scalars(select(AuditLog.details))).all()
    assert all(MARYAM_NID not in str(d) for d in details)


async def test_mismatch_gives_the_branch_instruction_and_counts_down(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user_id = await _user_with_contact(identity)  # Maryam's mobile, Reza's national ID
    outcome = {"outcome": "identity_mismatch"}
    counted = metrics().registry.get_sample_value("tamin_verifications_total", outcome) or 0
    with pytest.raises(IdentityMismatch) as caught:
        await identity.verify(user_id, REZA_NID)
    # Counted for the metrics by its kind (no national ID, no user in the labels).
    assert metrics().registry.get_sample_value("tamin_verifications_total", outcome) == counted + 1
    assert type(caught.value) is IdentityMismatch
    assert caught.value.code == "identity_mismatch"
    assert caught.value.next_step == "register_mobile_at_branch"
    assert caught.value.attempts_left == db_settings.config.identity.max_failures - 1
    user = await identity.get_user(user_id)
    assert not user.is_verified
    masked = (await session.scalars(select(VerificationAttempt.national_id_masked))).all()
    assert masked and all(REZA_NID not in m for m in masked)


async def test_unknown_mobile(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user_id = await _user_with_contact(identity, UNKNOWN_MOBILE)
    with pytest.raises(MobileNotRegistered) as caught:
        await identity.verify(user_id, MARYAM_NID)
    assert caught.value.code == "mobile_not_registered"
    assert isinstance(caught.value, IdentityMismatch)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", NationalIdProblem.EMPTY),
        ("65081242", NationalIdProblem.WRONG_LENGTH),
        ("6508124227", NationalIdProblem.CHECKSUM),
        ("1111111111", NationalIdProblem.REPEATED),
        ("۶۵۰۸۱۲۴۲۲x", NationalIdProblem.NOT_DIGITS),
    ],
)
async def test_malformed_national_id_is_refused_without_counting(
    demo_db: AsyncEngine,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    raw: str,
    problem: NationalIdProblem,
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user_id = await _user_with_contact(identity)
    with pytest.raises(InvalidNationalIdError) as caught:
        await identity.verify(user_id, raw)
    assert caught.value.problem is problem
    assert await session.scalar(select(func.count()).select_from(VerificationAttempt)) == 0


async def test_contact_required_before_verifying(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    user = await identity.ensure_user("telegram", unique_platform_id())
    with pytest.raises(ContactRequired):
        await identity.verify(user.id, MARYAM_NID)


async def test_lockout_window(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    config = db_settings.config.identity
    identity = IdentityService(session, db_settings, clock)
    user_id = await _user_with_contact(identity)
    for left in range(config.max_failures - 1, 0, -1):
        with pytest.raises(IdentityMismatch) as caught:
            await identity.verify(user_id, REZA_NID)
        assert caught.value.attempts_left == left
        clock.advance(dt.timedelta(seconds=30))
    with pytest.raises(VerificationLocked) as locked:
        await identity.verify(user_id, REZA_NID)
    until = clock.now() + dt.timedelta(minutes=config.lockout_minutes)
    assert locked.value.until == until
    assert locked.value.code == "verification_locked"
    assert await identity.lock_status(user_id) == until

    # Even the right national ID is refused until the lock ends…
    clock.set(until - dt.timedelta(seconds=1))
    with pytest.raises(VerificationLocked):
        await identity.verify(user_id, MARYAM_NID)
    # …and accepted from the moment it ends; the count starts again after the lock.
    clock.set(until)
    assert await identity.lock_status(user_id) is None
    with pytest.raises(IdentityMismatch) as after:
        await identity.verify(user_id, REZA_NID)
    assert after.value.attempts_left == config.max_failures - 1
    assert (await identity.verify(user_id, MARYAM_NID)).user.is_verified


async def test_failures_outside_the_window_do_not_lock(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    settings = with_config(db_settings, "identity", max_failures=3, failure_window_minutes=10)
    identity = IdentityService(session, settings, clock)
    user_id = await _user_with_contact(identity)
    for _ in range(6):
        with pytest.raises(IdentityMismatch) as caught:
            await identity.verify(user_id, REZA_NID)
        assert caught.value.attempts_left >= 1
        clock.advance(dt.timedelta(minutes=6))  # at most two failures in any 10 minutes


async def test_success_resets_the_count(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    settings = with_config(db_settings, "identity", max_failures=2)
    identity = IdentityService(session, settings, clock)
    user_id = await _user_with_contact(identity)
    with pytest.raises(IdentityMismatch):
        await identity.verify(user_id, REZA_NID)
    clock.advance(dt.timedelta(seconds=1))
    await identity.verify(user_id, MARYAM_NID)
    clock.advance(dt.timedelta(seconds=1))
    with pytest.raises(IdentityMismatch) as caught:
        await identity.verify(user_id, REZA_NID)
    assert caught.value.attempts_left == 1


async def test_new_contact_ends_verification_and_logout_forgets(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    identity = IdentityService(session, db_settings, clock)
    platform_user_id = unique_platform_id()
    user = await identity.ensure_user("telegram", platform_user_id)
    await identity.register_contact(
        user.id, contact_user_id=platform_user_id, phone_number=MARYAM_MOBILE
    )
    await identity.verify(user.id, MARYAM_NID)
    same = await identity.register_contact(
        user.id, contact_user_id=platform_user_id, phone_number="+98 912 123 4567"
    )
    assert same.is_verified  # the same mobile again changes nothing
    other = await identity.register_contact(
        user.id, contact_user_id=platform_user_id, phone_number=PERSONA_MOBILES[REZA_NID]
    )
    assert not other.is_verified and other.mobile == PERSONA_MOBILES[REZA_NID]
    await identity.verify(user.id, REZA_NID)
    out = await identity.logout(user.id)
    assert out.national_id is None and out.mobile is None and not out.is_verified
    with pytest.raises(NotVerified):
        await identity.verified_identity(user.id)


class _Upstream:
    """A registry that is not our tables: the gateway is the seam a real upstream plugs into."""

    def __init__(self, people: dict[str, RegistryPerson]) -> None:
        self.people = people

    async def person(self, national_id: str) -> RegistryPerson | None:
        return self.people.get(national_id)

    async def mobile_matches(self, national_id: str, mobile: str) -> bool:
        person = self.people.get(national_id)
        return person is not None and person.mobile == mobile

    async def mobile_registered(self, mobile: str) -> bool:
        return any(p.mobile == mobile for p in self.people.values())

    async def dependants(self, national_id: str) -> Sequence[RegistryDependant]:
        return []

    async def last_contribution(self, national_id: str) -> ContributionRow | None:
        return None

    async def contributions(self, national_id: str) -> Sequence[ContributionRow]:
        return []

    async def pension_slips(self, national_id: str, limit: int) -> Sequence[PensionSlipRow]:
        return []

    async def household(self, national_id: str) -> Household | None:
        person = self.people.get(national_id)
        return None if person is None else Household(person=person, dependants=())

    async def voluntary_contract(self, national_id: str) -> VoluntaryContractRow | None:
        return None


async def test_another_registry_gateway(
    session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    person = RegistryPerson(
        national_id=MARYAM_NID,
        first_name="م",
        last_name="ر",
        father_name="ح",
        birth_date=dt.date(1981, 9, 6),
        gender=Gender.FEMALE,
        mobile="09120000001",
        insurance_relation=InsuranceRelation.MANDATORY,
        insured_since=None,
        coverage_until=None,
    )
    identity = IdentityService(
        session, db_settings, clock, registry=_Upstream({MARYAM_NID: person})
    )
    user_id = await _user_with_contact(identity, "09120000001")
    assert (await identity.verify(user_id, MARYAM_NID)).person is person
