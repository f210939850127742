"""Engine and session factories, built from the settings (never at import time)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from services.db.sqlite import create_sqlite_engine
from services.metrics import MeasuredPool, watch_pool
from services.settings import Settings

logger = logging.getLogger(__name__)

# SQLite connection settings of the embedded default:
# - WAL lets the bot read while the console writes;
# - foreign keys are off by default in SQLite and our cascades rely on them;
# - NORMAL synchronisation is safe with WAL (no corruption, only the last commits can be lost on
#   a power cut) and keeps a commit well under a millisecond;
# - a busy timeout makes a writer wait for SQLite's one write lock instead of failing: 30 s,
#   because under load each writer holds the lock across turns of a busy event loop and the
#   writers queue one after another (with a few seconds, users verifying at once in the bot
#   benchmark were sometimes told «database is locked» and had to try again).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def sqlite_path(database_url: str) -> Path | None:
    """Return the file of a SQLite URL, or ``None`` for other back ends and in-memory ones."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), or make it so.

    It holds national IDs, mobiles and what people wrote; SQLite gives its WAL and shared
    memory files the database file's permissions. A new directory is 0700.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def pgbouncer_connect_args() -> dict[str, Any]:
    """asyncpg's settings behind PgBouncer in transaction mode (``DB_PGBOUNCER=1``).

    PgBouncer hands each transaction to whichever server connection is free, so a prepared
    statement made in one transaction may not exist in the next, and a name asyncpg numbers
    per client connection (``__asyncpg_stmt_1__``) may already be taken on that server by
    another client. Hence, as SQLAlchemy's asyncpg dialect documents ("Prepared Statement Name
    with PGBouncer"):
    - no statement cache, in asyncpg (``statement_cache_size``; its plain ``fetch`` then uses
      unnamed statements, parsed again in the same round trip: the direct reads rely on it)
      nor in SQLAlchemy's dialect (``prepared_statement_cache_size``);
    - a unique name for each statement SQLAlchemy prepares (inside its transaction).
    The cost: every statement is parsed on each execution (measured in the README's
    "Production shape" section).
    """
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": lambda: f"__asyncpg_{uuid.uuid4()}__",
    }


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """Return the async engine for ``settings.env.database_url``.

    For SQLite the file's directory (``var/`` by default) and the file itself are created
    private to their owner, and the pragmas above are set on every new connection.
    """
    url = settings.env.database_url
    path = sqlite_path(url)
    if path is not None:
        _private_file(path)
    if "poolclass" not in kwargs and (path is not None or not url.startswith("sqlite")):
        # Each update holds its session's connection for the whole update (its Bot API calls
        # included), so the pool bounds how many updates run at once: SQLAlchemy's default of
        # 5 capped the bot's throughput. On SQLite, WAL lets the extra readers run while
        # writers, kept short, take turns.
        kwargs.setdefault("pool_size", settings.env.db_pool_size)
        kwargs.setdefault("max_overflow", settings.env.db_max_overflow)
        # SQLAlchemy's own async queue pool, timing each checkout for the metrics.
        kwargs["poolclass"] = MeasuredPool
    # Every session and connection here ends its own transaction (commit, or the rollback that
    # SQLAlchemy 2's Session.close / Connection.close issue), so the pool's extra ROLLBACK on
    # each return only cost a round trip per update (an aiosqlite thread hand-off on SQLite).
    kwargs.setdefault("pool_reset_on_return", None)
    if settings.env.db_pgbouncer and make_url(url).get_dialect().driver == "asyncpg":
        kwargs["connect_args"] = {**pgbouncer_connect_args(), **kwargs.get("connect_args", {})}
    if path is not None and "async_creator" not in kwargs:
        # Reads on the event loop, one thread hand-off per write (services/db/sqlite.py).
        engine = create_sqlite_engine(url, **kwargs)
    else:
        engine = _create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    if isinstance(engine.pool, MeasuredPool):
        sync_engine = engine.sync_engine
        # Read at scrape time from whatever pool the engine holds then (dispose replaces it).
        watch_pool(lambda: int(getattr(sync_engine.pool, "checkedout", lambda: 0)()))
    logger.debug("database engine created for %s", engine.dialect.name)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after commit (services return them)."""
    return async_sessionmaker(engine, expire_on_commit=False)
