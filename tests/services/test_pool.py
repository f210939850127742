"""The engine's connection pool under more concurrent units of work than it has connections.

Past the pool an update waits for a free connection; none is opened and closed per use (which
SQLAlchemy's overflow connections are: each a new PostgreSQL backend or SQLite thread).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine
from services.metrics import MeasuredPool
from services.settings import Settings


async def test_more_units_of_work_than_connections_wait_instead_of_connecting(
    engine: AsyncEngine, db_settings: Settings
) -> None:
    size = db_settings.env.db_pool_size
    assert db_settings.env.db_max_overflow == 0
    opened: list[Any] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    peak = 0
    holding = 0

    async def unit_of_work() -> int:
        nonlocal holding, peak
        async with engine.begin() as connection:
            holding += 1
            peak = max(peak, holding)
            await asyncio.sleep(0.01)  # holds it, as an update does across a Bot API call
            value = int(await connection.scalar(text("SELECT 1")) or 0)
            holding -= 1
            return value

    for _ in range(3):  # three waves of twice the pool
        assert sum(await asyncio.gather(*(unit_of_work() for _ in range(2 * size)))) == 2 * size
    assert peak == size
    assert len(opened) <= size, f"{len(opened)} connections opened for a pool of {size}"


async def test_disposing_the_measured_pool_logs_nothing_at_info(
    db_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # ``make run`` printed "Pool disposed" and "Pool recreating" at INFO under ``services``:
    # SQLAlchemy named the subclass's logger after our module.
    engine = create_engine(db_settings)
    assert isinstance(engine.pool, MeasuredPool)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT 1")) == 1
    with caplog.at_level(logging.INFO):
        await engine.dispose()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
