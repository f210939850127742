"""The production shape under load: 1, 2 and 3 ``tamin-bot webhook`` workers behind HAProxy, on
PostgreSQL and Redis, fed by the sandbox's webhook delivery (``python -m benchmarks cluster``).

One cluster of three workers (benchmarks/cluster.py) serves every run; for N workers the others
are stopped (SIGTERM) and HAProxy's health checks take them out. The simulated users verify
once through the bot, then for each N:
- saturation: every user's updates at once (``USERS`` × 2), three runs, the median counts:
  throughput, and the workers' CPU time per answered update (all worker processes together);
- a fixed 100 updates/s for 15 s: latency p50 / p99 (update posted by the user → last reply
  recorded by the sandbox).
The scaling from 1 to 2 workers is printed beside the cores this machine has: the sandbox, the
proxy, PostgreSQL and Redis share those cores with the workers, so two workers on two cores
cannot double.

Skipped with the reason when haproxy, PostgreSQL or Redis is missing. BOT_BENCH_SCALE shrinks
it like the bot benchmark.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any, cast

from benchmarks.bot_bench import calibrate, plan_for, verify_users
from benchmarks.bot_load import (
    PER_USER,
    SCALE,
    THROTTLE_WINDOW_S,
    USERS,
    WORKLOAD,
    BotProcess,
    Load,
    RunResult,
    percentile,
)
from benchmarks.cluster import Cluster, ClusterUnavailable

SATURATION_RUNS = 3
FIXED_RATE = 100.0
FIXED_SECONDS = 15.0 * SCALE


class Workers:
    """The running workers seen as one process by :class:`Load` (CPU and memory summed)."""

    def __init__(self, processes: list[BotProcess]) -> None:
        self.processes = processes
        self.name = f"{len(processes)} workers"
        self.peak_rss = 0

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)

    def sample(self) -> int:
        now = sum(p.rss() for p in self.processes)
        self.peak_rss = max(self.peak_rss, now)
        return now


async def _use_workers(cluster: Cluster, n: int) -> Workers:
    """Workers 0..n-1 running, the others stopped; HAProxy has noticed both."""
    for index in range(len(cluster.workers)):
        process = cluster.workers[index].process
        running = process.poll() is None
        if index < n and not running:
            await cluster.start_worker(index)
        elif index >= n and running:
            process.terminate()
            await asyncio.to_thread(process.wait, 30)
    await asyncio.sleep(3.0)  # "fall 2" at 1 s intervals: a stopped worker is out of rotation
    return Workers(cluster.workers[:n])


async def _run_for(load: Load, workers: Workers, counts: dict[Any, int]) -> dict[str, Any]:
    process = cast(BotProcess, workers)  # Load only calls cpu_seconds, sample and peak_rss
    warm = plan_for(load.users, WORKLOAD, counts, 200)
    await load.run("warm-up", warm, 200.0, process)
    runs: list[RunResult] = []
    for n in range(SATURATION_RUNS):
        await asyncio.sleep(THROTTLE_WINDOW_S)
        plan = plan_for(load.users, WORKLOAD, counts, len(load.users) * PER_USER)
        result = await load.run(f"{workers.name}: saturation #{n + 1}", plan, None, process)
        print(result.line(), flush=True)
        runs.append(result)
    await asyncio.sleep(THROTTLE_WINDOW_S)
    plan = plan_for(load.users, WORKLOAD, counts, int(FIXED_RATE * FIXED_SECONDS))
    fixed = await load.run(f"{workers.name}: {FIXED_RATE:.0f}/s", plan, FIXED_RATE, process)
    print(fixed.line(), flush=True)
    median = sorted(runs, key=lambda r: r.throughput)[len(runs) // 2]
    return {
        "throughput": median.throughput,
        "cpu_ms": median.extra["cpu_ms_per_update"],
        "lost": sum(r.lost for r in runs) + fixed.lost,
        "p50": percentile(fixed.latencies_ms, 50),
        "p99": percentile(fixed.latencies_ms, 99),
        "rss_mib": workers.peak_rss / 2**20,
    }


async def bench(workdir: Path) -> int:
    from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config

    server = SandboxServer(demo_config(DEMO_TELEGRAM_TOKEN, None), port=0, log_level="warning")
    await server.start()
    results: dict[int, dict[str, Any]] = {}
    try:
        async with Cluster.start(
            workdir,
            api_base=server.api_base,
            token=DEMO_TELEGRAM_TOKEN,
            workers=3,
            console=False,
            sender=False,
        ) as cluster:
            users = [server.world.create_user(first_name=f"کاربر {n}").id for n in range(USERS)]
            load = Load(server.world, DEMO_TELEGRAM_TOKEN, users)
            await verify_users(load, users)
            counts = await calibrate(load, users, WORKLOAD)
            for n in (1, 2, 3):
                workers = await _use_workers(cluster, n)
                results[n] = await _run_for(load, workers, counts)
    except ClusterUnavailable as error:
        print(f"[cluster] skipped: {error}", flush=True)
        return 0
    finally:
        await server.stop()
    cores = os.cpu_count() or 1
    print(f"\nCluster: HAProxy + N webhook workers, PostgreSQL + Redis, {cores} cores", flush=True)
    print("workers  updates/s  CPU/update  p50 / p99 at 100/s  lost  RSS (workers)")
    for n, r in results.items():
        print(
            f"{n:>7}  {r['throughput']:>9.0f}  {r['cpu_ms']:>7.2f} ms"
            f"  {r['p50']:>6.1f} / {r['p99']:>6.1f} ms  {r['lost']:>4}  {r['rss_mib']:>5.0f} MiB"
        )
    if 1 in results and 2 in results:
        scaling = results[2]["throughput"] / results[1]["throughput"]
        print(
            f"scaling 1 → 2 workers: ×{scaling:.2f} on {cores} cores shared with the sandbox, "
            "HAProxy, PostgreSQL and Redis",
            flush=True,
        )
    return 0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tamin-cluster-bench-") as folder:
        return asyncio.run(bench(Path(folder)))


if __name__ == "__main__":
    raise SystemExit(main())
