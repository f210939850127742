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

A scenario ends once the platform holds no unconfirmed update (``delivery_bench._settled``):
no duplicate can come after that (a fixed 3 s wait before). Most of a scenario's time is the
bot's start and restart; running the three at once was tried and was no faster on two shared
cores (the starts are CPU-bound).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.delivery_bench import Outcome, kill_and_restart, postgres_database
from nlu import NluModel

pytestmark = pytest.mark.e2e

USERS = 60


@dataclass(frozen=True)
class Scenario:
    label: str
    webhook: bool
    # With PostgreSQL and this Redis database (each scenario clears the bot's keys in its
    # own), else SQLite without Redis.
    redis_url: str | None


SCENARIOS = {
    "pg-redis-polling": Scenario(
        "PostgreSQL + Redis, polling", False, "redis://127.0.0.1:6379/12"
    ),
    "pg-redis-webhook": Scenario("PostgreSQL + Redis, webhook", True, "redis://127.0.0.1:6379/13"),
    "sqlite-webhook": Scenario("SQLite, no Redis, webhook", True, None),
}


async def _run(scenario: Scenario, workdir: Path) -> Outcome:
    async with contextlib.AsyncExitStack() as stack:
        if scenario.redis_url is None:
            database_url = f"sqlite+aiosqlite:///{workdir / 'faults.db'}"
        else:
            database_url = await stack.enter_async_context(postgres_database())
            assert database_url is not None
        return await kill_and_restart(
            scenario.label,
            database_url=database_url,
            redis_url=scenario.redis_url,
            webhook=scenario.webhook,
            users=USERS,
            workdir=workdir,
        )


def check(outcome: Outcome) -> None:
    print(outcome.line())
    assert outcome.answered_before_kill < outcome.users  # killed with users still waiting
    # ... and after some were handled: committed, or answered and caught before their commit
    # (those the send ledger keeps from being answered again).
    assert outcome.done_at_kill or outcome.replayed, outcome.line()
    assert outcome.never == [], outcome.line()
    # Neither a committed update (the dedupe ledger) nor one re-run after its reply had left
    # (the send ledger: ``outcome.replayed`` counts them) is answered again.
    assert outcome.twice == [], outcome.line()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("scenario", ["pg-redis-polling", "pg-redis-webhook"])
async def test_kill_9_on_postgres_and_redis(
    scenario: str, postgres_user: str, redis_available: bool, nlu_model: NluModel, tmp_path: Path
) -> None:
    if not redis_available:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379 and could not be started")
    check(await _run(SCENARIOS[scenario], tmp_path))


async def test_kill_9_by_webhook_without_redis(nlu_model: NluModel, tmp_path: Path) -> None:
    check(await _run(SCENARIOS["sqlite-webhook"], tmp_path))
