"""Kill -9 under load, restart, count the answers (issue 17, finding 2; its "Bars").

The real bot process (``tamin-bot run``) against the in-process sandbox: ``users`` users each
send one message, the bot is killed with SIGKILL once about a third of them are answered, and
started again. Every user must get exactly one answer: none never answered, none answered twice.

Scenarios: PostgreSQL + Redis by polling and by webhook, and the database's own dedupe (no
Redis) by webhook on SQLite (where an in-memory dedupe used to answer up to 27 % twice).

``python -m benchmarks delivery`` runs them with 300 users (``DELIVERY_USERS`` to change it);
``tests/faults/test_kill9.py`` runs the same with fewer users inside the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.bot_load import BotProcess, base_env, free_port, spawn, tamin_argv
from benchmarks.postgres import pg_admin, pg_admin_user

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_USERS = 300
# Its own Redis database: the bot's keys there (tamin:*) are cleared before each scenario.
REDIS_URL = "redis://127.0.0.1:6379/12"
START_LIMIT_S = 90.0
ANSWER_LIMIT_S = 90.0
# Once everybody is answered, how long to wait for the platform to hold no unconfirmed update.
SETTLE_LIMIT_S = 15.0
# Short leases so a killed process's updates are taken over soon after the restart.
LEASE_S = 2.0
TEXT = "سلام"


@dataclass
class Outcome:
    """What the users got."""

    label: str
    users: int
    answered_before_kill: int
    never: list[int]
    twice: list[int]
    seconds: float
    # Users whose update was marked done (committed) when the bot was killed: none of them may
    # be answered again.
    done_at_kill: list[int] = field(default_factory=list)
    # Users answered before the kill whose update had not committed: handled again after the
    # restart, their reply already out. The send ledger (bot/send_ledger.py) keeps it from
    # going out again; before it, each of them was answered twice.
    replayed: list[int] = field(default_factory=list)
    # Seconds of each phase (start, until the kill, restart, the rest answered, quiet).
    phases: dict[str, float] = field(default_factory=dict)
    # Updates the platform still held unconfirmed at the end (0: settled; see ``_settled``).
    unconfirmed: int = 0

    def line(self) -> str:
        return (
            f"{self.label:<32} users {self.users:>4}  answered before the kill "
            f"{self.answered_before_kill:>4}  never answered {len(self.never):>3}  "
            f"answered twice {len(self.twice):>3}  committed at the kill "
            f"{len(self.done_at_kill):>4}  answered, not committed (re-run) "
            f"{len(self.replayed):>3}  unconfirmed at the end {self.unconfirmed}"
            f"  ({self.seconds:.1f} s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items())
            + ")"
        )


def write_config(workdir: Path) -> Path:
    """The project's config.yml with short leases (and a short shutdown grace)."""
    with open(PROJECT_ROOT / "config.yml", encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    data.setdefault("bot", {}).update(update_lease_seconds=LEASE_S, shutdown_grace_seconds=5)
    path = workdir / "config.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def clear_redis(url: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match="tamin:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _answer_times(world: Any, bot: Any, uid: int) -> list[float]:
    return sorted(
        float(e["at"])
        for e in world.events(bot, uid, 0)
        if e["kind"] == "message" and e["sender"] == "bot"
    )


def _answers(world: Any, bot: Any, uid: int) -> int:
    return len(_answer_times(world, bot, uid))


async def _done_updates(
    database_url: str, redis_url: str | None, update_ids: list[int]
) -> set[int]:
    """The updates the ledger holds as done (read right after the kill, before the restart)."""
    if redis_url:
        client = Redis.from_url(redis_url)
        try:
            values = await client.mget([f"tamin:update:telegram:{u}" for u in update_ids])
        finally:
            await client.aclose()
        return {u for u, v in zip(update_ids, values, strict=True) if v == b"done"}
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT update_id FROM processed_updates WHERE state = 'done'")
            )
            return {int(r[0]) for r in rows} & set(update_ids)
    finally:
        await engine.dispose()


async def _wait_ready(process: BotProcess, world: Any, token: str, *, webhook: bool) -> None:
    """Until the bot polls (or has set its webhook anew), bounded in time."""
    bot = world.resolve_bot(token)
    polls = int(bot.stats.get("calls:getUpdates", 0))
    hooks = int(bot.stats.get("calls:setWebhook", 0))
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        if webhook and int(bot.stats.get("calls:setWebhook", 0)) > hooks:
            return
        if not webhook and int(bot.stats.get("calls:getUpdates", 0)) > polls:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{process.name} did not start:\n{process.log_tail()}")


