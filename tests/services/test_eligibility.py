"""Treatment eligibility: the personas' answers, reasons, next steps and tracking codes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import (
    ALI_NID,
    FATEMEH_NID,
    HASAN_NID,
    MARYAM_NID,
    PERSONA_MOBILES,
    REZA_NID,
    SARA_NID,
    ZAHRA_NID,
)
from persian.jalali import from_jalali, jalali_anniversary, jalali_month_end, to_jalali
from services.clock import FixedClock
from services.db.models import EligibilityInquiry
from services.eligibility import (
    EligibilityResult,
    EligibilityService,
    NextStep,
    NotCoveredReason,
    Who,
)
from services.enums import InsuranceRelation, Relation
from services.errors import NoSuchDependant, NotVerified
from services.settings import Settings
from tests.services.helpers import add_person, chat_user, make_national_id, verified_user


async def _inquire(
    session: AsyncSession,
    settings: Settings,
    clock: FixedClock,
    national_id: str,
    mobile: str | None = None,
    who: Who = None,
) -> EligibilityResult:
    user = await verified_user(
        session, settings, clock, national_id, mobile or PERSONA_MOBILES[national_id]
    )
    result = await EligibilityService(session, settings, clock).inquire(user.id, who)
    await session.commit()
    return result


async def test_maryam_and_her_children(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    result = await _inquire(session, db_settings, clock, MARYAM_NID)
    rows = {row.national_id: row for row in result.rows}
    assert list(rows) == [MARYAM_NID, ALI_NID, SARA_NID]  # self first, then oldest first
    maryam, ali, sara = rows[MARYAM_NID], rows[ALI_NID], rows[SARA_NID]

    assert maryam.relation is None and maryam.covered
    grace = dt.timedelta(days=db_settings.config.eligibility.grace_days_after_last_paid_month)
    assert maryam.coverage_until == jalali_month_end(1403, 4) + grace
    assert maryam.reason is None and maryam.next_step is None

    assert sara.relation is Relation.DAUGHTER and sara.covered
    assert sara.coverage_until == maryam.coverage_until

    assert ali.relation is Relation.SON and not ali.covered
    assert ali.reason is NotCoveredReason.SON_OVER_AGE_LIMIT
    assert ali.next_step is NextStep.BRANCH_WITH_UNIVERSITY_CERTIFICATE
    assert ali.coverage_until is not None and ali.coverage_until < clock.today()

    assert result.tracking_code.isdigit() and len(result.tracking_code) == 12
    assert result.inquired_at == clock.now()


async def test_relation_filter_answers_for_the_son(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    result = await _inquire(session, db_settings, clock, MARYAM_NID, who=Relation.SON)
    assert [row.national_id for row in result.rows] == [ALI_NID]
    # The whole family by first name, whoever was asked about (a follow-up may name one).
    assert set(result.family) == {("سارا", Relation.DAUGHTER), ("علی", Relation.SON)}
    only_me = await EligibilityService(session, db_settings, clock).inquire(
        (await _user_id(session, MARYAM_NID)), "self"
    )
    assert [row.national_id for row in only_me.rows] == [MARYAM_NID]
    with pytest.raises(NoSuchDependant) as caught:
        await EligibilityService(session, db_settings, clock).inquire(
            (await _user_id(session, MARYAM_NID)), Relation.FATHER
        )
    assert caught.value.relation == "father"


async def _user_id(session: AsyncSession, national_id: str) -> int:
    from services.db.models import ChatUser

    found = await session.scalar(
        select(ChatUser.id).where(ChatUser.national_id == national_id).limit(1)
    )
    assert found is not None
    return found


async def test_reza_contributions_stopped(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    result = await _inquire(session, db_settings, clock, REZA_NID)
    (reza,) = result.rows
    assert not reza.covered
    assert reza.reason is NotCoveredReason.CONTRIBUTIONS_STOPPED
    assert reza.next_step is NextStep.EMPLOYER_CONTRIBUTIONS
    assert reza.last_paid_month == (1400, 5)  # three years before 1403/05


async def test_hasan_pensioner_and_wife_covered(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    result = await _inquire(session, db_settings, clock, HASAN_NID)
    assert [(r.national_id, r.covered) for r in result.rows] == [
        (HASAN_NID, True),
        (FATEMEH_NID, True),
    ]
    assert result.rows[1].relation is Relation.WIFE


async def test_zahra_voluntary_covered(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    result = await _inquire(session, db_settings, clock, ZAHRA_NID)
    (zahra,) = result.rows
    assert zahra.covered
    assert zahra.coverage_until is not None
    assert zahra.coverage_until > jalali_month_end(1403, 5)


async def test_coverage_boundary_is_inclusive(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    today = clock.today()
    for seed, until, covered in ((1, today, True), (2, today - dt.timedelta(days=1), False)):
        nid = make_national_id(seed)
        mobile = f"0912000000{seed}"
        await add_person(engine, national_id=nid, mobile=mobile, coverage_until=until)
        result = await _inquire(session, db_settings, clock, nid, mobile)
        assert result.rows[0].covered is covered


async def test_reasons_for_dependants(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    today = clock.today()
    past = today - dt.timedelta(days=10)
    future = today + dt.timedelta(days=30)
    nid, mobile = make_national_id(10), "09120000010"
    await add_person(
        engine,
        national_id=nid,
        mobile=mobile,
        coverage_until=future,
        dependants=[
            # A daughter without the original birth certificate on file (the seed's case).
            {"relation": Relation.DAUGHTER, "birth_date": from_jalali(1390, 1, 1),
             "birth_certificate": False, "coverage_until": past},
            {"relation": Relation.DAUGHTER, "birth_date": from_jalali(1375, 1, 1),
             "married": True, "coverage_until": past},
            {"relation": Relation.MOTHER, "birth_date": from_jalali(1330, 1, 1),
             "own_pension": True, "coverage_until": past},
            # A son of 19: under the limit, so the facts do not explain it.
            {"relation": Relation.SON, "birth_date": from_jalali(1384, 1, 1),
             "coverage_until": past},
            {"relation": Relation.WIFE, "birth_date": from_jalali(1360, 1, 1),
             "coverage_until": future},
        ],
    )  # fmt: skip
    result = await _inquire(session, db_settings, clock, nid, mobile)
    by_relation = {(r.relation, r.reason, r.next_step) for r in result.rows if not r.covered}
    assert by_relation == {
        (
            Relation.DAUGHTER,
            NotCoveredReason.DAUGHTER_NO_BIRTH_CERTIFICATE,
            NextStep.BRANCH_WITH_ORIGINAL_BIRTH_CERTIFICATE,
        ),
        (Relation.DAUGHTER, NotCoveredReason.DAUGHTER_MARRIED, NextStep.DISPUTE_VIA_1420),
        (Relation.MOTHER, NotCoveredReason.PARENT_OWN_PENSION, NextStep.DISPUTE_VIA_1420),
        (Relation.SON, NotCoveredReason.COVERAGE_ENDED, NextStep.DISPUTE_VIA_1420),
    }


async def test_dependants_of_an_uncovered_insured(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    past = clock.today() - dt.timedelta(days=100)
    nid, mobile = make_national_id(20), "09120000020"
    await add_person(
        engine,
        national_id=nid,
        mobile=mobile,
        coverage_until=past,
        relation=InsuranceRelation.VOLUNTARY,
        dependants=[
            {"relation": Relation.WIFE, "birth_date": from_jalali(1365, 1, 1),
             "coverage_until": past},
        ],
    )  # fmt: skip
    result = await _inquire(session, db_settings, clock, nid, mobile)
    me, wife = result.rows
    assert me.reason is NotCoveredReason.VOLUNTARY_UNPAID
    assert me.next_step is NextStep.PAY_CONTRIBUTIONS
    assert wife.reason is NotCoveredReason.MAIN_INSURED_NOT_COVERED
    assert wife.next_step is NextStep.PAY_CONTRIBUTIONS


async def test_every_inquiry_gets_a_new_stored_code(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    service = EligibilityService(session, db_settings, clock)
    codes = [(await service.inquire(user.id)).tracking_code for _ in range(30)]
    assert len(set(codes)) == 30
    stored = (await session.scalars(select(EligibilityInquiry.tracking_code))).all()
    assert set(stored) == set(codes)
    row = await session.scalar(
        select(EligibilityInquiry).where(EligibilityInquiry.tracking_code == codes[0])
    )
    assert row is not None and row.covered and row.chat_user_id == user.id
    assert len(row.result) == 3 and MARYAM_NID not in str(row.result)
    assert await session.scalar(select(func.count()).select_from(EligibilityInquiry)) == 30


async def test_not_verified(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await chat_user(session, db_settings, clock)
    with pytest.raises(NotVerified) as caught:
        await EligibilityService(session, db_settings, clock).inquire(user.id)
    assert caught.value.code == "not_verified"


async def test_son_on_the_day_before_and_the_day_of_the_age_limit(
    engine: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    limit = db_settings.config.dependants.son_age_limit_years
    birthday = clock.today() + dt.timedelta(days=1)  # he turns `limit` tomorrow
    jy, jm, jd = to_jalali(birthday)
    born = from_jalali(jy - limit, jm, jd)
    assert jalali_anniversary(born, limit) == birthday
    nid, mobile = make_national_id(30), "09120000030"
    await add_person(
        engine,
        national_id=nid,
        mobile=mobile,
        coverage_until=clock.today() + dt.timedelta(days=90),
        dependants=[
            # As the registry records it: covered until the day before the birthday.
            {"relation": Relation.SON, "birth_date": born,
             "coverage_until": birthday - dt.timedelta(days=1)},
        ],
    )  # fmt: skip
    user = await verified_user(session, db_settings, clock, nid, mobile)
    service = EligibilityService(session, db_settings, clock)
    day_before = (await service.inquire(user.id, Relation.SON)).rows[0]
    assert day_before.covered and day_before.reason is None
    clock.advance(dt.timedelta(days=1))
    day_of = (await service.inquire(user.id, Relation.SON)).rows[0]
    assert not day_of.covered
    assert day_of.reason is NotCoveredReason.SON_OVER_AGE_LIMIT
    assert day_of.next_step is NextStep.BRANCH_WITH_UNIVERSITY_CERTIFICATE


async def test_the_updates_user_record_saves_the_look_up(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, ZAHRA_NID, PERSONA_MOBILES[ZAHRA_NID])
    service = EligibilityService(session, db_settings, clock)
    by_record = await service.inquire(user)
    by_id = await service.inquire(user.id)
    assert by_record.rows == by_id.rows
    stored = await session.scalar(
        select(EligibilityInquiry.chat_user_id).where(
            EligibilityInquiry.tracking_code == by_record.tracking_code
        )
    )
    assert stored == user.id
    stranger = await chat_user(session, db_settings, clock)
    with pytest.raises(NotVerified):
        await service.inquire(stranger)


async def test_a_tracking_code_clash_is_retried(
    demo_db: AsyncEngine,
    session: AsyncSession,
    db_settings: Settings,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import services.eligibility_store as eligibility_store

    user = await verified_user(session, db_settings, clock, REZA_NID, PERSONA_MOBILES[REZA_NID])
    service = EligibilityService(session, db_settings, clock)
    first = await service.inquire(user)
    codes = iter([first.tracking_code, "000000000042"])
    monkeypatch.setattr(eligibility_store, "random_digits", lambda _count: next(codes))
    second = await service.inquire(user)
    assert second.tracking_code == "000000000042"
    assert await session.scalar(select(func.count()).select_from(EligibilityInquiry)) == 2
