"""PostgreSQL behind PgBouncer in transaction mode (``DB_PGBOUNCER=1``, services/db/engine.py).

A real PgBouncer (Debian's package) with two server connections in transaction mode. The
assistant's direct reads (asyncpg's own ``fetch``) and its SQLAlchemy transactions must work,
many at once, and when one client connection's next transaction lands on another backend than
its last (forced here: the first backend is kept busy by another client). Without the setting
a statement prepared and cached on the first backend is missing on the second (the control
test shows why the setting exists).
Skipped with the reason when pgbouncer or PostgreSQL is not installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from demo import run_demo_data
from services.chat import ChatLookup
from services.clock import FixedClock
from services.db import create_engine, create_session_factory
from services.db.migrate import upgrade_database
from services.db.models import ChatUser
from services.registry import SqlRegistryGateway
from services.settings import Settings
from tests.conftest import PG_HOST, PG_PORT, TEST_NOW

pytestmark = pytest.mark.postgres

PERSONAS = ("6508124226", "2739897952", "3486477986", "8332279291")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer(postgres_user: str) -> Iterator[int]:
    """A PgBouncer in transaction mode in front of the local PostgreSQL; yields its port."""
    binary = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="tamin-pgbouncer-"))
    folder.chmod(0o755)
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={PG_HOST} port={PG_PORT} user={postgres_user}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        # Two server connections: the tests steer a client's transaction to the second.
        "default_pool_size = 2\nmax_client_conn = 100\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n",
        encoding="utf-8",
    )
    config.chmod(0o644)
    argv = [binary, str(config)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root.
        shutil.chown(folder, "postgres")
        argv = [binary, "-u", "postgres", str(config)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                err = log.read_text(errors="replace") if log.exists() else ""
                pytest.skip(f"pgbouncer did not start: {err[-500:]}")
            time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _answers(port: int) -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=port, user="x", database="postgres", timeout=2
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="module")
def bounced_db(postgres_user: str, settings: Settings) -> Iterator[tuple[Settings, str]]:
    """A migrated database with the demo personas; yields (direct settings, database name)."""
    name = f"tamin_pgb_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=postgres_user, database="postgres"
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{postgres_user}@{PG_HOST}:{PG_PORT}/{name}"
    direct = settings.model_copy(
        update={"env": settings.env.model_copy(update={"database_url": url})}
    )
    asyncio.run(upgrade_database(direct))
    asyncio.run(run_demo_data(direct, clock=FixedClock(TEST_NOW)))
    yield direct, name
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _through(direct: Settings, name: str, port: int, *, pgbouncer: bool) -> Settings:
    url = f"postgresql+asyncpg://anyone@127.0.0.1:{port}/{name}"
    env = direct.env.model_copy(
        update={"database_url": url, "db_pgbouncer": pgbouncer, "db_pool_size": 8}
    )
    return direct.model_copy(update={"env": env})


async def _the_bots_work(settings: Settings, users: int = 40) -> int:
    """Many updates' worth of database work at once: the arrival look-up (a direct read, and an
    ORM insert for a new user) committed, read again, and a registry household read."""
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    clock = FixedClock(TEST_NOW)
    base = 9_000_000 + int(uuid.uuid4().int % 1_000_000) * 100

    async def one(n: int) -> None:
        async with factory() as session:
            await ChatLookup(session, settings, clock).arrive("telegram", base + n, "کاربر")
            await session.commit()
        async with factory() as session:
            arrival = await ChatLookup(session, settings, clock).arrive(
                "telegram", base + n, "کاربر"
            )
            assert arrival.user.platform_user_id == base + n
            household = await SqlRegistryGateway(session).household(PERSONAS[n % 4])
            assert household is not None

    try:
        await asyncio.gather(*(one(n) for n in range(users)))
        async with factory() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ChatUser)
                .where(ChatUser.platform_user_id.between(base, base + users))
            )
        return int(count or 0)
    finally:
        await engine.dispose()


async def _on_another_backend(settings: Settings, port: int, name: str) -> None:
    """The same reads and a write on one client connection, the second time on another backend.

    PgBouncer gives a transaction an idle server connection: while another client holds the
    first backend in an open transaction, this client's next one runs on the second.
    """
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    factory = create_session_factory(engine)
    clock = FixedClock(TEST_NOW)
    user_id = 8_000_000 + int(uuid.uuid4().int % 1_000_000)

    async def work() -> None:
        async with factory() as session:
            await ChatLookup(session, settings, clock).arrive("telegram", user_id, "کاربر")
            assert await SqlRegistryGateway(session).household(PERSONAS[0]) is not None
            await session.commit()

    holder = await asyncpg.connect(
        host="127.0.0.1", port=port, user="x", database=name, statement_cache_size=0
    )
    try:
        await work()  # on the first backend (the only one open so far)
        await holder.execute("BEGIN")
        await holder.fetchval("SELECT 1")  # the idle first backend is now this client's
        await work()  # so this runs on the second backend
        await holder.execute("COMMIT")
    finally:
        await holder.close()
        await engine.dispose()


def test_reads_and_writes_work_behind_pgbouncer_in_transaction_mode(
    pgbouncer: int, bounced_db: tuple[Settings, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="services.db.direct_reads")
    direct, name = bounced_db
    settings = _through(direct, name, pgbouncer, pgbouncer=True)
    assert asyncio.run(_the_bots_work(settings)) == 40
    # And again, on connections whose earlier statements ran on other backends.
    assert asyncio.run(_the_bots_work(settings)) == 40
    asyncio.run(_on_another_backend(settings, pgbouncer, name))
    # The direct reads ran as direct reads: none failed and fell back to SQLAlchemy.
    assert not [r for r in caplog.records if "direct read failed" in r.getMessage()]


def test_without_the_setting_a_cached_statement_is_missing_on_another_backend(
    pgbouncer: int, bounced_db: tuple[Settings, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The control: what ``DB_PGBOUNCER`` prevents.

    The direct read's statement, prepared and cached on the first backend, is missing on the
    second (asyncpg's InvalidSQLStatementNameError); the direct reads then fall back to
    SQLAlchemy, which is why the user would not see it, only the cost and the warning.
    """
    caplog.set_level(logging.WARNING, logger="services.db.direct_reads")
    direct, name = bounced_db
    settings = _through(direct, name, pgbouncer, pgbouncer=False)
    asyncio.run(_on_another_backend(settings, pgbouncer, name))
    failures = [r.getMessage() for r in caplog.records if "direct read failed" in r.getMessage()]
    assert failures and "InvalidSQLStatementNameError" in failures[0]
