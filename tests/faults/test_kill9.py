"""Kill -9 with users waiting, restart: nobody is left unanswered (issue 17, finding 2; its Bars).

The real ``tamin-bot run`` process against the sandbox (``benchmarks.delivery_bench``): every
user sends one message, the bot is killed with SIGKILL once a third are answered, and started
again. Before the fix, 2–51 of 300–600 users on PostgreSQL + Redis were never answered (the
update was marked seen on arrival and polling confirmed it while it was being handled), and
in webhook mode without Redis up to 27 % were answered twice (the dedupe lived in memory).

Now none is left unanswered and none is answered twice. An update whose handling committed
before the kill (its done mark, read from the ledger right after the kill) is never handled
again; one whose reply had reached the platform while its commit had not is handled again, but
its reply is not sent again: the send ledger (``bot/send_ledger.py``) recorded it before it
left. Before the send ledger those users, 25 of 300 on PostgreSQL + Redis, were answered twice.
``python -m benchmarks delivery`` runs the same with 300 users (the README has the figures).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from benchmarks.delivery_bench import (
    REDIS_URL,
    Outcome,
    kill_and_restart,
    postgres_database,
)
from nlu import NluModel

pytestmark = pytest.mark.e2e

USERS = 60


@pytest.fixture
async def pg_url(postgres_user: str) -> AsyncIterator[str]:
    async with postgres_database() as url:
        assert url is not None
        yield url


def check(outcome: Outcome) -> None:
    print(outcome.line())
    assert outcome.answered_before_kill < outcome.users  # killed with users still waiting
    assert outcome.done_at_kill  # some had committed when the bot was killed
    assert outcome.never == [], outcome.line()
    # Neither a committed update (the dedupe ledger) nor one re-run after its reply had left
    # (the send ledger: ``outcome.replayed`` counts them) is answered again.
    assert outcome.twice == [], outcome.line()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_kill_9_on_postgres_and_redis(
    webhook: bool, pg_url: str, redis_available: bool, nlu_model: NluModel, tmp_path: Path
) -> None:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    outcome = await kill_and_restart(
        "PostgreSQL + Redis",
        database_url=pg_url,
        redis_url=REDIS_URL,
        webhook=webhook,
        users=USERS,
        workdir=tmp_path,
    )
    check(outcome)


async def test_kill_9_by_webhook_without_redis(nlu_model: NluModel, tmp_path: Path) -> None:
    outcome = await kill_and_restart(
        "SQLite, no Redis, webhook",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}",
        redis_url=None,
        webhook=True,
        users=USERS,
        workdir=tmp_path,
    )
    check(outcome)
