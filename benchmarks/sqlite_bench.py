"""What a statement costs on the embedded SQLite database, by the way it reaches SQLite.

Run with ``python -m benchmarks sqlite``. On a file database of the project's settings (WAL):

1. the look-up by key alone, with ``sqlite3`` in this thread (the floor);
2. the same through aiosqlite, one thread hand-off (``execute_fetchall``);
3. the same the way SQLAlchemy's aiosqlite adapter makes it: cursor, execute, fetch, close,
   four hand-offs;
4. the project's engine (``services/db/sqlite.py``): a unit of work that reads the row and
   commits, as the bot's per-update look-up does, and one that inserts a row and commits.

Figures are CPU time per statement (or per unit of work) in this process, all threads counted,
so a hand-off's thread wake-ups and GIL hand-overs show.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from services.db import create_engine, create_session_factory
from services.settings import load_settings

ROUNDS = 3000
ROWS = 1000
LOOK_UP = "SELECT name FROM things WHERE id = ?"

metadata = MetaData()
things = Table(
    "things", metadata, Column("id", Integer, primary_key=True), Column("name", String(40))
)


def _cpu_per_round(label: str, started: float, rounds: int) -> None:
    print(f"{label:<58} {(time.process_time() - started) / rounds * 1e6:8.1f} µs CPU", flush=True)


async def _timed(label: str, rounds: int, once: Callable[[int], Awaitable[object]]) -> None:
    for i in range(min(rounds, 200)):  # warm: statement caches, pool
        await once(i)
    started = time.process_time()
    for i in range(rounds):
        await once(i)
    _cpu_per_round(label, started, rounds)


async def bench(path: Path) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(load_settings(database_url=url))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(things), [{"name": f"n{i}"} for i in range(ROWS)])

    plain = sqlite3.connect(path)
    started = time.process_time()
    for i in range(ROUNDS):
        plain.execute(LOOK_UP, (i % ROWS + 1,)).fetchall()
    _cpu_per_round("sqlite3 in this thread", started, ROUNDS)
    plain.close()

    async with aiosqlite.connect(path) as db:

        async def one_hand_off(i: int) -> object:
            return await db.execute_fetchall(LOOK_UP, (i % ROWS + 1,))

        async def four_hand_offs(i: int) -> object:
            cursor = await db.cursor()
            await cursor.execute(LOOK_UP, (i % ROWS + 1,))
            rows = await cursor.fetchall()
            await cursor.close()
            return rows

        await _timed("aiosqlite, one hand-off", ROUNDS, one_hand_off)
        await _timed(
            "aiosqlite as SQLAlchemy's adapter uses it, four hand-offs", ROUNDS, four_hand_offs
        )

    sessions = create_session_factory(engine)
    look_up = select(things.c.name).where(things.c.id == 1)

    async def read_unit(_: int) -> object:
        async with sessions() as session:
            name = (await session.execute(look_up)).scalar()
            await session.commit()
            return name

    async def write_unit(i: int) -> object:
        async with sessions() as session:
            await session.execute(insert(things).values(name=f"w{i}"))
            await session.commit()
            return None

    await _timed("project engine: session, read by key, commit", ROUNDS, read_unit)
    await _timed("project engine: session, insert, commit", ROUNDS // 3, write_unit)
    await engine.dispose()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tamin-sqlite-bench-") as workdir:
        asyncio.run(bench(Path(workdir) / "bench.db"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
