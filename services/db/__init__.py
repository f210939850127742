"""Data access: the tables, engine and session factories, and migrations.

Everything here is built by factories from the settings; nothing connects at import time.
"""

import importlib
import pkgutil

from services.db.base import Base, UtcDateTime
from services.db.engine import create_engine, create_session_factory
from services.db.migrate import upgrade_database


def import_all_models() -> None:
    """Import every ``*models`` module of this package, so that all tables are on the metadata.

    Alembic's autogenerate and the schema test need every table; feature teams add their own
    ``<feature>_models.py`` here and it is picked up without editing a list.
    """
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("models"):
            importlib.import_module(f"{__name__}.{info.name}")


__all__ = [
    "Base",
    "UtcDateTime",
    "create_engine",
    "create_session_factory",
    "import_all_models",
    "upgrade_database",
]
