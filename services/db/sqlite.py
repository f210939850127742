"""The embedded SQLite database: reads on the event loop, writes in aiosqlite's thread.

aiosqlite runs each SQLite connection in a thread of its own; every call is handed to that
thread and its answer handed back to the event loop. SQLAlchemy's aiosqlite adapter makes four
such hand-offs per statement (open a cursor, execute, fetch the rows, close the cursor) and one
per commit or rollback, even when SQLite has no transaction open. A hand-off is two thread
wake-ups and two GIL hand-overs, far more CPU than a look-up by key takes
(``python -m benchmarks sqlite`` prints both; the README has the figures). The bot made nine
per update, a large share of its CPU.

:class:`LoopConnection` is aiosqlite's connection with a cursor that

- runs a ``SELECT`` at once, on the event loop's thread. In WAL mode (``engine.py``) a reader
  never waits for a writer, so a read does not stall the loop on a lock (SQLite's only
  exceptions are instants: the recovery of a crashed database's log on first open and the
  last connection's clean-up on close); the bot's reads are look-ups by key and index of well
  under a millisecond;
- hands every other statement (the writes, which may wait for SQLite's one write lock, and
  ``PRAGMA``) to the connection's thread as before, in one hand-off that also fetches the rows;
- skips a commit or rollback when SQLite says no transaction is open, which is the case after
  an update that only read.

Both threads use the one sqlite3 connection in turn, never at once: SQLAlchemy's adapter runs
one statement per connection at a time and waits for each. Hence ``check_same_thread=False``.

**The write turn.** SQLite has one write lock per file. A connection that finds it taken
waits in SQLite's busy handler, which *sleeps* 1, 2, 5, 10, … up to 100 ms between tries: it
does not wake when the lock is freed. With the pool's dozens of connections writing short
transactions (the update ledger's lease, the handler's commit) most of them slept while the
lock stood free: 84 % of the bot's samples were in that sleep, the lease's ``INSERT`` waited
235 ms on average (p99 2.4 s) for a lock held 0.2 ms, and the assistant ran at 0.09 of the
echo bot. So the connections of one engine (the process's one engine on the file: ``tamin-bot
run`` serves the bot, the console and the sender from it) queue for a :class:`WriteTurn`, first
come first served, handed to the next waiter the instant it is given back: a connection takes
the turn before its first statement that is not a read, and gives it back the moment SQLite
says its transaction is closed (after the commit or rollback; a ``PRAGMA`` takes no turn).
SQLite's busy handler is left for what the turn cannot see: other processes and engines on
the same file (the CLI, a console run on its own). A turn not had within the busy timeout
fails as SQLite itself would, ``database is locked``.

Written here because no library offers it: aiosqlite's API is one hand-off per call and
SQLAlchemy's adapter is written against that API. It relies on aiosqlite's ``_execute``,
``_conn`` and ``_thread``, as SQLAlchemy's adapter itself does; ``pyproject.toml`` pins the
aiosqlite series it was checked against, and ``tests/services/test_sqlite_loop.py`` counts the
hand-offs.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

# aiosqlite's default number of rows per fetch when iterating (unused here: rows come at once).
_ITER_CHUNK_SIZE = 64
# How long a connection waits for the write turn: SQLite's own busy timeout (engine.py).
WRITE_TURN_TIMEOUT_S = 30.0

Row = tuple[Any, ...]
# What one statement brings back: description, rows, rowcount, lastrowid.
Outcome = tuple[Any, list[Row], int, int | None]


def run_statement(connection: sqlite3.Connection, sql: str, parameters: Any) -> Outcome:
    """Execute, fetch everything, close the cursor."""
    cursor = connection.execute(sql, parameters)
    try:
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, sql: str, seq: Iterable[Any]) -> Outcome:
    cursor = connection.executemany(sql, seq)
    try:
        return cursor.description, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _is_read(sql: str) -> bool:
    # SQLAlchemy writes every select it compiles with this keyword first, in capitals.
    return sql.startswith("SELECT")


class LoopCursor:
    """What SQLAlchemy's adapter uses of an aiosqlite cursor: the rows come with the statement."""

    __slots__ = ("_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, connection: LoopConnection) -> None:
        self._connection = connection
        self._rows: list[Row] = []
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._rows = []

    def _take(self, outcome: Outcome) -> LoopCursor:
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        connection = self._connection
        if _is_read(sql):
            return self._take(connection.on_loop(run_statement, sql, parameters))
        if not sql.startswith("PRAGMA"):  # a write: in the file's write turn (module docstring)
            await connection.take_write_turn()
        return self._take(await connection.in_thread(run_statement, sql, parameters))

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> LoopCursor:
        await self._connection.take_write_turn()
        return self._take(await self._connection.in_thread(_run_many, sql, seq_of_parameters))

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Row]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def close(self) -> None:
        self._rows = []


