"""Alembic environment: migrations on a shared connection, or on our own async engine (CLI)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from services.db import import_all_models
from services.db.base import Base, UtcDateTime
from services.db.engine import create_engine
from services.settings import load_settings

import_all_models()
target_metadata = Base.metadata


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | Literal[False]:
    # Our own column type is rendered by its short name with an import, so that migration
    # scripts do not depend on module paths spelt out inline.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from services.db.base import UtcDateTime")
        return "UtcDateTime()"
    return False


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,  # type: ignore[arg-type]
    )


def run_on_connection(connection: Connection) -> None:
    # SQLite cannot ALTER most things: batch mode rebuilds a table instead.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    engine = create_engine(load_settings(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on_connection)
    finally:
        await engine.dispose()


def run_offline() -> None:
    _configure(url=load_settings().env.database_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


shared = context.config.attributes.get("connection")
if context.is_offline_mode():
    run_offline()
elif shared is not None:
    run_on_connection(shared)
else:
    asyncio.run(run_with_own_engine())
