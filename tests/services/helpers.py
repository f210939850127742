"""Builders for service tests: registry rows with chosen facts, verified chat users, and
intent-log rows."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from persian import national_id_check_digit
from services.clock import Clock
from services.db.handoff_models import IntentLogEntry
from services.db.models import ContributionMonth, Dependant, Person
from services.enums import Gender, InsuranceRelation, Relation
from services.identity import ChatUserInfo, IdentityService
from services.settings import Settings

_counter = itertools.count(1)


def make_national_id(seed: int) -> str:
    """A valid national ID derived from ``seed`` (distinct seeds give distinct IDs)."""
    nine = f"{(seed * 7_654_321 + 11) % 10**9:09d}"
    return nine + national_id_check_digit(nine)


def unique_platform_id() -> int:
    return 700_000_000 + next(_counter)


async def add_person(
    engine: AsyncEngine,
    *,
    national_id: str,
    mobile: str | None,
    coverage_until: dt.date | None,
    relation: InsuranceRelation = InsuranceRelation.MANDATORY,
    gender: Gender = Gender.MALE,
    birth_date: dt.date = dt.date(1980, 1, 1),
    dependants: list[dict[str, Any]] | None = None,
    contributions: list[tuple[int, int, int]] | None = None,
) -> int:
    """Insert a main insured (and dependants, contribution months); return the person id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(Person).values(
                national_id=national_id,
                first_name="آزمون",
                last_name="آزمایشی",
                father_name="پدر",
                birth_date=birth_date,
                gender=gender.value,
                mobile=mobile,
                insurance_relation=relation.value,
                insured_since=dt.date(2010, 3, 21),
                coverage_until=coverage_until,
            )
        )
        assert result.inserted_primary_key is not None
        person_id = int(result.inserted_primary_key[0])
        for i, dep in enumerate(dependants or []):
            relation_value: Relation = dep["relation"]
            await conn.execute(
                insert(Dependant).values(
                    insured_id=person_id,
                    national_id=dep.get("national_id", make_national_id(person_id * 100 + i)),
                    first_name=dep.get("first_name", "تبعی"),
                    last_name="آزمایشی",
                    relation=relation_value.value,
                    birth_date=dep["birth_date"],
                    gender=relation_value.gender.value,
                    has_university_certificate=dep.get("university", False),
                    has_original_birth_certificate=dep.get("birth_certificate", True),
                    disabled=dep.get("disabled", False),
                    married=dep.get("married", False),
                    employed=dep.get("employed", False),
                    has_own_pension=dep.get("own_pension", False),
                    coverage_until=dep.get("coverage_until"),
                )
            )
        if contributions:
            await conn.execute(
                insert(ContributionMonth),
                [
                    {
                        "person_id": person_id,
                        "year": y,
                        "month": m,
                        "workshop_id": None,
                        "days": d,
                        "wage": 1_000_000 * d,
                    }
                    for y, m, d in contributions
                ],
            )
    return person_id


async def verified_user(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    national_id: str,
    mobile: str,
    platform: str = "telegram",
) -> ChatUserInfo:
    """Create a chat user, share their contact and verify them through the identity service;
    commit (the test is the unit of work)."""
    identity = IdentityService(session, settings, clock)
    platform_user_id = unique_platform_id()
    user = await identity.ensure_user(platform, platform_user_id, "کاربر")
    await identity.register_contact(user.id, contact_user_id=platform_user_id, phone_number=mobile)
    verified = await identity.verify(user.id, national_id)
    await session.commit()
    return verified.user


async def chat_user(
    session: AsyncSession, settings: Settings, clock: Clock, platform: str = "telegram"
) -> ChatUserInfo:
    """Create an unverified chat user and commit."""
    user = await IdentityService(session, settings, clock).ensure_user(
        platform, unique_platform_id(), "کاربر"
    )
    await session.commit()
    return user


async def log_message(
    session: AsyncSession,
    clock: Clock,
    *,
    platform: str,
    chat_id: int,
    text: str | None,
    intent: str | None,
    confidence: float | None,
    fallback: bool,
) -> None:
    """Commit one intent-log row now, as the bot's ``IntentLogWriter`` would in a batch."""
    session.add(
        IntentLogEntry(
            platform=platform,
            chat_id=chat_id,
            text=text,
            intent=intent,
            confidence=confidence,
            is_fallback=fallback,
            created_at=clock.now(),
        )
    )
    await session.commit()