class WriteTurn:
    """The turn to write one SQLite file, among this process's connections (module docstring).

    Held by one connection from its first write until its transaction closes; the others wait
    in first-come order, and the turn is handed straight to the next one when given back.
    Written by hand rather than as an ``asyncio.Lock`` under ``asyncio.timeout``: a timeout
    that fires as the lock is granted leaves it held by nobody who will give it back (and a
    stray cancel in the task); here a waiter is either handed the turn or expired, never both.
    """

    __slots__ = ("_waiters", "holder")

    def __init__(self) -> None:
        self.holder: LoopConnection | None = None
        self._waiters: collections.deque[tuple[asyncio.Future[None], LoopConnection]] = (
            collections.deque()
        )

    @property
    def waiting(self) -> int:
        """Connections queued for the turn (the expired and cancelled until passed over)."""
        return len(self._waiters)

    async def take(self, connection: LoopConnection) -> None:
        if self.holder is None and not self._waiters:
            self.holder = connection
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append((waiter, connection))
        timer = loop.call_later(WRITE_TURN_TIMEOUT_S, self._expire, waiter)
        try:
            await waiter  # handed over by give_back (holder already set), or expired
        except BaseException:
            if self.holder is connection:  # handed over, then cancelled before resuming
                self.give_back(connection)
            raise
        finally:
            timer.cancel()

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            # What SQLite says when its busy timeout runs out; SQLAlchemy wraps it as usual.
            waiter.set_exception(sqlite3.OperationalError("database is locked"))

    def give_back(self, connection: LoopConnection) -> None:
        if self.holder is not connection:
            return
        self.holder = None
        while self._waiters:
            waiter, successor = self._waiters.popleft()
            if not waiter.done():  # skip the expired and the cancelled
                self.holder = successor
                waiter.set_result(None)
                return


class LoopConnection(aiosqlite.Connection):
    """aiosqlite's connection: reads on the loop, one hand-off per write, none for an empty
    commit, and writes in turn with the process's other connections to the same file."""

    # Whether SQLite had a transaction open after the last statement. Unknown counts as open.
    _open_transaction = True
    # The file's write turn (set by loop_connector); None writes without one.
    write_turn: WriteTurn | None = None

    def on_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(sqlite3_connection, *args)`` here, on the event loop's thread."""
        connection = self._conn
        try:
            return function(connection, *args)
        finally:
            self._open_transaction = connection.in_transaction

    async def take_write_turn(self) -> None:
        """Wait for the file's write turn, unless this connection holds it already."""
        turn = self.write_turn
        if turn is not None and turn.holder is not self:
            await turn.take(self)

    async def in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(sqlite3_connection, *args)`` in the connection's thread.

        A write turn this connection holds is given back as soon as SQLite says no
        transaction is open (after a commit, a rollback, a statement that opened none).
        """
        connection = self._conn
        turn = self.write_turn
        hand_off: Callable[..., Awaitable[tuple[Any, bool]]] = self._execute
        try:
            result, self._open_transaction = await hand_off(
                _with_transaction_state, connection, partial(function, connection, *args)
            )
        except BaseException:
            self._open_transaction = True  # a failed statement may have begun one
            raise
        finally:
            if turn is not None and not self._open_transaction:
                turn.give_back(self)
        return result

    def cursor(self) -> LoopCursor:  # type: ignore[override]
        # aiosqlite's cursor() is itself a hand-off; this one is made here and entered at once.
        return LoopCursor(self)

    async def commit(self) -> None:
        if self._open_transaction:
            await self.in_thread(sqlite3.Connection.commit)

    async def rollback(self) -> None:
        if self._open_transaction:
            await self.in_thread(sqlite3.Connection.rollback)

    async def close(self) -> None:
        # Closing ends any transaction (SQLite rolls it back): the turn goes with it.
        try:
            await super().close()
        finally:
            if self.write_turn is not None:
                self.write_turn.give_back(self)


def _with_transaction_state(
    connection: sqlite3.Connection, call: Callable[[], Any]
) -> tuple[Any, bool]:
    return call(), connection.in_transaction


def loop_connector(url: str | URL) -> Callable[[], Awaitable[LoopConnection]]:
    """Return an ``async_creator`` opening ``url`` as SQLAlchemy's aiosqlite dialect would."""
    parsed = make_url(url)
    # The dialect's own reading of the URL: the absolute file name and any sqlite3 options.
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    kwargs["check_same_thread"] = False  # see the module's docstring
    # One write turn for the engine's connections to this file (module docstring); made on
    # first connect, inside the event loop the engine serves.
    turns: list[WriteTurn] = []

    async def connect() -> LoopConnection:
        connection = LoopConnection(partial(sqlite3.connect, *args, **kwargs), _ITER_CHUNK_SIZE)
        if not turns:
            turns.append(WriteTurn())
        connection.write_turn = turns[0]
        # As SQLAlchemy's dialect does: a connection nobody closed must not keep the process
        # alive at exit.
        connection._thread.daemon = True
        await connection  # starts the thread and opens the file there
        return connection

    return connect


def create_sqlite_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Return the async engine of a SQLite file ``url`` on :class:`LoopConnection`."""
    engine = _create_async_engine(url, async_creator=loop_connector(url), **kwargs)
    _LOOP_ENGINES.add(engine.sync_engine)
    return engine


# The engines whose connections are LoopConnections (held weakly: they go when disposed of).
_LOOP_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def is_loop_engine(engine: AsyncEngine) -> bool:
    """Whether ``engine`` was made by :func:`create_sqlite_engine`."""
    return engine.sync_engine in _LOOP_ENGINES
