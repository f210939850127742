"""aiogram FSM storage in the database, for when Redis is not configured (issue 17, finding 9).

The embedded default (SQLite, no Redis) kept each chat's step and data in memory, so a restart
lost every flow half-way: a complaint being typed, a dependant being added. :class:`DbStorage`
keeps them in the ``fsm_state`` table, one row per chat (state and data together), and they
expire like the Redis keys: ``ttl`` after the last write the row reads as empty, and retention
(``services.retention``) deletes it.

Speed (the bot benchmark runs every update through this):

- **Reads**: the state and the data of a chat come from one ``SELECT`` by primary key, and the
  row is then kept in this process (``cache``), so an update reads the database at most once,
  and a chat's later updates not at all. The cache is right only when this process is the one
  writer of the chat's row: true when polling (Telegram gives one poller a bot's updates) and
  for a single webhook worker; several webhook workers use Redis, as ARCHITECTURE.md says.
- **Writes** only when something changed (aiogram calls ``set_state``/``set_data`` only then,
  and ``bot.dialogue`` writes its topic only when it is new), as one upsert **in the update's
  own transaction** (``bot.middlewares.db.update_session``): the step commits with what the
  update did, or not at all, and no second transaction waits for SQLite's write lock that the
  update itself holds. A write outside an update (the error router after a rollback) commits
  on its own. When an update rolls back, the chats it wrote are dropped from the cache, so the
  next read finds what was committed.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
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
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares.db import ON_ROLLBACK, update_session
from services.db.fsm_models import FsmState

Row = tuple[str | None, dict[str, Any], dt.datetime]  # state, data, expires_at


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
        cache: bool = True,
    ) -> None:
        self._sessions = session_factory
        self._now = now
        self.ttl = ttl
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        self.cache = cache
        self._rows: dict[str, Row | None] = {}
        self.reads = 0  # SELECTs made, for tests and the benchmark
        self.writes = 0

    def forget(self, key: str) -> None:
        self._rows.pop(key, None)

    # --- reading -----------------------------------------------------------------------
    async def _row(self, storage_key: StorageKey) -> Row | None:
        key = self.key_builder.build(storage_key)
        if self.cache and key in self._rows:
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
            row = (found.state, dict(found.data or {}), found.expires_at)
        if self.cache:
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
        values = {
            "key": key,
            "state": state,
            "data": data,
            "updated_at": now,
            "expires_at": expires,
        }
        self.writes += 1
        session = update_session.get()
        if session is not None:
            await self._upsert(session, values)
            session.info.setdefault(ON_ROLLBACK, []).append(partial(self.forget, key))
        else:
            async with self._sessions() as own:
                await self._upsert(own, values)
                await own.commit()
        if self.cache:
            self._keep(key, (state, data, expires))

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
