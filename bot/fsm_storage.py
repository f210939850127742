"""aiogram FSM storage in the database, for when Redis is not configured (issue 17, finding 9).

The embedded default (SQLite, no Redis) kept each chat's step and data in memory, so a restart
lost every flow half-way: a complaint being typed, a dependant being added. :class:`DbStorage`
keeps them in the ``fsm_state`` table, one row per chat (state and data together), and they
expire like the Redis keys: ``ttl`` after the last write the row reads as empty, and retention
(``services.retention``) deletes it.

What is stored, and the speed (the bot benchmark runs every update through this):

- **Only steps in progress** are rows: a chat with a state (a flow half-way) has one, written
  with its data; when the flow ends the row is deleted. Between flows a chat's data is only
  the dialogue's 10-minute memory of its last answer (``bot.dialogue``), which changes on most
  updates: it is kept in this process alone, so an update outside any flow writes nothing,
  and a restart forgets only that memory (a follow-up like «و دخترم چی؟» is asked in full).
- **Reads**: state and data come from one ``SELECT`` by primary key, the first time a chat
  is seen; then the chat is answered from this process's copy, so an update reads the
  database at most once, a chat's later updates not at all. The copy is right because this
  process is the only writer of the chat's row: polling (Telegram gives one poller a bot's
  updates) or a single webhook process; several webhook workers share Redis instead
  (``bot.factory.build_fsm``).
- **Writes** only when something changed, as one statement **in the update's own
  transaction** (``bot.middlewares.db.update_session``): the step commits with what the update
  did, or not at all, and no second transaction waits for SQLite's write lock that the update
  itself holds. A write outside an update (the error router after a rollback) commits on its
  own. When an update rolls back, the chats it wrote are dropped from the copy, so the next
  read finds what was committed.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.db import ON_ROLLBACK, update_session
from services.db.fsm_models import FsmState

# state, data, expires_at, and whether the database holds it (a step in progress) or only
# this process (the data of a chat between flows).
Row = tuple[str | None, dict[str, Any], dt.datetime, bool]


class DbStorage(BaseStorage):
    """FSM state and data in the ``fsm_state`` table, read once and cached in this process."""

    # Chats cached at most; past it the oldest half is dropped (they are read again if needed).
    CACHE_SIZE = 50_000

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        now: Callable[[], dt.datetime],
        *,
        ttl: dt.timedelta,
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self._sessions = session_factory
        self._now = now
        self.ttl = ttl
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self._rows: dict[str, Row | None] = {}
        self.reads = 0  # SELECTs made, for tests and the benchmark
        self.writes = 0

    def forget(self, key: str) -> None:
        self._rows.pop(key, None)

    # --- reading -----------------------------------------------------------------------
    async def _row(self, storage_key: StorageKey) -> Row | None:
        key = self.key_builder.build(storage_key)
        if key in self._rows:
            row = self._rows[key]  # None: known to have no row (a chat with no step)
        else:
            row = await self._load(key)
        if row is None or row[2] <= self._now():
            return None  # no step, or one left half-way longer than the TTL
        return row

    async def _load(self, key: str) -> Row | None:
        query = select(FsmState.state, FsmState.data, FsmState.expires_at).where(
            FsmState.key == key
        )
        self.reads += 1
        session = update_session.get()
        if session is not None:
            # The update's own session sees what the update wrote and has not committed.
            found = (await session.execute(query)).first()
        else:
            async with self._sessions() as own:
                found = (await own.execute(query)).first()
        row: Row | None = None
        if found is not None:
            row = (found.state, dict(found.data or {}), found.expires_at, True)
        self._keep(key, row)
        return row

    def _keep(self, key: str, row: Row | None) -> None:
        if len(self._rows) >= self.CACHE_SIZE:
            for old in list(self._rows)[: self.CACHE_SIZE // 2]:
                del self._rows[old]
        self._rows[key] = row

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._row(key)
        return None if row is None else row[0]

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._row(key)
        return {} if row is None else dict(row[1])

    # --- writing -----------------------------------------------------------------------
    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        row = await self._row(key)
        if (row is None and value is None) or (row is not None and row[0] == value):
            return  # unchanged (``FSMContext.clear`` of a chat with no step, say)
        await self._write(key, value, {} if row is None else row[1])

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        row = await self._row(key)
        if (row is None and not data) or (row is not None and row[1] == data):
            return  # unchanged
        # A copy: the caller may change its nested lists after this, the stored row not.
        await self._write(key, None if row is None else row[0], copy.deepcopy(dict(data)))

    async def _write(
        self, storage_key: StorageKey, state: str | None, data: dict[str, Any]
    ) -> None:
        key = self.key_builder.build(storage_key)
        now = self._now()
        expires = now + self.ttl
        was = self._rows.get(key)
        stored = was is not None and was[3] and was[2] > now
        # Only a step in progress goes to the database: what a restart must not lose. Between
        # flows a chat's data is the dialogue's short memory of its last answer (10 minutes,
        # ``bot.dialogue``), written on most updates: kept in this process only, so an update
        # outside any flow writes nothing (the bot benchmark's updates). A flow that ends
        # deletes its row, and with it the national IDs and texts it held.
        if state is not None:
            values = {
                "key": key,
                "state": state,
                "data": data,
                "updated_at": now,
                "expires_at": expires,
            }
            await self._in_update(lambda session: self._upsert(session, values), key)
        elif stored:
            await self._in_update(
                lambda session: session.execute(delete(FsmState).where(FsmState.key == key)), key
            )
        self._keep(key, (state, data, expires, state is not None))

    async def _in_update(
        self, statement: Callable[[AsyncSession], Awaitable[Any]], key: str
    ) -> None:
        """Run a write in the update's transaction (or in one of its own outside an update)."""
        self.writes += 1
        session = update_session.get()
        if session is not None:
            await statement(session)
            session.info.setdefault(ON_ROLLBACK, []).append(partial(self.forget, key))
        else:
            async with self._sessions() as own:
                await statement(own)
                await own.commit()

    @staticmethod
    async def _upsert(session: AsyncSession, values: dict[str, Any]) -> None:
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        statement = insert(FsmState).values(**values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "state": statement.excluded.state,
                    "data": statement.excluded.data,
                    "updated_at": statement.excluded.updated_at,
                    "expires_at": statement.excluded.expires_at,
                },
            )
        )

    async def close(self) -> None:
        self._rows.clear()
