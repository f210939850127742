"""The migrated schema is the models' schema, on both back ends; engine settings."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine, import_all_models
from services.db.base import Base
from services.db.engine import sqlite_path
from services.db.migrate import upgrade_database
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


async def test_upgrade_is_idempotent(db_settings: Settings, engine: AsyncEngine) -> None:
    await upgrade_database(db_settings)
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == "0001" or (isinstance(version, str) and version > "0001")


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
