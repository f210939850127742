"""Dependants: the rule engine at every boundary, the list, and applications."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from demo import ALI_NID, HASAN_NID, MARYAM_NID, PERSONA_MOBILES, SARA_NID
from persian.jalali import from_jalali, jalali_anniversary
from services.clock import FixedClock
from services.dependants import (
    PORTAL_PATH,
    DependantFacts,
    DependantsService,
    Document,
    Reason,
)
from services.enums import DependantRequestStatus, Gender, Relation
from services.errors import (
    AlreadyDependant,
    DependantNotEligible,
    DuplicateDependantRequest,
    InvalidDependant,
    InvalidNationalIdError,
    NotVerified,
)
from services.settings import Settings
from tests.conftest import with_config
from tests.services.helpers import chat_user, make_national_id, verified_user


def born_turning(clock: FixedClock, years: int, days_until_birthday: int) -> dt.date:
    """A birth date whose ``years``-th Jalali birthday is ``days_until_birthday`` from today."""
    target = clock.today() + dt.timedelta(days=days_until_birthday)
    y, m, d = (int(p) for p in _jalali(target))
    return from_jalali(y - years, m, d)


def _jalali(day: dt.date) -> tuple[int, int, int]:
    from persian.jalali import to_jalali

    return to_jalali(day)


def service(settings: Settings, clock: FixedClock) -> DependantsService:
    return DependantsService(None, settings, clock)  # type: ignore[arg-type]  # rules need no DB


def test_son_day_before_and_day_of_the_age_limit(settings: Settings, clock: FixedClock) -> None:
    limit = settings.config.dependants.son_age_limit_years
    rules = service(settings, clock)
    day_before = rules.assess(DependantFacts(Relation.SON, born_turning(clock, limit, 1)))
    assert day_before.eligible and day_before.age_years == limit - 1
    assert day_before.reasons == (Reason.SON_UNDER_AGE_LIMIT,)
    assert day_before.age_threshold == limit
    day_of = rules.assess(DependantFacts(Relation.SON, born_turning(clock, limit, 0)))
    assert not day_of.eligible and day_of.age_years == limit
    assert day_of.reasons == (Reason.SON_OVER_AGE_LIMIT,)
    assert Document.UNIVERSITY_CERTIFICATE in day_of.documents
    student = rules.assess(DependantFacts(Relation.SON, born_turning(clock, 24, 0), student=True))
    assert student.eligible and student.reasons == (Reason.SON_STUDENT,)
    disabled = rules.assess(
        DependantFacts(Relation.SON, born_turning(clock, 30, 0), disabled=True)
    )
    assert disabled.eligible and Document.DISABILITY_CERTIFICATE in disabled.documents


def test_son_limit_comes_from_config(settings: Settings, clock: FixedClock) -> None:
    nineteen = with_config(settings, "dependants", son_age_limit_years=19)
    born = born_turning(clock, 19, 0)
    assert service(settings, clock).assess(DependantFacts(Relation.SON, born)).eligible
    assert not service(nineteen, clock).assess(DependantFacts(Relation.SON, born)).eligible


@pytest.mark.parametrize(("relation", "minimum"), [(Relation.FATHER, 60), (Relation.MOTHER, 55)])
def test_parents_ages(
    settings: Settings, clock: FixedClock, relation: Relation, minimum: int
) -> None:
    rules = service(settings, clock)
    younger = rules.assess(DependantFacts(relation, born_turning(clock, minimum, 1)))
    assert younger.age_years == minimum - 1
    assert not younger.eligible and younger.reasons == (Reason.PARENT_UNDER_AGE,)
    old_enough = rules.assess(DependantFacts(relation, born_turning(clock, minimum, 0)))
    assert old_enough.age_years == minimum
    assert old_enough.eligible and old_enough.reasons == (Reason.PARENT_AGE,)
    assert old_enough.age_threshold == minimum
    assert Document.NO_PENSION_CERTIFICATE in old_enough.documents
    disabled = rules.assess(DependantFacts(relation, born_turning(clock, 40, 0), disabled=True))
    assert disabled.eligible and disabled.reasons == (Reason.PARENT_DISABLED,)
    pension = rules.assess(DependantFacts(relation, born_turning(clock, 70, 0), own_pension=True))
    assert not pension.eligible and pension.reasons == (Reason.OWN_PENSION,)
    alone = rules.assess(DependantFacts(relation, born_turning(clock, 70, 0), supported=False))
    assert not alone.eligible and alone.reasons == (Reason.NOT_SUPPORTED,)


def test_father_59_vs_60_and_mother_54_vs_55(settings: Settings, clock: FixedClock) -> None:
    rules = service(settings, clock)
    for relation, young, old in ((Relation.FATHER, 59, 60), (Relation.MOTHER, 54, 55)):
        assert not rules.assess(DependantFacts(relation, born_turning(clock, young, 30))).eligible
        assert rules.assess(DependantFacts(relation, born_turning(clock, old, -30))).eligible


def test_spouses(settings: Settings, clock: FixedClock) -> None:
    rules = service(settings, clock)
    wife = rules.assess(DependantFacts(Relation.WIFE, born_turning(clock, 30, 10)), Gender.MALE)
    assert wife.eligible and wife.reasons == (Reason.WIFE,)
    assert Document.MARRIAGE_CERTIFICATE in wife.documents
    assert wife.portal_path == PORTAL_PATH and wife.branch_review
    assert not rules.assess(
        DependantFacts(Relation.WIFE, born_turning(clock, 30, 10)), Gender.FEMALE
    ).eligible
    husband_59 = rules.assess(DependantFacts(Relation.HUSBAND, born_turning(clock, 60, 1)))
    assert not husband_59.eligible and husband_59.reasons == (Reason.HUSBAND_UNDER_AGE,)
    husband_60 = rules.assess(DependantFacts(Relation.HUSBAND, born_turning(clock, 60, 0)))
    assert husband_60.eligible and husband_60.reasons == (Reason.HUSBAND_AGE,)
    disabled = rules.assess(
        DependantFacts(Relation.HUSBAND, born_turning(clock, 40, 0), disabled=True)
    )
    assert disabled.eligible and disabled.reasons == (Reason.HUSBAND_DISABLED,)
    not_supported = rules.assess(
        DependantFacts(Relation.HUSBAND, born_turning(clock, 65, 0), supported=False)
    )
    assert not not_supported.eligible and not_supported.reasons == (Reason.NOT_SUPPORTED,)


def test_daughters(settings: Settings, clock: FixedClock) -> None:
    rules = service(settings, clock)
    born = born_turning(clock, 25, 0)
    single = rules.assess(DependantFacts(Relation.DAUGHTER, born))
    assert single.eligible and single.reasons == (Reason.DAUGHTER_UNMARRIED_NOT_EMPLOYED,)
    assert single.documents[0] is Document.ORIGINAL_BIRTH_CERTIFICATE
    both = rules.assess(DependantFacts(Relation.DAUGHTER, born, married=True, employed=True))
    assert not both.eligible
    assert both.reasons == (Reason.DAUGHTER_MARRIED, Reason.DAUGHTER_EMPLOYED)


def test_age_is_counted_on_the_jalali_calendar(clock: FixedClock) -> None:
    from persian.jalali import age_in_years

    born = from_jalali(1383, 5, 14)
    assert age_in_years(born, from_jalali(1403, 5, 13)) == 19
    assert age_in_years(born, from_jalali(1403, 5, 14)) == 20
    leap = from_jalali(1399, 12, 30)  # 1399 is a leap year
    assert jalali_anniversary(leap, 1) == from_jalali(1401, 1, 1)


async def test_list_dependants(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    listed = await DependantsService(session, db_settings, clock).list_dependants(user.id)
    assert [(d.national_id, d.relation, d.age_years, d.covered) for d in listed] == [
        (ALI_NID, Relation.SON, 20, False),
        (SARA_NID, Relation.DAUGHTER, 14, True),
    ]


async def test_record_application(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    user = await verified_user(session, db_settings, clock, HASAN_NID, PERSONA_MOBILES[HASAN_NID])
    deps = DependantsService(session, db_settings, clock)
    newborn_grandson = make_national_id(501)
    persian_digits = newborn_grandson.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    app = await deps.record_application(
        user.id, Relation.SON, persian_digits, clock.today() - dt.timedelta(days=30)
    )
    assert app.status is DependantRequestStatus.UNDER_BRANCH_REVIEW
    assert app.tracking_code.isdigit() and len(app.tracking_code) == 10
    assert app.dependant_national_id == newborn_grandson
    with pytest.raises(DuplicateDependantRequest) as duplicate:
        await deps.record_application(user.id, Relation.SON, newborn_grandson, dt.date(2024, 7, 1))
    assert duplicate.value.tracking_code == app.tracking_code

    father = make_national_id(502)
    with pytest.raises(DependantNotEligible) as refused:
        await deps.record_application(
            user.id,
            Relation.FATHER,
            father,
            from_jalali(1300, 1, 1),
            DependantFacts(Relation.FATHER, from_jalali(1300, 1, 1), own_pension=True),
        )
    assert refused.value.reasons == ("own_pension",)
    listed = await deps.list_applications(user.id)
    assert [a.tracking_code for a in listed] == [app.tracking_code]


async def test_application_refusals(
    demo_db: AsyncEngine, session: AsyncSession, db_settings: Settings, clock: FixedClock
) -> None:
    maryam = await verified_user(
        session, db_settings, clock, MARYAM_NID, PERSONA_MOBILES[MARYAM_NID]
    )
    deps = DependantsService(session, db_settings, clock)
    with pytest.raises(AlreadyDependant):
        await deps.record_application(maryam.id, Relation.DAUGHTER, SARA_NID, dt.date(2010, 1, 1))
    with pytest.raises(InvalidDependant) as own:
        await deps.record_application(maryam.id, Relation.SON, MARYAM_NID, dt.date(2010, 1, 1))
    assert own.value.problem == "self"
    with pytest.raises(InvalidDependant) as future:
        await deps.record_application(
            maryam.id, Relation.SON, make_national_id(9), clock.today() + dt.timedelta(days=1)
        )
    assert future.value.problem == "future_birth_date"
    with pytest.raises(InvalidDependant) as gender:
        await deps.record_application(
            maryam.id, Relation.WIFE, make_national_id(9), dt.date(1980, 1, 1)
        )
    assert gender.value.problem == "relation_gender"
    with pytest.raises(InvalidNationalIdError):
        await deps.record_application(maryam.id, Relation.SON, "1234567890", dt.date(2010, 1, 1))
    stranger = await chat_user(session, db_settings, clock)
    with pytest.raises(NotVerified):
        await deps.record_application(
            stranger.id, Relation.SON, make_national_id(9), dt.date(2010, 1, 1)
        )
