"""Look-ups by key made in one turn of the event loop, read together in one select.

Under load the bot handles many updates at once: the poller feeds a ``getUpdates`` answer's
updates (up to a hundred) together, and webhook requests read in one turn arrive together.
Their middlewares run in step — each awaits the same Redis pipeline or group commit, then all
go on in the same turn — so their look-ups by key come in the same turn too: the arrival's
chat user (``services/chat.py``), the registry's person and household
(``services/registry.py``). Each was a round trip of its own to the database: a statement
sent, a socket write, a result parsed; the arrival alone was a tenth of an update's CPU on
PostgreSQL (the README's benchmark section, 2026-12-07, second entry).

:class:`TurnReads` queues each look-up and waits; a task started for the turn reads every key
queued by then and answers each caller:

- one key queued (updates coming one at a time): the single-key statement, which the driver
  runs itself (``services/db/direct_reads.py``), as before;
- several: one select per group of equal parameters (a platform) for all its keys
  (:func:`keys_match`: ``= ANY`` of an array on PostgreSQL, which the driver runs itself too;
  an ``IN`` list on SQLite), whose first column is the key, so that its rows can be handed
  back to their callers.

Its first step runs on the next turn, after every caller ready in this one: a lone look-up
waits one loop turn, as :class:`bot.redis_batch.RedisBatcher`'s commands and the update
ledger's done-mark reads (``bot/middlewares/ledger_db.py``) do. The reads are outside any
transaction, as the single ones were: a select sees committed data either way. A failed
select fails the look-ups of its batch, as a failed read failed its one look-up. Nothing is
kept between turns: every update reads afresh.

Written here because no library batches look-ups across asyncio tasks for SQLAlchemy (the
DataLoader pattern of GraphQL servers is the same idea, tied to their resolvers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, any_, bindparam
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common import direct_reads, read, read_outside

Group = tuple[tuple[str, Any], ...]
# The statement for several keys, made for a dialect's name (see :func:`keys_match`).
ManyFor = Callable[[str], Select[*tuple[Any, ...]]]


def keys_match(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the keys bound as ``name``, for the statement of several keys.

    On PostgreSQL ``column = ANY(:name)`` with the keys as one array: the same statement text
    for any number of keys, so asyncpg runs it itself as the single reads run
    (``services/db/direct_reads.py``) — an unnamed statement behind PgBouncer in transaction
    mode, where a statement SQLAlchemy prepares outside a transaction may be missing on the
    backend that executes it (``tests/cluster/test_pgbouncer.py``). Elsewhere (SQLite) an
    expanding ``IN``, which SQLAlchemy renders per call.
    """
    condition: ColumnElement[bool] = (
        column == any_(bindparam(name, type_=ARRAY(column.type)))
        if dialect == "postgresql"
        else column.in_(bindparam(name, expanding=True))
    )
    return condition


class TurnReads:
    """Look-ups of rows by ``key`` on one engine, those of a loop turn in one select.

    ``one``: the statement for one key (bound parameters: the group's and ``key``).
    ``many``: the statement for several (bound parameters: the group's and ``key`` + "s", in
    :func:`keys_match`); its first column is the key, the rest are ``one``'s columns in the
    same order.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        one: Select[*tuple[Any, ...]],
        many: Select[*tuple[Any, ...]],
        *,
        key: str,
    ) -> None:
        self._engine = engine
        self._one = one
        self._many = many
        self._key = key
        self._queued: dict[tuple[Group, Any], list[asyncio.Future[list[tuple[Any, ...]]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.selects = 0  # tests and benchmarks: how many statements the look-ups took

    async def rows(self, group: Mapping[str, Any], key: Any) -> list[tuple[Any, ...]]:
        """The rows of ``key`` (``one``'s columns), read with the turn's other look-ups."""
        loop = asyncio.get_running_loop()
        if self._task is not None and self._task.get_loop() is not loop:
            # The engine outlived an event loop (tests run one each): what that loop left
            # queued can never be answered there, and is not this loop's to answer.
            self._task, self._queued = None, {}
        future: asyncio.Future[list[tuple[Any, ...]]] = loop.create_future()
        self._queued.setdefault((tuple(sorted(group.items())), key), []).append(future)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="turn-reads")
        return await future

    async def _run(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, {}
            try:
                found = await self._read(list(batch))
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutdown): let the callers go, then stop
                for futures in batch.values():
                    for future in futures:
                        future.cancel()
                raise
            for wanted, futures in batch.items():
                for future in futures:
                    if not future.done():  # its caller may have been cancelled meanwhile
                        future.set_result(found.get(wanted, []))

    async def _read(
        self, wanted: Sequence[tuple[Group, Any]]
    ) -> dict[tuple[Group, Any], list[tuple[Any, ...]]]:
        found: dict[tuple[Group, Any], list[tuple[Any, ...]]] = {}
        if len(wanted) == 1:
            group, key = wanted[0]
            result = await read_outside(self._engine, self._one, {**dict(group), self._key: key})
            self.selects += 1
            found[wanted[0]] = [tuple(row) for row in result]
            return found
        by_group: dict[Group, list[Any]] = {}
        for group, key in wanted:
            by_group.setdefault(group, []).append(key)
        for group, keys in by_group.items():
            result = await read_outside(
                self._engine, self._many, {**dict(group), f"{self._key}s": keys}
            )
            self.selects += 1
            for row in result:
                found.setdefault((group, row[0]), []).append(tuple(row[1:]))
        return found


def turn_reads(
    engine: AsyncEngine,
    name: str,
    one: Select[*tuple[Any, ...]],
    many: ManyFor,
    *,
    key: str,
) -> TurnReads:
    """The :class:`TurnReads` called ``name`` of ``engine``: made once and kept on the engine
    (its reads use the engine's pool), so they go when it goes."""
    kept: dict[str, TurnReads] | None = getattr(engine.sync_engine, _ATTRIBUTE, None)
    if kept is None:
        kept = {}
        setattr(engine.sync_engine, _ATTRIBUTE, kept)
    reads = kept.get(name)
    if reads is None:
        reads = kept[name] = TurnReads(engine, one, many(engine.dialect.name), key=key)
    return reads


_ATTRIBUTE = "_tamin_turn_reads"


async def read_rows(
    session: AsyncSession,
    name: str,
    one: Select[*tuple[Any, ...]],
    many: ManyFor,
    *,
    key: str,
    value: Any,
    group: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """The rows of ``one`` for ``value`` of ``key`` (and the ``group``'s parameters).

    With the loop turn's other look-ups of ``name`` (:class:`TurnReads`) where the session has
    begun nothing and the engine's driver runs ``one`` itself (a PostgreSQL or SQLite file
    engine); else on the session, as :func:`services.common.read` runs a read (a transaction
    already begun, an in-memory test database).
    """
    group = group or {}
    bind = session.bind
    if not session.in_transaction() and isinstance(bind, AsyncEngine):
        reads = direct_reads(bind)
        if reads is not None and reads.eligible(one):
            return await turn_reads(bind, name, one, many, key=key).rows(group, value)
    return [tuple(row) for row in await read(session, one, {**group, key: value})]
