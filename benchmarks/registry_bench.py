"""Registry benchmark: demo-data load time and inquiry latency with 100 000 people.

For SQLite (a fresh file in a temporary directory) and PostgreSQL (a fresh database on
127.0.0.1:5432, when reachable) it prints:

- the time ``load_demo_data`` takes to add the personas and N synthetic people (default 100 000;
  ``REGISTRY_BENCH_PEOPLE`` changes it), with the row counts;
- p50 / p99 / max latency of an eligibility inquiry (``EligibilityService.inquire``: verified
  user, registry reads, a new tracking code stored and committed) and of a last-record lookup
  (``ContributionsService.last_record``), each measured around a whole unit of work as the bot
  runs it: open a session, call the service, close the session.

Targets (issue 2): load under 2 minutes on SQLite; each inquiry p99 under 5 ms.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.postgres import PG_HOST, PG_PORT, pg_admin, pg_admin_user
from demo import load_demo_data
from services.clock import FixedClock, SystemClock
from services.common import ChatUserInfo, UserRef
from services.contributions import ContributionsService
from services.db import create_engine, create_session_factory, upgrade_database
from services.db.models import Person
from services.eligibility import EligibilityService
from services.enums import InsuranceRelation
from services.identity import IdentityService
from services.settings import Settings, load_settings

PEOPLE = int(os.environ.get("REGISTRY_BENCH_PEOPLE", "100000"))
USERS = 300
WARMUP = 200
SAMPLES = 3000


def _settings(url: str) -> Settings:
    base = load_settings()
    return base.model_copy(update={"env": base.env.model_copy(update={"database_url": url})})


async def _verified_users(
    factory: async_sessionmaker[AsyncSession], settings: Settings, clock: FixedClock
) -> list[ChatUserInfo]:
    """Verify USERS random contributors (not pensioners) through the identity service."""
    async with factory() as session:
        rows = (
            await session.execute(
                select(Person.national_id, Person.mobile).where(
                    Person.mobile.is_not(None),
                    Person.insurance_relation != InsuranceRelation.PENSIONER.value,
                )
            )
        ).all()
    picked = random.Random(7).sample(rows, USERS)
    users = []
    for index, (national_id, mobile) in enumerate(picked):
        assert mobile is not None
        async with factory() as session:
            identity = IdentityService(session, settings, clock)
            user = await identity.ensure_user("telegram", 9_000_000 + index)
            await identity.register_contact(
                user.id, contact_user_id=9_000_000 + index, phone_number=mobile
            )
            users.append((await identity.verify(user.id, national_id)).user)
            await session.commit()
    return users


async def _latency(
    factory: async_sessionmaker[AsyncSession],
    users: Sequence[UserRef],
    call: Callable[[AsyncSession, UserRef], Awaitable[object]],
) -> tuple[float, float, float, float]:
    """Return p50, p99, max and CPU time per call (ms) of ``call`` over random users.

    The CPU time (this process, all its threads) barely depends on what else the machine
    runs, unlike wall-clock percentiles on a busy machine.
    """
    rng = random.Random(11)
    timings = []
    cpu_started = 0.0
    for i in range(WARMUP + SAMPLES):
        if i == WARMUP:
            cpu_started = time.process_time()
        user = rng.choice(users)
        started = time.perf_counter()
        async with factory() as session:
            await call(session, user)
        elapsed = time.perf_counter() - started
        if i >= WARMUP:
            timings.append(elapsed * 1000)
    cpu = (time.process_time() - cpu_started) * 1000 / SAMPLES
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    return statistics.median(timings), p99, timings[-1], cpu


async def _bench(name: str, url: str) -> None:
    settings = _settings(url)
    clock = FixedClock(SystemClock().now())
    await upgrade_database(settings)
    engine = create_engine(settings)
    try:
        summary = await load_demo_data(engine, settings, clock, people=PEOPLE)
        print(
            f"[{name}] demo-data load, {summary.added_people} synthetic people + personas: "
            f"{summary.seconds:.1f} s  (people {summary.people}, dependants "
            f"{summary.dependants}, contribution months {summary.contribution_months}, pension "
            f"slips {summary.pension_slips})",
            flush=True,
        )
        factory = create_session_factory(engine)
        infos = await _verified_users(factory, settings, clock)
        ids = [info.id for info in infos]

        async def inquiry(session: AsyncSession, user: UserRef) -> object:
            # The benchmark is the unit of work: services only flush.
            result = await EligibilityService(session, settings, clock).inquire(user)
            await session.commit()
            return result

        async def last_record(session: AsyncSession, user: UserRef) -> object:
            return await ContributionsService(session, settings, clock).last_record(user)

        # "by id": the service looks the chat user up; "with user": the bot passes the
        # ChatUserInfo its middleware already loaded for the update (one query fewer).
        for label, call in (("eligibility inquiry", inquiry), ("last-record lookup", last_record)):
            for how, users in (("by id", ids), ("with user", infos)):
                p50, p99, worst, cpu = await _latency(factory, users, call)
                print(
                    f"[{name}] {label + ', ' + how:<31} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                    f"  max {worst:6.2f} ms  cpu {cpu:5.2f} ms/call  ({SAMPLES} samples)",
                    flush=True,
                )
    finally:
        await engine.dispose()


async def _run() -> None:
    with tempfile.TemporaryDirectory(prefix="tamin-bench-") as tmp:
        await _bench("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
    user = await pg_admin_user()
    if user is None:
        print(f"[postgresql] skipped: not reachable on {PG_HOST}:{PG_PORT}")
        return
    name = f"tamin_bench_{uuid.uuid4().hex[:10]}"
    await pg_admin(user, f'CREATE DATABASE "{name}"')
    try:
        await _bench("postgresql", f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}")
    finally:
        await pg_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    """Run the registry benchmark on SQLite and PostgreSQL and print the figures."""
    print(f"registry benchmark with {PEOPLE} synthetic people", flush=True)
    _print_load("before")
    asyncio.run(_run())
    _print_load("after")
    return 0


def _print_load(when: str) -> None:
    # Latency figures mean little on a busy machine: say how busy it was.
    one, five, _ = os.getloadavg()
    print(f"load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs")
