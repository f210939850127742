"""PostgreSQL look-ups outside a transaction: compiled by SQLAlchemy, run by asyncpg itself.

The bot's per-update reads (the arrival look-up, the registry's household, person and last
contribution) are single selects by key, run before the update has written anything, so
``services.common.read`` runs them outside any transaction. Through SQLAlchemy each cost the
bot about 0.3 ms of its one event-loop thread on the benchmark machine, beside about 0.1 ms in
asyncpg: an ``AsyncConnection`` and ``Connection`` made and closed, the execution context, the
adapter's cursor and its own prepared-statement cache, three greenlet hand-overs, the result
buffered. With three or four such reads an update, that was a fifth of the bot's CPU on
PostgreSQL (py-spy).

:class:`PostgresReads` keeps what SQLAlchemy does once — compiling the statement for the asyncpg
dialect, with its bind casts and its type processors — and does per read only what is needed:
a connection from the engine's own pool (one greenlet hand-over), asyncpg's ``fetch`` (its own
statement cache prepares each statement once per connection), the connection back to the pool,
and the rows as a SQLAlchemy ``Result``, as the callers had them before. The connection runs the
statement in asyncpg's autocommit (SQLAlchemy begins nothing on it), as the autocommit view of
the engine did.

Eligible are column selects whose bind and result types are handled the same with no database
type code (true of strings, integers, dates, booleans and this project's ``UtcDateTime``;
``Numeric``, for one, needs the code and is left to SQLAlchemy). Anything unexpected on the
way — a driver error, a broken connection — discards that connection (terminated, as
SQLAlchemy's pool does with a broken one) and runs the read once more through SQLAlchemy, which
reconnects and raises its own exceptions, so callers see the errors they always did.

Written here because no library offers it: SQLAlchemy has no lighter execution path than its
``Connection``, and asyncpg alone has no SQL compiler. ``tests/services/test_pg_reads.py``
compares every hot statement's rows with SQLAlchemy's.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select

logger = logging.getLogger(__name__)

# Statements compiled and kept, newest used last. The hot ones are built once (functools.cache
# in their modules), so a few dozen entries cover them; the bound keeps a caller that builds a
# new statement per call from growing the map.
CACHE_SIZE = 128

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement as asyncpg runs it."""

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


class PostgresReads:
    """Selects outside transactions on one PostgreSQL engine: by the driver where eligible
    (asyncpg), else through SQLAlchemy on an autocommit connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect
        self._direct = engine.dialect.driver == "asyncpg"
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._plans: OrderedDict[int, tuple[Executable, _Plan | None]] = OrderedDict()

    def eligible(self, statement: Executable) -> bool:
        """Whether the driver runs ``statement`` itself (else SQLAlchemy does)."""
        return self._direct and self._plan(statement) is not None

    async def read(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Result[*tuple[Any, ...]]:
        """Run ``statement`` outside any transaction and return its rows, buffered.

        The direct path raises nothing of its own: on any failure the connection is discarded
        and the read is run again through SQLAlchemy, whose result or exception is the
        caller's.
        """
        plan = self._plan(statement) if self._direct else None
        if plan is None:
            return await self._through_sqlalchemy(statement, parameters)
        arguments = plan.arguments(parameters)
        pooled = await self._engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            records = await driver.fetch(plan.sql, *arguments)
        except Exception:
            logger.warning("direct read failed; retrying through SQLAlchemy", exc_info=True)
            pooled.invalidate()
            return await self._through_sqlalchemy(statement, parameters)
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

    async def _through_sqlalchemy(
        self, statement: Executable, parameters: Mapping[str, Any]
    ) -> Result[*tuple[Any, ...]]:
        async with self._autocommit.connect() as connection:
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
