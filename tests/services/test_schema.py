"""The migrated schema is the models' schema, on both back ends; engine settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from services.db import create_engine, import_all_models
from services.db.base import Base
from services.db.engine import sqlite_path
from services.db.migrate import MIGRATIONS_DIR, alembic_config, upgrade_database
from services.settings import Settings


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    import_all_models()

    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    # A model change (ours or a feature team's ``*_models.py``) without its migration shows here:
    # write one with `.venv/bin/alembic -c services/db/alembic.ini revision --autogenerate`.
    assert differences == [], differences


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def _version(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    return None if version is None else str(version)


def test_head_is_the_last_migration() -> None:
    # A new migration must be the single head; its number is its file name's prefix (a
    # branch's revision id may add its part's name after the number: ``0004_kb``).
    versions = MIGRATIONS_DIR / "versions"
    numbers = sorted(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*_*.py"))
    assert _head().split("_", 1)[0] == numbers[-1]


async def test_upgrade_is_idempotent(db_settings: Settings, engine: AsyncEngine) -> None:
    assert await _version(engine) == _head()

    def schema(connection: Connection) -> list[tuple[str, list[str], list[str]]]:
        found = inspect(connection)
        return [
            (
                table,
                sorted(c["name"] for c in found.get_columns(table)),
                sorted(str(i["name"]) for i in found.get_indexes(table)),
            )
            for table in sorted(found.get_table_names())
        ]

    async with engine.connect() as conn:
        before = await conn.run_sync(schema)
    await upgrade_database(db_settings)
    async with engine.connect() as conn:
        after = await conn.run_sync(schema)
    assert await _version(engine) == _head()
    assert after == before


async def test_queued_status_migrates_both_ways(
    db_settings: Settings, engine: AsyncEngine
) -> None:
    """0003 renames a waiting conversation's status, and its downgrade renames it back."""

    def downgrade(connection: Connection, revision: str) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async def statuses() -> list[str]:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT status FROM conversations ORDER BY id"))
            return [str(row[0]) for row in rows]

    insert = text(
        "INSERT INTO conversations (platform, chat_id, status, reason, escalation, created_at,"
        " last_message_at) VALUES ('telegram', :chat, :status, 'human_agent', '{}', :at, :at)"
    )
    at = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
    migrated = create_engine(db_settings, poolclass=NullPool)
    try:
        async with migrated.begin() as conn:
            await conn.run_sync(downgrade, "0002")
        async with engine.begin() as conn:
            for chat, status in ((1, "pending"), (2, "open"), (3, "resolved")):
                await conn.execute(insert, {"chat": chat, "status": status, "at": at})
        await upgrade_database(db_settings)
        assert await statuses() == ["queued", "open", "resolved"]
        async with engine.begin() as conn:
            # The rebuilt partial index still allows one active conversation per chat.
            with pytest.raises(IntegrityError):
                async with conn.begin_nested():
                    await conn.execute(insert, {"chat": 1, "status": "queued", "at": at})
        async with migrated.begin() as conn:
            await conn.run_sync(downgrade, "0002")
        assert await statuses() == ["pending", "open", "resolved"]
    finally:
        await upgrade_database(db_settings)
        await migrated.dispose()
    assert await statuses() == ["queued", "open", "resolved"]
    assert await _version(engine) == _head()


async def test_sqlite_pragmas_and_var_dir(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'var' / 'x.db'}"
    local = settings.model_copy(
        update={"env": settings.env.model_copy(update={"database_url": url})}
    )
    engine = create_engine(local)
    try:
        assert (tmp_path / "nested" / "var").is_dir()
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
            assert await conn.scalar(text("PRAGMA synchronous")) == 1  # NORMAL
    finally:
        await engine.dispose()


def test_sqlite_path() -> None:
    assert sqlite_path("sqlite+aiosqlite:////tmp/a/b.db") == Path("/tmp/a/b.db")
    assert sqlite_path("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_path("postgresql+asyncpg://u@h/db") is None


async def test_the_sqlite_file_and_its_wal_are_private(tmp_path: Path, settings: Settings) -> None:
    # Issue 17, finding 11: the database file was created world-readable (0644).
    path = tmp_path / "var" / "tamin.db"
    env = settings.env.model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"})
    private = settings.model_copy(update={"env": env})
    await upgrade_database(private)
    engine = create_engine(private)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
        files = [p for p in path.parent.iterdir() if p.name.startswith("tamin.db")]
        assert path in files and len(files) >= 2  # the WAL beside it
        for file in files:
            assert file.stat().st_mode & 0o777 == 0o600, file
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        await engine.dispose()
    # An existing file that others could read is tightened.
    path.chmod(0o644)
    await create_engine(private).dispose()
    assert path.stat().st_mode & 0o777 == 0o600
