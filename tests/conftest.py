"""Shared fixtures: a real database on SQLite and on PostgreSQL, a fixed clock, demo personas.

Database fixtures are parametrised over both back ends: a test that asks for ``db_settings``,
``engine``, ``session_factory``, ``session`` or ``demo_db`` runs once on SQLite and once on
PostgreSQL (127.0.0.1:5432, trust auth, user ``postgres`` or ``root``; started with
``pg_ctlcluster`` when installed but stopped, skipped with the reason when absent).

Each back end gets one fresh database per test session, migrated once with Alembic. Every test
then starts from empty tables (truncated before it runs), so tests are independent and fast.

- ``clock``: a :class:`FixedClock` at :data:`TEST_NOW` (Saturday 1403/05/13, 10:00 Tehran).
- ``settings``: the project's ``config.yml`` with holidays derived offline disabled, so rule
  tests depend only on the lists they set; no database.
- ``db_settings``: the same, pointing at the test database of the current back end.
- ``demo_db``: empty tables plus the four personas, true on the clock's today.
- ``nlu_model``: the real NLU model from the product's model folder (``nlu_model_dir``, shared
  with ``make run`` and the end-to-end bot process), trained at most once per session and not
  at all while the data and settings are unchanged.

The suite may run on several pytest-xdist workers (``scripts/test.sh``: ``-n 2 --dist
loadgroup``). Each worker has its own temporary folders and databases (uuid names, Redis key
prefixes); the NLU model is trained under a file lock, so two workers never train at once; the
modules listed in :data:`XDIST_GROUPS` keep all their tests on one worker (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from nlu import NluModel, NluSettings, load_or_train
from services.clock import TEHRAN, FixedClock
from services.db import create_engine, create_session_factory, import_all_models
from services.db.base import Base
from services.db.migrate import upgrade_database
from services.knowledge import KnowledgeBase, load_knowledge_base
from services.knowledge.store import KnowledgeStore
from services.settings import Settings, load_settings

TEST_NOW = dt.datetime(2024, 8, 3, 10, 0, tzinfo=TEHRAN)  # Saturday 1403/05/13
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")

# Modules whose tests must stay on one pytest-xdist worker: those with a module-scoped cluster
# or proxy (split across workers, each worker would start its own), and the ones that start
# several bot processes and kill them (one group, so they never run beside each other; the
# cluster's escalation test missed rows when they did). Every other test is its own unit, as
# with ``--dist load``. A run without xdist ignores this.
XDIST_GROUPS = {
    "tests/cluster/test_cluster.py": "processes",
    "tests/faults/test_kill9.py": "processes",
    "tests/cluster/test_pgbouncer.py": "pgbouncer",
}


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups of :data:`XDIST_GROUPS`.

    xdist's own loadgroup reads ``xdist_group`` marks and renames the node ids to group them,
    which does nothing with pytest 9.2 (a node id is no longer an attribute one can set): the
    marked tests were spread over both workers. This names the groups by module path instead.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist: untyped
        def _split_scope(self, nodeid: str) -> str:
            return XDIST_GROUPS.get(nodeid.split("::", 1)[0], nodeid)

    return ModuleGroupScheduling(config, log)


def with_config(settings: Settings, section: str, **values: Any) -> Settings:
    """Return ``settings`` with some values of one ``config.yml`` section replaced."""
    current = getattr(settings.config, section)
    updated = current.model_copy(update=values)
    return settings.model_copy(
        update={"config": settings.config.model_copy(update={section: updated})}
    )


# --- PostgreSQL -------------------------------------------------------------------------------


async def _pg_try(user: str) -> bool:
    try:
        conn = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=user, database="postgres", timeout=3
        )
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def _pg_user() -> str | None:
    for user in PG_USERS:
        if asyncio.run(_pg_try(user)):
            return user
    return None


def _start_postgres() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def postgres_user() -> str:
    """The user to reach the local PostgreSQL as; starts it if installed, else skips."""
    user = _pg_user()
    if user is None:
        _start_postgres()
        for _ in range(20):
            user = _pg_user()
            if user is not None:
                break
            time.sleep(0.5)
    if user is None:
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} (not installed?)")
    return user


async def _pg_admin(user: str, sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=user, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- the test database ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The project's configuration with only the explicit holiday lists (no database use)."""
    base = load_settings()
    return with_config(base, "tickets", derive_holidays_from_calendar=False)


@pytest.fixture(scope="session")
def nlu_model_dir(settings: Settings) -> Path:
    """The product's NLU model folder: one training serves every test and the bot process."""
    return NluSettings.from_section(settings.config.nlu).model_path


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` among this machine's processes (pytest-xdist workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def nlu_model(settings: Settings, nlu_model_dir: Path) -> NluModel:
    # Under the lock, the second worker loads what the first trained instead of training too.
    with _file_lock(nlu_model_dir.with_name(f".{nlu_model_dir.name}.lock")):
        return load_or_train(settings.config.nlu, nlu_model_dir)


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_settings(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings pointing at a fresh, migrated database of one back end (one per session)."""
    drop: str | None = None
    user = ""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "tamin-test.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        user = request.getfixturevalue("postgres_user")
        name = f"tamin_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(user, f'CREATE DATABASE "{name}"'))
        drop = name
        url = f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    db = settings.model_copy(update={"env": settings.env.model_copy(update={"database_url": url})})
    asyncio.run(upgrade_database(db))
    yield db
    if drop is not None:
        asyncio.run(_pg_admin(user, f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def existing_tables(db_settings: Settings) -> tuple[str, ...]:
    """Tables that exist in the migrated test database, children first (for truncation)."""
    import_all_models()

    async def names() -> set[str]:
        engine = create_engine(db_settings)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    present = asyncio.run(names())
    ordered = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in present]
    return tuple(ordered)


async def _truncate(engine: AsyncEngine, tables: tuple[str, ...]) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TEST_NOW)


@pytest.fixture
async def engine(
    db_settings: Settings, existing_tables: tuple[str, ...]
) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, whose tables are empty when the test starts."""
    engine = create_engine(db_settings)
    await _truncate(engine, existing_tables)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def demo_db(engine: AsyncEngine, db_settings: Settings, clock: FixedClock) -> AsyncEngine:
    """Empty tables plus the four demo personas, true on the clock's today."""
    from demo import load_personas

    async with engine.begin() as conn:
        await load_personas(conn, db_settings, clock.today())
    return engine


# --- knowledge base ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def knowledge_files(settings: Settings) -> KnowledgeBase:
    """The repository's knowledge base, loaded and indexed once (about a second)."""
    return load_knowledge_base(settings.config.knowledge)


@pytest.fixture
def knowledge_store(knowledge_files: KnowledgeBase, settings: Settings) -> KnowledgeStore:
    """A process's store over the loaded files, reading the edits' counter on every use.

    Per test, so that each test's fresh database (no edits, counter 0) is what it serves.
    """
    config = settings.config.knowledge.model_copy(update={"refresh_seconds": 0.0})
    return KnowledgeStore(knowledge_files, config)