async def _settled(bot: Any, deadline: float) -> None:
    """Until the platform holds no unconfirmed update of the bot (bounded in time).

    No duplicate can come after that: the bot confirms an update only once its handler has
    finished, sends included (polling moves the offset past finished updates, a webhook
    request is answered 200 after its handler), and a confirmed update is never sent again.
    A fixed quiet time (3 s) waited here before, longer than needed and never provably enough.
    Bounded: after a webhook kill the sandbox was once seen holding an update unconfirmed for
    over a minute with every user answered (the outcome counts what is left unconfirmed).
    """
    # Polled: the sandbox signals arrivals, not confirmations.
    while bot.updates and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def kill_and_restart(
    label: str,
    *,
    database_url: str,
    redis_url: str | None,
    webhook: bool,
    users: int,
    workdir: Path,
) -> Outcome:
    """One scenario (see the module docstring)."""
    from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config

    if redis_url:
        await clear_redis(redis_url)
    server = SandboxServer(demo_config(bale_token=None), port=0, log_level="warning")
    await server.start()
    processes: list[BotProcess] = []
    try:
        port = free_port(pair=True)
        env = {
            **base_env(database_url),
            "TELEGRAM_BOT_TOKEN": DEMO_TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE": server.api_base,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
            "TAMIN_CONFIG": str(write_config(workdir)),
        }
        if redis_url:
            env["REDIS_URL"] = redis_url
        if webhook:
            env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
            env["WEBHOOK_SECRET"] = "faults-webhook-secret-0123456789"
        world = server.world
        bot = world.resolve_bot(DEMO_TELEGRAM_TOKEN)
        name = label.replace(" ", "-").replace(",", "")
        first = spawn(f"{name}-1", tamin_argv("run"), env, workdir)
        processes.append(first)
        phases: dict[str, float] = {}
        mark = time.monotonic()

        def phase(name: str) -> None:
            nonlocal mark
            now = time.monotonic()
            phases[name] = now - mark
            mark = now

        await _wait_ready(first, world, DEMO_TELEGRAM_TOKEN, webhook=webhook)
        phase("start")
        uids = [world.create_user(first_name=f"کاربر {n}").id for n in range(users)]
        started = time.monotonic()
        update_of: dict[int, int] = {}
        for uid in uids:
            _, update = world.send_text(uid, TEXT, bot=bot.id)
            assert update is not None
            update_of[uid] = update.update_id
        # Kill once about a third are answered: many are then in hand.
        deadline = time.monotonic() + ANSWER_LIMIT_S
        while sum(1 for uid in uids if _answers(world, bot, uid)) < users // 3:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no progress before the kill:\n{first.log_tail()}")
            await asyncio.sleep(0.005)
        first.process.kill()
        phase("to the kill")
        first.process.wait(timeout=10)
        answered_at_kill = [uid for uid in uids if _answers(world, bot, uid)]
        answered_before = len(answered_at_kill)
        done = await _done_updates(database_url, redis_url, list(update_of.values()))
        second = spawn(f"{name}-2", tamin_argv("run"), env, workdir)
        processes.append(second)
        await _wait_ready(second, world, DEMO_TELEGRAM_TOKEN, webhook=webhook)
        phase("restart")
        deadline = time.monotonic() + ANSWER_LIMIT_S
        while any(_answers(world, bot, uid) == 0 for uid in uids):
            if time.monotonic() > deadline or second.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        phase("the rest answered")
        await _settled(bot, time.monotonic() + SETTLE_LIMIT_S)
        phase("settled")
        times = {uid: _answer_times(world, bot, uid) for uid in uids}
        counts = {uid: len(t) for uid, t in times.items()}
        twice = [uid for uid, n in counts.items() if n > 1]
        return Outcome(
            label=label,
            users=users,
            answered_before_kill=answered_before,
            never=[uid for uid, n in counts.items() if n == 0],
            twice=twice,
            seconds=time.monotonic() - started,
            done_at_kill=[uid for uid in uids if update_of[uid] in done],
            replayed=[uid for uid in answered_at_kill if update_of[uid] not in done],
            phases=phases,
            unconfirmed=len(bot.updates),
        )
    finally:
        # Stopped in a thread: the sandbox serves the bot's last calls on this loop meanwhile
        # (polling confirms what it finished with a last getUpdates before it exits).
        for process in processes:
            await asyncio.to_thread(process.stop)
        await server.stop()


@contextlib.asynccontextmanager
async def postgres_database() -> Any:
    """A throwaway PostgreSQL database's URL (None when PostgreSQL is not reachable)."""
    user = await pg_admin_user()
    if user is None:
        yield None
        return
    name = f"tamin_faults_{uuid.uuid4().hex[:10]}"
    await pg_admin(user, f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{user}@127.0.0.1:5432/{name}"
    finally:
        await pg_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench(users: int) -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tamin-faults-") as tmp:
        workdir = Path(tmp)
        for webhook in (False, True):
            async with postgres_database() as pg_url:
                if pg_url is None:
                    print("PostgreSQL is not reachable: its scenarios are skipped")
                    break
                label = f"PostgreSQL + Redis, {'webhook' if webhook else 'polling'}"
                outcome = await kill_and_restart(
                    label,
                    database_url=pg_url,
                    redis_url=REDIS_URL,
                    webhook=webhook,
                    users=users,
                    workdir=workdir,
                )
                print(outcome.line(), flush=True)
                failed += bool(outcome.never or outcome.twice)
        outcome = await kill_and_restart(
            "SQLite, no Redis, webhook",
            database_url=f"sqlite+aiosqlite:///{workdir / 'faults.db'}",
            redis_url=None,
            webhook=True,
            users=users,
            workdir=workdir,
        )
        print(outcome.line(), flush=True)
        failed += bool(outcome.never or outcome.twice)
    return 1 if failed else 0


def main() -> int:
    users = int(os.environ.get("DELIVERY_USERS", DEFAULT_USERS))
    return asyncio.run(bench(users))
