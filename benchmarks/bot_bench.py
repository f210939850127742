"""The assistant's throughput, reply latency and memory against the sandbox, beside an echo bot.

Run with ``python -m benchmarks bot`` (or ``python -m benchmarks.bot_bench``). Everything is on
loopback: the sandbox (the Telegram-compatible Bot API of ``sandbox/``) runs in this process and
the simulated users are injected into it directly, as its control API would; the real
``tamin-bot run`` process and the minimal aiogram echo bot (``sandbox/echo_bot.py``) are
subprocesses talking to it over real HTTP, by polling and by webhook.

1. ``tamin-bot demo-data`` into a temporary SQLite database, then ``USERS`` chat users verify
   through the bot itself (own contact + national ID), round-robin over the four personas.
2. For each subject (assistant polling, assistant webhook, echo polling, echo webhook):
   saturation — ``USERS × PER_USER`` updates at once, three times (the median run is the
   figure: one run lasts a second or two, and this machine's speed wanders); updates per
   second from the first update in to the last reply out, latency, errors, resident memory.
3. The assistant (both modes) at a fixed 100 updates/s, and the echo bot too, for p99 latency.
4. A burst at 300 updates/s for 30 s against the assistant: lost updates and drain time.
5. The production stack, when reachable on loopback: the assistant (polling) on a throwaway
   PostgreSQL database, then on PostgreSQL with Redis for the FSM state and dedupe (what
   several workers would share), by polling and by webhook (the webhook run paired with the
   echo bot by webhook); saturation and 100 updates/s.

Latency is "update in → last reply out", both from the sandbox's event timestamps (the user's
message event and the last ``sendMessage`` the update caused). Every loop is bounded in count
and time. The assistant's workload mixes personal intents (eligibility, last record) with
information ones (channels, greeting), so the database, the NLU and rendering all work.

``BOT_BENCH_ONLY`` (comma-separated: ``tamin-polling``, ``tamin-webhook``, ``tamin-pg``,
``tamin-pg-redis``, ``tamin-pg-redis-webhook``) runs only those configurations, for a quick
look at one; the first chosen verifies the users and counts the replies.

This module holds the phases and the summary; the knobs, the bot processes and the load
itself are :mod:`benchmarks.bot_load`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from benchmarks.bot_load import (
    BURST_RATE,
    BURST_SECONDS,
    ECHO_TOKEN,
    ECHO_WORKLOAD,
    FIXED_RATE,
    FIXED_SECONDS,
    ONLY,
    PER_USER,
    PERSONAS,
    PROJECT_ROOT,
    REDIS_URL,
    SATURATION_RUNS,
    START_LIMIT_S,
    THROTTLE_WINDOW_S,
    USERS,
    VERIFY_CONCURRENCY,
    WORKLOAD,
    BotProcess,
    Load,
    RunResult,
    base_env,
    free_port,
    percentile,
    spawn,
    tamin_argv,
)
from benchmarks.postgres import PG_HOST, PG_PORT, pg_admin, pg_admin_user

# ------------------------------------------------------------------------------ the phases


async def wait_started(process: BotProcess, world: Any, token: str, webhook: bool) -> None:
    """Until the bot polls the sandbox (or has set its webhook), bounded in time."""
    bot = world.resolve_bot(token)
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        snapshot = bot.snapshot()
        if webhook and snapshot.get("webhook_url"):
            return
        if not webhook and int(bot.stats.get("calls:getUpdates", 0)) > 0:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{process.name} did not start:\n{process.log_tail()}")


async def verify_users(load: Load, users: list[int]) -> int:
    """Each user shares their own contact and types the persona's national ID.

    Returns how many users needed a second try (the bot answered the national ID as if no
    verification were under way: a race between its reply and its state, worth knowing).
    """
    semaphore = asyncio.Semaphore(VERIFY_CONCURRENCY)
    failures: list[str] = []
    retried = 0

    async def attempt(uid: int, national_id: str, mobile: str) -> list[str]:
        since = load.world.seq
        load.world.share_contact(uid, mobile, bot=load.bot.id)
        await load.wait_first_bot_event(uid, since, 30.0)
        since = load.world.seq
        load.world.send_text(uid, national_id, bot=load.bot.id)
        await load.wait_first_bot_event(uid, since, 30.0)
        return [
            e["message"].get("rendered_text") or ""
            for e in load.world.events(load.bot, uid, since)
            if e["kind"] == "message" and e["sender"] == "bot"
        ]

    async def one(index: int, uid: int) -> None:
        nonlocal retried
        national_id, mobile = PERSONAS[index % len(PERSONAS)]
        async with semaphore:
            for attempt_no in range(3):
                texts = await attempt(uid, national_id, mobile)
                if any("هویت شما تأیید شد" in t for t in texts):
                    retried += attempt_no > 0
                    return
                await asyncio.sleep(0.5)
            failures.append(f"user {uid}: {texts}")

    await asyncio.gather(*(one(i, uid) for i, uid in enumerate(users)))
    if failures:
        raise RuntimeError(f"{len(failures)} users not verified, e.g. {failures[:2]}")
    return retried


async def calibrate(load: Load, users: list[int], workload: Sequence[str]) -> dict[Any, int]:
    """Replies per (persona, text), measured once on the first user of each persona."""
    counts: dict[Any, int] = {}
    for index in range(min(len(PERSONAS), len(users))):
        for text in workload:
            counts[(index, text)] = await load.reply_count_after(users[index], text)
    return counts


def plan_for(
    users: list[int], workload: Sequence[str], counts: dict[Any, int], total: int
) -> list[tuple[int, str, int]]:
    """``total`` updates round-robin over users (so one user's updates are spread out)."""
    plan = []
    for n in range(total):
        index = n % len(users)
        text = workload[(n // len(users) + index) % len(workload)]
        plan.append((users[index], text, counts[(index % len(PERSONAS), text)]))
    return plan


@dataclass
class Subject:
    """One bot under load: its label, simulated users, process, workload and reply counts."""

    label: str
    load: Load
    process: BotProcess
    workload: Sequence[str]
    counts: dict[Any, int]

    async def warm_up(self) -> None:
        # A short warm-up so that connection pools, caches and the NLU are hot.
        plan = plan_for(self.load.users, self.workload, self.counts, 200)
        await self.load.run("warm-up", plan, 200.0, self.process)
        self.process.peak_rss = 0

    async def saturation(self, n: int) -> RunResult:
        await asyncio.sleep(THROTTLE_WINDOW_S)
        plan = plan_for(
            self.load.users, self.workload, self.counts, len(self.load.users) * PER_USER
        )
        result = await self.load.run(
            f"{self.label}: saturation #{n + 1}", plan, None, self.process
        )
        print(result.line(), flush=True)
        return result


def _median(runs: list[RunResult], label: str, process: BotProcess) -> RunResult:
    median = sorted(runs, key=lambda r: r.throughput)[len(runs) // 2]
    median.label = label
    median.rss_peak = process.peak_rss
    return median


async def paired_saturation(
    subject: Subject, echo: Subject
) -> tuple[RunResult, RunResult, list[float]]:
    """Saturation runs of the assistant and the echo bot, taken in turns.

    This machine's speed wanders over minutes (the README says by how much), so runs minutes
    apart do not compare: each assistant run is paired with the echo run right after it, and the ratio is
    the median of the pairs' ratios. Both processes are up; the idle one only long-polls.
    """
    await subject.warm_up()
    await echo.warm_up()
    mine: list[RunResult] = []
    theirs: list[RunResult] = []
    for n in range(SATURATION_RUNS):
        mine.append(await subject.saturation(n))
        theirs.append(await echo.saturation(n))
    ratios = [a.throughput / b.throughput for a, b in zip(mine, theirs, strict=True)]
    print(
        f"{subject.label}: ratios of the pairs "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f" → median {sorted(ratios)[len(ratios) // 2]:.2f}",
        flush=True,
    )
    return (
        _median(mine, f"{subject.label}: saturation (median)", subject.process),
        _median(theirs, f"{echo.label}: saturation (median)", echo.process),
        ratios,
    )


async def fixed_and_burst(subject: Subject, *, burst: bool) -> list[RunResult]:
    """The subject at a fixed 100 updates/s, and optionally the 300/s burst."""
    load, process, workload, counts = (
        subject.load,
        subject.process,
        subject.workload,
        subject.counts,
    )
    results = []
    await asyncio.sleep(THROTTLE_WINDOW_S)
    plan = plan_for(load.users, workload, counts, int(FIXED_RATE * FIXED_SECONDS))
    label = subject.label
    results.append(await load.run(f"{label}: {FIXED_RATE:.0f}/s", plan, FIXED_RATE, process))
    print(results[-1].line(), flush=True)
    if burst:
        plan = plan_for(load.users, workload, counts, int(BURST_RATE * BURST_SECONDS))
        result = await load.run(
            f"{label}: burst {BURST_RATE:.0f}/s×{BURST_SECONDS:.0f}s", plan, BURST_RATE, process
        )
        results.append(result)
        print(result.line(), flush=True)
        print(
            f"{'':<34} burst: lost {result.lost}, backlog drained {result.drain_s:.2f} s after"
            " the last update",
            flush=True,
        )
    return results


@contextlib.contextmanager
def running(process: BotProcess) -> Iterator[BotProcess]:
    try:
        yield process
    finally:
        process.stop()


async def bench(workdir: Path) -> int:
    from sandbox import DEMO_TELEGRAM_TOKEN, SandboxBot, SandboxConfig, SandboxServer

    env = base_env(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    config = SandboxConfig(
        bots=(
            SandboxBot(token=DEMO_TELEGRAM_TOKEN, platform="telegram"),
            SandboxBot(token=ECHO_TOKEN, platform="telegram", username="bench_echo_bot"),
        )
    )
    server = SandboxServer(config, port=0, log_level="warning")
    await server.start()
    results: dict[str, list[RunResult]] = {}
    ratios: dict[str, list[float]] = {}

    async def measure(
        key: str, echo_key: str, subject: Subject, echo_subject: Subject, *, burst: bool
    ) -> None:
        """Saturation in pairs with the echo bot, then each at 100/s (and the burst)."""
        mine, theirs, ratios[key] = await paired_saturation(subject, echo_subject)
        results[key] = [mine, *await fixed_and_burst(subject, burst=burst)]
        results[echo_key] = [theirs, *await fixed_and_burst(echo_subject, burst=False)]

    try:
        users = [server.world.create_user(first_name=f"کاربر {n}").id for n in range(USERS)]
        tamin = Load(server.world, DEMO_TELEGRAM_TOKEN, users)
        echo = Load(server.world, ECHO_TOKEN, users)
        bot_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": DEMO_TELEGRAM_TOKEN,
            "TELEGRAM_API_BASE": server.api_base,
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        counts: dict[Any, int] = {}
        echo_counts = {(i, t): 1 for i in range(len(PERSONAS)) for t in ECHO_WORKLOAD}
        echo_argv = [
            sys.executable,
            "-m",
            "sandbox.echo_bot",
            "--api-base",
            server.api_base,
            "--token",
            ECHO_TOKEN,
        ]
        # The assistant by polling (the console takes PORT), beside the echo bot by polling.
        if "tamin-polling" in ONLY:
            polling_env = {**bot_env, "PORT": str(free_port())}
            with (
                running(spawn("tamin-polling", tamin_argv("run"), polling_env, workdir)) as proc,
                running(spawn("echo-polling", echo_argv, env, workdir)) as echo_proc,
            ):
                await wait_started(proc, server.world, DEMO_TELEGRAM_TOKEN, webhook=False)
                await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=False)
                started = time.monotonic()
                retried = await verify_users(tamin, users)
                print(
                    f"{len(users)} chat users verified through the bot in"
                    f" {time.monotonic() - started:.1f} s ({retried} needed a second try)",
                    flush=True,
                )
                counts = await calibrate(tamin, users, WORKLOAD)
                print(f"replies per update (persona, text): {sorted(set(counts.values()))}")
                subject = Subject("assistant, polling", tamin, proc, WORKLOAD, counts)
                echo_subject = Subject(
                    "echo bot, polling", echo, echo_proc, ECHO_WORKLOAD, echo_counts
                )
                await measure("tamin-polling", "echo-polling", subject, echo_subject, burst=True)
        # By webhook: the assistant's ASGI app on PORT (the console on PORT + 1), and the echo
        # bot's on a port of its own.
        if "tamin-webhook" in ONLY:
            port = free_port(pair=True)
            webhook_env = {
                **bot_env,
                "PORT": str(port),
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_SECRET": "bench-webhook-secret-0123456789",
            }
            webhook_argv = [*echo_argv, "--webhook-port", str(free_port())]
            with (
                running(spawn("tamin-webhook", tamin_argv("run"), webhook_env, workdir)) as proc,
                running(spawn("echo-webhook", webhook_argv, env, workdir)) as echo_proc,
            ):
                await wait_started(proc, server.world, DEMO_TELEGRAM_TOKEN, webhook=True)
                await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=True)
                if not counts:  # the polling run, which verifies and calibrates, was left out
                    await verify_users(tamin, users)
                    counts = await calibrate(tamin, users, WORKLOAD)
                subject = Subject("assistant, webhook", tamin, proc, WORKLOAD, counts)
                echo_subject = Subject(
                    "echo bot, webhook", echo, echo_proc, ECHO_WORKLOAD, echo_counts
                )
                # The burst runs once, in the default (polling) mode, to keep the run short.
                await measure("tamin-webhook", "echo-webhook", subject, echo_subject, burst=False)
        if any(key.startswith("tamin-pg") for key in ONLY):
            with running(spawn("echo-polling-2", echo_argv, env, workdir)) as echo_proc:
                await wait_started(echo_proc, server.world, ECHO_TOKEN, webhook=False)
                echo_subject = Subject(
                    "echo bot, polling", echo, echo_proc, ECHO_WORKLOAD, echo_counts
                )
                # The production stack by webhook is paired with the echo bot by webhook.
                echo_webhook = EchoWebhook(
                    [*echo_argv, "--webhook-port", str(free_port())], env, echo, echo_counts
                )
                stack_results, stack_ratios = await production_stack(
                    tamin, bot_env, counts, workdir, echo_subject, echo_webhook
                )
                results.update(stack_results)
                ratios.update(stack_ratios)
    finally:
        await server.stop()
    print_summary(results, ratios)
    return 0


# ------------------------------------------------------------------- the production stack


def _clear_redis(client: redis.Redis) -> None:
    """Remove the bot's keys (FSM, dedupe) from the benchmark's own Redis database."""
    for key in client.scan_iter(match="tamin:*", count=1000):
        client.delete(key)


@dataclass
class EchoWebhook:
    """How to start the echo bot by webhook (for the webhook run of the production stack)."""

    argv: list[str]
    env: dict[str, str]
    load: Load
    counts: dict[Any, int]


async def production_stack(
    load: Load,
    bot_env: dict[str, str],
    counts: dict[Any, int],
    workdir: Path,
    echo: Subject,
    echo_webhook: EchoWebhook | None = None,
) -> tuple[dict[str, list[RunResult]], dict[str, list[float]]]:
    """The assistant on a throwaway PostgreSQL database: by polling without and with Redis,
    each paired with the echo bot by polling run for run; then with Redis by webhook (how the
    workers of issue 19 run), paired with the echo bot by webhook."""
    from sandbox import DEMO_TELEGRAM_TOKEN

    results: dict[str, list[RunResult]] = {}
    ratios: dict[str, list[float]] = {}
    user = await pg_admin_user()
    if user is None:
        print(f"[postgresql] skipped: not reachable on {PG_HOST}:{PG_PORT}", flush=True)
        return results, ratios
    redis_client: redis.Redis | None = None
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
        client.ping()
        redis_client = client
    except (redis.RedisError, OSError):
        print(f"[redis] skipped: not reachable at {REDIS_URL}", flush=True)
    stacks: list[tuple[str, str, str | None]] = [("tamin-pg", "assistant, PostgreSQL", None)]
    if redis_client is not None:
        stacks.append(("tamin-pg-redis", "assistant, PostgreSQL + Redis", REDIS_URL))
        if echo_webhook is not None:
            stacks.append(
                ("tamin-pg-redis-webhook", "assistant, PostgreSQL + Redis, webhook", REDIS_URL)
            )
    for key, label, redis_url in [stack for stack in stacks if stack[0] in ONLY]:
        webhook = key.endswith("-webhook")
        name = f"tamin_bot_bench_{os.getpid()}_{key.replace('-', '_')}"
        await pg_admin(user, f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}"
            env = {**bot_env, "DATABASE_URL": url, "PORT": str(free_port())}
            if webhook:
                port = free_port(pair=True)  # the webhooks on PORT, the console on PORT + 1
                env["PORT"] = str(port)
                env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
                env["WEBHOOK_SECRET"] = "bench-webhook-secret-0123456789"
            if redis_url is not None and redis_client is not None:
                env["REDIS_URL"] = redis_url
                _clear_redis(redis_client)
            demo = await asyncio.to_thread(
                subprocess.run,
                tamin_argv("demo-data"),
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                timeout=300,
                check=False,
            )
            if demo.returncode != 0:
                print(demo.stderr.decode(errors="replace")[-3000:])
                continue
            with contextlib.ExitStack() as stack:
                proc = stack.enter_context(running(spawn(key, tamin_argv("run"), env, workdir)))
                await wait_started(proc, load.world, DEMO_TELEGRAM_TOKEN, webhook=webhook)
                partner = echo
                if webhook and echo_webhook is not None:
                    echo_proc = stack.enter_context(
                        running(spawn(f"{key}-echo", echo_webhook.argv, echo_webhook.env, workdir))
                    )
                    await wait_started(echo_proc, load.world, ECHO_TOKEN, webhook=True)
                    partner = Subject(
                        "echo bot, webhook",
                        echo_webhook.load,
                        echo_proc,
                        ECHO_WORKLOAD,
                        echo_webhook.counts,
                    )
                await verify_users(load, load.users)
                if not counts:  # no SQLite run before this one calibrated the replies
                    counts.update(await calibrate(load, load.users, WORKLOAD))
                subject = Subject(label, load, proc, WORKLOAD, counts)
                mine, theirs, ratios[key] = await paired_saturation(subject, partner)
                results[key] = [mine, *await fixed_and_burst(subject, burst=False)]
                results[f"{key}:echo"] = [theirs]
        finally:
            if redis_client is not None:
                _clear_redis(redis_client)
            await pg_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results, ratios


def _print_fixed(name: str, runs: list[RunResult], aim: str) -> None:
    """The latency line of the fixed-rate run among ``runs``, if there is one."""
    fixed = next((r for r in runs if r.label.endswith(f"{FIXED_RATE:.0f}/s")), None)
    if fixed is not None:
        lat = fixed.latencies_ms
        print(
            f"  {name}: at {FIXED_RATE:.0f} upd/s p50 {percentile(lat, 50):.1f}"
            f" p99 {percentile(lat, 99):.1f} ms{aim}, lost {fixed.lost}"
        )


def print_summary(results: dict[str, list[RunResult]], ratios: dict[str, list[float]]) -> None:
    print("\nsummary (saturation: the median run; ratio: the median of the paired runs' ratios)")
    subjects = (
        ("SQLite, polling", "tamin-polling", "echo-polling"),
        ("SQLite, webhook", "tamin-webhook", "echo-webhook"),
        ("PostgreSQL, polling", "tamin-pg", "tamin-pg:echo"),
        ("PostgreSQL + Redis, polling", "tamin-pg-redis", "tamin-pg-redis:echo"),
        ("PostgreSQL + Redis, webhook", "tamin-pg-redis-webhook", "tamin-pg-redis-webhook:echo"),
    )
    for name, key, echo_key in subjects:
        mine = results.get(key)
        theirs = results.get(echo_key)
        pairs = ratios.get(key)
        if not mine or not theirs or not pairs:
            continue
        ratio = sorted(pairs)[len(pairs) // 2]
        print(
            f"  {name}: assistant {mine[0].throughput:.0f} upd/s vs echo"
            f" {theirs[0].throughput:.0f} upd/s → ratio {ratio:.2f} (aim ≥ 0.5; pairs"
            f" {min(pairs):.2f}–{max(pairs):.2f}); RSS peak {mine[0].rss_peak / 2**20:.0f} vs"
            f" {theirs[0].rss_peak / 2**20:.0f} MiB"
        )
        cpu_mine = mine[0].extra.get("cpu_ms_per_update", 0.0)
        cpu_theirs = theirs[0].extra.get("cpu_ms_per_update", 0.0)
        print(
            f"  {name}: CPU per update at saturation {cpu_mine:.2f} ms vs echo"
            f" {cpu_theirs:.2f} ms (echo / assistant {cpu_theirs / max(cpu_mine, 1e-9):.2f})"
        )
        _print_fixed(name, mine, " (aim < 100 ms)")
        burst = next((r for r in mine if "burst" in r.label), None)
        if burst is not None:
            print(
                f"  {name}: burst {BURST_RATE:.0f} upd/s × {BURST_SECONDS:.0f} s: lost"
                f" {burst.lost} of {burst.sent}, drained {burst.drain_s:.2f} s after,"
                f" p99 {percentile(burst.latencies_ms, 99):.1f} ms"
            )
    for name, key in (("polling", "echo-polling"), ("webhook", "echo-webhook")):
        _print_fixed(f"echo bot, {name}", results.get(key, []), "")
    print(f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
        workdir = Path(tmp)
        demo = subprocess.run(
            tamin_argv("demo-data"),
            cwd=PROJECT_ROOT,
            env=base_env(f"sqlite+aiosqlite:///{workdir / 'bench.db'}"),
            capture_output=True,
            timeout=300,
            check=False,
        )
        if demo.returncode != 0:
            print(demo.stderr.decode(errors="replace")[-3000:])
            return 1
        return asyncio.run(bench(workdir))


if __name__ == "__main__":
    sys.exit(main())
