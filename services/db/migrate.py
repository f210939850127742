"""Alembic migrations, run from code: :func:`upgrade_database` brings a database to head.

The migration scripts live in ``services/db/migrations`` (a package, so they ship with the
project). Developers can also use the Alembic CLI with ``services/db/alembic.ini``::

    .venv/bin/alembic -c services/db/alembic.ini revision --autogenerate -m "what changed"
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from services.db.engine import create_engine
from services.settings import Settings

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _quiet_alembic() -> None:
    # Alembic announces each of its plugins at INFO when it is first imported; noise for us.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at our migration scripts."""
    _quiet_alembic()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    _quiet_alembic()
    from alembic import command

    config = alembic_config()
    # env.py runs the migrations on this connection instead of opening its own (Alembic's
    # "connection sharing" recipe), which is what lets us call it from a running event loop.
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade_database(settings: Settings, revision: str = "head") -> None:
    """Create or migrate the database of ``settings`` to ``revision`` (idempotent)."""
    engine = create_engine(settings, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()
    logger.info("database schema is at %s", revision)


def _heads_in_scripts() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _heads_in_database(connection: Connection) -> set[str]:
    _quiet_alembic()
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


class SchemaNotAtHead(RuntimeError):
    """The database is not at the revision this code expects (``tamin-bot migrate`` first)."""


async def require_schema_at_head(settings: Settings) -> None:
    """Raise :class:`SchemaNotAtHead` unless the database is exactly at the scripts' head.

    Role processes (webhook workers, console, sender) never migrate: several of them starting
    at once would race to alter the schema, and an older worker still running during a rolling
    upgrade must not see its tables change under it. ``tamin-bot migrate`` is the one step that
    upgrades; a worker started before it (or one older than the database) refuses to start.
    """
    expected = _heads_in_scripts()
    engine = create_engine(settings, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_heads_in_database)
    except Exception as exc:
        raise SchemaNotAtHead(
            f"the database could not be read ({type(exc).__name__}); "
            "check DATABASE_URL, then run `tamin-bot migrate`"
        ) from exc
    finally:
        await engine.dispose()
    if current != expected:
        at = ", ".join(sorted(current)) or "empty (no schema)"
        raise SchemaNotAtHead(
            f"the database schema is at {at}, this version needs {', '.join(sorted(expected))}: "
            "run `tamin-bot migrate` first"
        )
