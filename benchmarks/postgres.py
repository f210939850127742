"""The PostgreSQL server on loopback that benchmarks create their throwaway databases on."""

from __future__ import annotations

import asyncpg

PG_HOST, PG_PORT = "127.0.0.1", 5432


async def pg_admin_user() -> str | None:
    """The role that can create databases here (``postgres`` or ``root``), or None."""
    for user in ("postgres", "root"):
        try:
            conn = await asyncpg.connect(
                host=PG_HOST, port=PG_PORT, user=user, database="postgres", timeout=3
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            continue
        await conn.close()
        return user
    return None


async def pg_admin(user: str, sql: str) -> None:
    """Run one statement (CREATE / DROP DATABASE) as ``user`` on the ``postgres`` database."""
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=user, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
