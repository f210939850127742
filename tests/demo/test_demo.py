"""Demo data: the personas exactly as issue 2 says, idempotence, deterministic synthetic people."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from demo import (
    ALI_NID,
    FATEMEH_NID,
    HASAN_NID,
    MARYAM_NID,
    REZA_NID,
    SARA_NID,
    UNKNOWN_MOBILE,
    ZAHRA_NID,
    load_demo_data,
    run_demo_data,
    synthetic_mobile,
    synthetic_national_id,
)
from persian import validate_national_id
from persian.jalali import age_in_years, jalali_month_end, to_jalali
from services.clock import TEHRAN, FixedClock
from services.db.models import (
    ContributionMonth,
    Dependant,
    PensionSlip,
    Person,
    VoluntaryContract,
)
from services.settings import Settings
from tests.conftest import _truncate


async def _people(engine: AsyncEngine) -> dict[str, Person]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Person))).all()
    return {row.national_id: row for row in rows}  # type: ignore[misc]


async def test_personas_exactly(
    demo_db: AsyncEngine, db_settings: Settings, clock: FixedClock
) -> None:
    people = await _people(demo_db)
    expected = {
        MARYAM_NID: ("مریم", "رضایی", "09121234567", "mandatory", 1360),
        REZA_NID: ("رضا", "کاظمی", "09351112233", "mandatory", 1355),
        HASAN_NID: ("حسن", "کریمی", "09131112233", "pensioner", 1330),
        ZAHRA_NID: ("زهرا", "حسینی", "09191234567", "voluntary", 1365),
    }
    from persian.jalali import to_jalali

    for nid, (first, last, mobile, relation, year) in expected.items():
        person = people[nid]
        assert (person.first_name, person.last_name, person.mobile) == (first, last, mobile)
        assert person.insurance_relation == relation
        assert to_jalali(person.birth_date)[0] == year
    today = clock.today()
    assert people[MARYAM_NID].insured_since is not None
    assert to_jalali(people[MARYAM_NID].insured_since)[:2] == (1395, 1)
    assert people[MARYAM_NID].coverage_until >= today  # type: ignore[operator]
    assert people[REZA_NID].coverage_until < today  # type: ignore[operator]
    assert people[HASAN_NID].coverage_until >= today  # type: ignore[operator]
    assert people[ZAHRA_NID].coverage_until >= today  # type: ignore[operator]
    assert all(p.mobile != UNKNOWN_MOBILE for p in people.values())

    async with demo_db.connect() as conn:
        deps = {d.national_id: d for d in (await conn.execute(select(Dependant))).all()}
        slips = await conn.scalar(select(func.count()).select_from(PensionSlip))
        contracts = (await conn.execute(select(VoluntaryContract))).all()
    assert set(deps) == {SARA_NID, ALI_NID, FATEMEH_NID}
    sara, ali, fatemeh = deps[SARA_NID], deps[ALI_NID], deps[FATEMEH_NID]
    assert (sara.first_name, sara.relation) == ("سارا", "daughter")
    assert age_in_years(sara.birth_date, today) == 14 and sara.coverage_until >= today
    assert (ali.first_name, ali.relation) == ("علی", "son")
    assert age_in_years(ali.birth_date, today) == 20
    assert not ali.has_university_certificate and ali.coverage_until < today
    assert (fatemeh.first_name, fatemeh.relation) == ("فاطمه", "wife")
    assert fatemeh.coverage_until >= today
    assert slips == 6
    assert len(contracts) == 1 and contracts[0].paid_through >= today


async def test_load_is_idempotent_and_synthetic_people_are_sound(
    engine: AsyncEngine, db_settings: Settings, clock: FixedClock
) -> None:
    first = await load_demo_data(engine, db_settings, clock, people=150)
    assert first.added_people == 150 and first.people == 154
    again = await load_demo_data(engine, db_settings, clock, people=150)
    assert again.added_people == 0
    for field in ("people", "dependants", "contribution_months", "pension_slips",
                  "voluntary_contracts", "workshops"):  # fmt: skip
        assert getattr(again, field) == getattr(first, field), field
    more = await load_demo_data(engine, db_settings, clock, people=200)
    assert more.added_people == 50 and more.people == 204

    people = await _people(engine)
    mobiles = [p.mobile for p in people.values() if p.mobile]
    assert len(mobiles) == len(set(mobiles))
    assert UNKNOWN_MOBILE not in mobiles
    assert all(validate_national_id(nid) for nid in people)
    async with engine.connect() as conn:
        dep_ids = (await conn.scalars(select(Dependant.national_id))).all()
        relations = set((await conn.scalars(select(Person.insurance_relation))).all())
        months = await conn.scalar(select(func.count()).select_from(ContributionMonth))
    assert all(validate_national_id(nid) for nid in dep_ids)
    assert not set(dep_ids) & set(people)
    assert relations == {"mandatory", "voluntary", "self_employed", "pensioner", "unemployment"}
    assert months and months > 200 * 6
    names = {p.first_name for p in people.values()}
    assert len(names) > 30


async def test_synthetic_person_i_does_not_depend_on_n(
    engine: AsyncEngine,
    db_settings: Settings,
    clock: FixedClock,
    existing_tables: tuple[str, ...],
) -> None:
    await load_demo_data(engine, db_settings, clock, people=40)
    small = await _people(engine)
    await _truncate(engine, existing_tables)
    await load_demo_data(engine, db_settings, clock, people=90)
    large = await _people(engine)
    for index in range(40):
        nid = synthetic_national_id(index)
        a, b = small[nid], large[nid]
        assert (a.first_name, a.last_name, a.birth_date, a.mobile, a.coverage_until) == (
            b.first_name,
            b.last_name,
            b.birth_date,
            b.mobile,
            b.coverage_until,
        )


def test_identifiers_are_unique_and_valid() -> None:
    nids = [synthetic_national_id(i) for i in range(20_000)]
    assert len(set(nids)) == len(nids) and all(validate_national_id(n) for n in nids)
    mobiles = [synthetic_mobile(i) for i in range(20_000)]
    assert len(set(mobiles)) == len(mobiles)
    assert UNKNOWN_MOBILE not in mobiles
    assert all(m.startswith("09") and len(m) == 11 for m in mobiles)


async def test_run_demo_data_command(
    db_settings: Settings, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FixedClock(dt.date(2025, 1, 15))
    assert await run_demo_data(db_settings, people=5, clock=clock) == 0
    out = capsys.readouterr().out
    assert "people 9" in out and MARYAM_NID in out and "09121234567" in out
    assert await run_demo_data(db_settings, people=-1) == 2


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        # 23:59 in Tehran: the data of Wednesday, 1403/05/31.
        (dt.datetime(2024, 8, 21, 20, 29, tzinfo=dt.UTC), dt.date(2024, 8, 21)),
        # 00:01 in Tehran, still Wednesday in UTC: the data of Thursday, 1403/06/01.
        (dt.datetime(2024, 8, 21, 20, 31, tzinfo=dt.UTC), dt.date(2024, 8, 22)),
    ],
    ids=["just-before-tehran-midnight", "just-after-tehran-midnight"],
)
async def test_the_command_loads_the_day_of_the_products_clock_in_tehran(
    db_settings: Settings,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
    moment: dt.datetime,
    day: dt.date,
) -> None:
    # `tamin-bot demo-data` as the end-to-end tests start it: no clock given, the settings'
    # TAMIN_CLOCK_START, the same the bot process then runs on.
    env = db_settings.env.model_copy(update={"tamin_clock_start": moment.astimezone(TEHRAN)})
    assert await run_demo_data(db_settings.model_copy(update={"env": env})) == 0
    assert f"for {day.isoformat()}" in capsys.readouterr().out
    people = await _people(engine)
    pensioner_days = db_settings.config.eligibility.pensioner_coverage_days
    assert people[HASAN_NID].coverage_until == day + dt.timedelta(days=pensioner_days)
    # Zahra's contract is paid through the Jalali month of that day, plus the grace.
    grace = db_settings.config.eligibility.grace_days_after_last_paid_month
    assert people[ZAHRA_NID].coverage_until == jalali_month_end(
        *to_jalali(day)[:2]
    ) + dt.timedelta(days=grace)
