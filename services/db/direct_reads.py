"""Selects outside transactions: compiled by SQLAlchemy, run by the database driver itself.

The bot's per-update reads (the arrival look-up, the registry's household, person and last
contribution) are single selects by key, run before the update has written anything, so
``services.common.read`` runs them outside any transaction. Through SQLAlchemy each cost the
bot's one event-loop thread several times what the driver itself spends: an
``AsyncConnection`` and ``Connection`` made and closed (or the session's transaction begun),
the execution context, the adapter's cursor, greenlet hand-overs, the result buffered. With
three or four such reads an update, SQLAlchemy's execution was a large share of the bot's busy
time on PostgreSQL; run directly, the bot's throughput there rose accordingly (the figures are
in the README's benchmark section).

:class:`DirectReads` keeps what SQLAlchemy does once — compiling the statement for the
engine's dialect, with its bind casts and its type processors — and does per read only what
is needed: a connection from the engine's own pool (one greenlet hand-over), the driver's own
call, the connection back to the pool, and the rows as a SQLAlchemy ``Result``, as the callers
had them before. The drivers:

- asyncpg: ``fetch``, in asyncpg's autocommit (SQLAlchemy begins nothing on the connection),
  its own statement cache preparing each statement once per connection;
- SQLite files (``services/db/sqlite.py``): the select run at once on the event loop's thread,
  as that module's connection runs every select; SQLite begins no transaction for it.

Eligible are column selects whose bind and result types are handled the same with no database
type code (true of strings, integers, dates, booleans, SQLite's date strings and this
project's ``UtcDateTime``; PostgreSQL's ``Numeric``, for one, needs the code) and that
SQLAlchemy does not render per execution (an expanding ``IN``). The rest go through
SQLAlchemy as before. Anything unexpected on the way runs the read once more through
SQLAlchemy, which raises its own exceptions, so callers see the errors they always did: a
statement the database refused leaves the connection in the pool, any other failure (a broken
connection) discards it, as SQLAlchemy's pool does.

Written here because no library offers it: SQLAlchemy has no lighter execution path than its
``Connection``, and the drivers have no SQL compiler. ``tests/services/test_direct_reads.py``
compares every hot statement's rows with SQLAlchemy's on both databases.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

from services.db.sqlite import LoopConnection, Outcome, is_loop_engine, run_statement

logger = logging.getLogger(__name__)

# Statements compiled and kept, newest used last. The hot ones are built once (functools.cache
# in their modules), so a few dozen entries cover them; the bound keeps a caller that builds a
# new statement per call from growing the map.
CACHE_SIZE = 128

_Processor = Callable[[Any], Any] | None


async def _asyncpg_fetch(connection: Any, sql: str, arguments: list[Any]) -> Sequence[Any]:
    records: Sequence[Any] = await connection.fetch(sql, *arguments)
    return records


async def _sqlite_fetch(connection: Any, sql: str, arguments: list[Any]) -> Sequence[Any]:
    loop_connection: LoopConnection = connection
    outcome: Outcome = loop_connection.on_loop(run_statement, sql, arguments)
    return outcome[1]  # description, rows, rowcount, lastrowid


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement as the driver runs it."""

    compiled: Any
    sql: str
    names: tuple[str, ...]  # the bound parameters in ``$n`` order
    binds: tuple[_Processor, ...]
    metadata: SimpleResultMetaData
    results: tuple[_Processor, ...] | None  # None: no column needs processing

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(parameters)
        return [
            value if process is None else process(value)
            for value, process in zip((values[n] for n in self.names), self.binds, strict=True)
        ]

    def rows(self, records: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.results is None:
            return [tuple(record) for record in records]
        return [
            tuple(
                value if process is None else process(value)
                for value, process in zip(record, self.results, strict=True)
            )
            for record in records
        ]


class DirectReads:
    """Selects outside transactions on one engine, run by its driver where eligible.

    :meth:`read` returns None where it did not run the statement, for the caller to run it
    through SQLAlchemy (on PostgreSQL on an autocommit connection, :meth:`through_sqlalchemy`;
    on SQLite on the session's own connection).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect
        # Made once: the fallback runs on every update that reads an ineligible statement.
        self._autocommit_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        self._fetch: Callable[[Any, str, list[Any]], Awaitable[Sequence[Any]]] | None = None
        self._refusals: tuple[type[BaseException], ...] = ()
        if engine.dialect.driver == "asyncpg":
            import asyncpg  # the engine's own driver

            self._fetch, self._refusals = _asyncpg_fetch, (asyncpg.PostgresError,)
        elif engine.dialect.name == "sqlite" and is_loop_engine(engine):
            self._fetch, self._refusals = _sqlite_fetch, (sqlite3.Error,)
        self._plans: OrderedDict[int, tuple[Executable, _Plan | None]] = OrderedDict()

    @property
    def autocommit(self) -> bool:
        """Whether :meth:`through_sqlalchemy` serves (PostgreSQL) or the session must."""
        return self._autocommit_engine is not None

    def eligible(self, statement: Executable) -> bool:
        """Whether the driver runs ``statement`` itself."""
        return self._fetch is not None and self._plan(statement) is not None

    async def read(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Result[*tuple[Any, ...]] | None:
        """Run ``statement`` outside any transaction and return its rows, buffered (None: not
        run here)."""
        if self._fetch is None:
            return None
        plan = self._plan(statement)
        if plan is None:
            return None
        arguments = plan.arguments(parameters)
        pooled = await self._engine.raw_connection()
        try:
            records = await self._fetch(pooled.driver_connection, plan.sql, arguments)
        except Exception as error:
            # The type only: a database's message may quote a parameter (a national ID).
            logger.warning(
                "direct read failed (%s); retrying through SQLAlchemy", type(error).__name__
            )
            if isinstance(error, self._refusals):
                pooled.close()  # the database refused the statement; the connection is sound
            else:
                pooled.invalidate()
            return None
        except BaseException:
            # Cancelled mid-statement: asyncpg may still be cancelling it on the server.
            pooled.invalidate()
            raise
        # Back to the pool: no I/O, as SQLAlchemy's adapter has no transaction of its own to
        # end on this connection (its rollback on return is a no-op without one).
        pooled.close()
        # The SQL only (its parameters are national IDs and the like), and only when asked for:
        # SQLAlchemy's statement events do not see these reads.
        logger.debug("ran directly: %s", plan.sql)
        return IteratorResult(plan.metadata, iter(plan.rows(records)))

    async def through_sqlalchemy(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Result[*tuple[Any, ...]]:
        """Run ``statement`` through SQLAlchemy on an autocommit connection (PostgreSQL)."""
        assert self._autocommit_engine is not None, "autocommit reads are PostgreSQL's"
        async with self._autocommit_engine.connect() as connection:
            result = await connection.execute(statement, parameters)
            # Buffered before the connection goes back to the pool.
            return result.freeze()()

    def _plan(self, statement: Executable) -> _Plan | None:
        key = id(statement)
        cached = self._plans.get(key)
        # The statement is kept with its plan, so its id cannot be another's while cached.
        if cached is not None and cached[0] is statement:
            self._plans.move_to_end(key)
            return cached[1]
        plan = self._compile(statement)
        self._plans[key] = (statement, plan)
        if len(self._plans) > CACHE_SIZE:
            self._plans.popitem(last=False)
        return plan

    def _compile(self, statement: Executable) -> _Plan | None:
        if not isinstance(statement, Select):
            return None
        dialect = self._dialect
        compiled = statement.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params:
            # Rendered per execution (an expanding IN, a literal LIMIT): SQLAlchemy's to do.
            return None
        names = tuple(compiled.positiontup or ())
        binds_by_name = {compiled.bind_names[b]: b for b in compiled.binds.values()}
        try:
            binds = tuple(
                binds_by_name[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            )
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            )
        except Exception:
            # A type that needs the database's type code to pick its processor (Numeric).
            logger.debug("not run directly: %s", compiled.string.split("\n", 1)[0])
            return None
        return _Plan(
            compiled=compiled,
            sql=compiled.string,
            names=names,
            binds=binds,
            metadata=SimpleResultMetaData(list(statement.selected_columns.keys())),
            results=results if any(p is not None for p in results) else None,
        )
