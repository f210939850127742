"""``tamin-bot demo-data``: migrate, load the personas and the synthetic people, report."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from demo.desk import ensure_demo_catalogue
from demo.personas import PERSONA_NOTES, UNKNOWN_MOBILE, load_personas
from demo.rows import fix_sequences
from demo.synthetic import DEFAULT_SEED, load_synthetic
from services.agents import AgentPublic, AgentRole, AgentService
from services.clock import Clock, product_clock
from services.db.engine import create_engine
from services.db.migrate import upgrade_database
from services.db.models import (
    ContributionMonth,
    Dependant,
    PensionSlip,
    Person,
    VoluntaryContract,
    Workshop,
)
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the load did; counts are totals in the database afterwards."""

    seconds: float
    added_people: int
    people: int
    dependants: int
    contribution_months: int
    pension_slips: int
    voluntary_contracts: int
    workshops: int
    today: dt.date


async def _count(conn: AsyncConnection, model: Any) -> int:
    return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


async def load_demo_data(
    engine: AsyncEngine,
    settings: Settings,
    clock: Clock,
    people: int = 0,
    seed: int = DEFAULT_SEED,
) -> DemoSummary:
    """Load the personas (replaced) and the missing synthetic people into a migrated database."""
    started = time.perf_counter()
    today = clock.today()
    async with engine.begin() as conn:
        await load_personas(conn, settings, today)
        await fix_sequences(conn)
    added = await load_synthetic(engine, settings, today, people, seed)
    async with engine.connect() as conn:
        return DemoSummary(
            seconds=time.perf_counter() - started,
            added_people=added,
            people=await _count(conn, Person),
            dependants=await _count(conn, Dependant),
            contribution_months=await _count(conn, ContributionMonth),
            pension_slips=await _count(conn, PensionSlip),
            voluntary_contracts=await _count(conn, VoluntaryContract),
            workshops=await _count(conn, Workshop),
            today=today,
        )


def render_summary(summary: DemoSummary) -> str:
    """The short report ``tamin-bot demo-data`` prints."""
    lines = [
        f"Demo data loaded in {summary.seconds:.1f} s for {summary.today.isoformat()} "
        f"(added {summary.added_people} synthetic people).",
        f"  people {summary.people}, dependants {summary.dependants}, "
        f"contribution months {summary.contribution_months}, pension slips "
        f"{summary.pension_slips}, voluntary contracts {summary.voluntary_contracts}, "
        f"workshops {summary.workshops}",
        "Personas — share a contact with the mobile, then type the national ID:",
    ]
    lines.extend(
        f"  {note.national_id}  {note.mobile}  {note.name}: {note.expectation}"
        for note in PERSONA_NOTES
    )
    lines.append(f"  Nobody has the mobile {UNKNOWN_MOBILE} (try it for a mismatch).")
    return "\n".join(lines)


# The demo data's two console accounts, for local use only (their passwords are in the
# README); a real deployment creates its own with ``tamin-bot agents add``.
DEMO_AGENTS: tuple[tuple[str, str, str, AgentRole], ...] = (
    ("agent", "کارشناس نمونه", "agent-1420-demo", AgentRole.AGENT),
    ("supervisor", "سرپرست نمونه", "supervisor-1420-demo", AgentRole.SUPERVISOR),
)


async def ensure_demo_agents(agents: AgentService) -> list[AgentPublic]:
    """Create the demo agent and supervisor unless they exist (idempotent)."""
    return [
        await agents.ensure(username=u, display_name=n, password=p, role=r)
        for u, n, p, r in DEMO_AGENTS
    ]


async def run_demo_data(
    settings: Settings,
    people: int = 0,
    *,
    clock: Clock | None = None,
    seed: int = DEFAULT_SEED,
) -> int:
    """Migrate, load the personas and ``people`` synthetic people, print a summary; exit code."""
    if people < 0:
        print("--people must be zero or more")
        return 2
    await upgrade_database(settings)
    # One clock for the whole load: the product's (TAMIN_CLOCK_START when the tests set it).
    clock = clock or product_clock(settings)
    engine = create_engine(settings)
    try:
        summary = await load_demo_data(engine, settings, clock, people, seed)
        from services.db.engine import create_session_factory

        async with create_session_factory(engine)() as session, session.begin():
            await ensure_demo_agents(AgentService(session, settings, clock))
            await ensure_demo_catalogue(session, clock)
    finally:
        await engine.dispose()
    print(render_summary(summary))
    print(
        "Console accounts (local use only): "
        + ", ".join(
            f"{username} / {password} ({role.value})"
            for username, _, password, role in DEMO_AGENTS
        )
    )
    return 0
