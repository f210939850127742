"""The declarative base shared by every table, and the column types both back ends agree on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from persian.text import strip_control

# Deterministic constraint names, so that Alembic can alter and drop them on both back ends
# (SQLite's batch mode needs a name to find a constraint again).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC.

    SQLite has no time-zone type and hands naive values back, PostgreSQL's ``timestamptz``
    hands aware ones back: this type makes both return aware UTC datetimes and refuses naive
    ones on the way in, so a Tehran local time can never be stored as if it were UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base of every table of the assistant and of the demo registry."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CleanText(TypeDecorator[str]):
    """Free text typed by a user or an agent, stored without control characters.

    PostgreSQL refuses U+0000 in text: one such message made a whole batch fail for good, so
    the boundary to the database strips control characters (tab and newline stay) from every
    column people write into, whichever service writes it.
    """

    impl: type[String] = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else strip_control(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class CleanString(CleanText):
    """:class:`CleanText` in a VARCHAR: ``CleanString(128)``."""

    impl = String
    cache_ok = True
