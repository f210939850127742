"""The whole production shape on one machine: HAProxy, webhook workers, console, sender.

Used by ``scripts/cluster.sh`` (``make cluster``), the cluster benchmark
(:mod:`benchmarks.cluster_bench`) and the cluster tests (``tests/cluster``). Everything runs
against the local PostgreSQL (a throwaway database) and Redis (its own database number), with
the sandbox as Telegram: the sandbox posts updates to the proxy (``PUBLIC_BASE_URL``), the proxy
checks the path and the secret header and spreads them over the workers that answer ``/readyz``.

    async with Cluster.start(workdir, api_base=..., token=..., workers=3) as cluster:
        cluster.worker_url(0)          # one worker, bypassing the proxy
        await cluster.restart_worker(1)
        cluster.kill_worker(2)         # kill -9

Processes are ``tamin-bot`` roles, each with its own log file in ``workdir``. Pool sizes per
role are the README's ("Production shape"): PostgreSQL allows 100 connections here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks.bot_load import PROJECT_ROOT, BotProcess, base_env, free_port, spawn, tamin_argv
from benchmarks.postgres import PG_HOST, PG_PORT, pg_admin, pg_admin_user

HAPROXY_CFG = PROJECT_ROOT / "deploy" / "haproxy.cfg"
CLUSTER_REDIS_URL = "redis://127.0.0.1:6379/14"
START_LIMIT_S = 300.0
# Connections per process (DB_POOL_SIZE): three workers, a console and a sender stay well under
# PostgreSQL's default 100 (the README's pool table explains each figure).
POOL_SIZES = {"webhook": "20", "console": "5", "sender": "4"}


class ClusterUnavailable(RuntimeError):
    """Something the cluster needs is not on this machine (the message says what)."""


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )


def render_haproxy(worker_ports: list[int], console_ports: list[int]) -> str:
    """``deploy/haproxy.cfg`` with its server lines replaced by these ports."""
    text = HAPROXY_CFG.read_text(encoding="utf-8")

    def servers(prefix: str, ports: list[int]) -> str:
        return "".join(
            f"    server {prefix}{n + 1} 127.0.0.1:{port}\n" for n, port in enumerate(ports)
        )

    text = re.sub(
        r"# @workers\n.*?# @end\n",
        "# @workers\n" + servers("w", worker_ports) + "# @end\n",
        text,
        flags=re.S,
    )
    return re.sub(
        r"# @consoles\n.*?# @end\n",
        "# @consoles\n" + servers("c", console_ports) + "# @end\n",
        text,
        flags=re.S,
    )


async def _get_status(session: aiohttp.ClientSession, url: str) -> int:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError, OSError):
        return 0


@dataclass
class Cluster:
    workdir: Path
    env: dict[str, str]
    worker_ports: list[int]
    console_port: int
    proxy_port: int
    console_proxy_port: int
    secret: str
    workers: list[BotProcess] = field(default_factory=list)
    others: list[BotProcess] = field(default_factory=list)
    proxy: subprocess.Popen[bytes] | None = None
    database: str | None = None
    _generation: int = 0

    # ------------------------------------------------------------------ addresses

    @property
    def public_base_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_proxy_port}"

    def worker_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.worker_ports[index]}"

    # ------------------------------------------------------------------ start and stop

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        workdir: Path,
        *,
        api_base: str,
        token: str,
        workers: int = 3,
        console: bool = True,
        sender: bool = True,
        people: int = 0,
        extra_env: dict[str, str] | None = None,
    ) -> AsyncIterator[Cluster]:
        """Create a database, migrate, load the demo data, start proxy and roles; tear down."""
        haproxy = haproxy_binary()
        if haproxy is None:
            raise ClusterUnavailable("haproxy is not installed (apt-get install haproxy)")
        user = await pg_admin_user()
        if user is None:
            raise ClusterUnavailable(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}")
        redis_ok = await _redis_clear(CLUSTER_REDIS_URL)
        if not redis_ok:
            raise ClusterUnavailable(f"Redis is not reachable at {CLUSTER_REDIS_URL}")
        name = f"tamin_cluster_{uuid.uuid4().hex[:10]}"
        await pg_admin(user, f'CREATE DATABASE "{name}"')
        secret = uuid.uuid4().hex
        proxy_port, console_proxy_port = free_port(), free_port()
        env = base_env(f"postgresql+asyncpg://{user}@{PG_HOST}:{PG_PORT}/{name}")
        env.update(
            REDIS_URL=CLUSTER_REDIS_URL,
            TELEGRAM_BOT_TOKEN=token,
            TELEGRAM_API_BASE=api_base,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{proxy_port}",
            WEBHOOK_SECRET=secret,
            CONSOLE_SECRET_KEY=uuid.uuid4().hex,
            HOST="127.0.0.1",
            **(extra_env or {}),
        )
        cluster = cls(
            workdir=workdir,
            env=env,
            worker_ports=[free_port() for _ in range(workers)],
            console_port=free_port(),
            proxy_port=proxy_port,
            console_proxy_port=console_proxy_port,
            secret=secret,
            database=name,
        )
        try:
            await cluster._one_shot("migrate")
            await cluster._one_shot("demo-data", "--people", str(people))
            cluster._start_proxy(haproxy)
            for index in range(workers):
                cluster.workers.append(cluster._spawn_worker(index))
            if console:
                cluster.others.append(
                    cluster._spawn("console", "console", cluster.console_port, "console")
                )
            if sender:
                cluster.others.append(cluster._spawn("sender", "sender", 0, "sender"))
            await cluster.wait_ready()
            yield cluster
        finally:
            # In a thread: the processes may still be talking to a sandbox on this event loop.
            await asyncio.to_thread(cluster.stop)
            await _redis_clear(CLUSTER_REDIS_URL)
            await pg_admin(user, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _one_shot(self, *args: str) -> None:
        done = await asyncio.to_thread(
            subprocess.run,
            tamin_argv(*args),
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"tamin-bot {' '.join(args)} failed:\n{done.stderr.decode()[-3000:]}"
            )

    def _start_proxy(self, haproxy: str) -> None:
        config = self.workdir / "haproxy.cfg"
        config.write_text(render_haproxy(self.worker_ports, [self.console_port]), "utf-8")
        proxy_env = {
            **os.environ,
            "WEBHOOK_SECRET": self.secret,
            "TAMIN_WEBHOOK_BIND": f"127.0.0.1:{self.proxy_port}",
            "TAMIN_WEBHOOK_TLS": "",
            "TAMIN_CONSOLE_BIND": f"127.0.0.1:{self.console_proxy_port}",
            "TAMIN_CONSOLE_TLS": "",
        }
        log = open(self.workdir / "haproxy.log", "wb")  # noqa: SIM115 - closed with the process
        self.proxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], env=proxy_env, stdout=log, stderr=log
        )
        log.close()

    def _spawn(self, name: str, role: str, port: int, pool: str) -> BotProcess:
        env = {**self.env, "PORT": str(port), "DB_POOL_SIZE": POOL_SIZES[pool]}
        self._generation += 1
        return spawn(f"{name}-{self._generation}", tamin_argv(role), env, self.workdir)

    def _spawn_worker(self, index: int) -> BotProcess:
        return self._spawn(f"worker{index + 1}", "webhook", self.worker_ports[index], "webhook")

    async def wait_ready(self, limit_s: float = START_LIMIT_S) -> None:
        """Until every worker and the console answer /readyz (and the proxy its port)."""
        deadline = time.monotonic() + limit_s
        urls = [self.worker_url(i) + "/readyz" for i in range(len(self.workers))]
        if any(p.name.startswith("console") for p in self.others):
            urls.append(f"http://127.0.0.1:{self.console_port}/readyz")
        async with aiohttp.ClientSession() as session:
            pending = list(urls)
            while pending:
                for process in [*self.workers, *self.others]:
                    if process.process.poll() is not None:
                        raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
                if self.proxy is not None and self.proxy.poll() is not None:
                    log = (self.workdir / "haproxy.log").read_text(errors="replace")
                    raise RuntimeError(f"haproxy exited:\n{log[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not ready in {limit_s} s: {pending}")
                statuses = await asyncio.gather(*(_get_status(session, u) for u in pending))
                pending = [u for u, s in zip(pending, statuses, strict=True) if s != 200]
                if pending:
                    await asyncio.sleep(0.2)
        # HAProxy marks a server up after two good checks a second apart ("rise 2").
        await asyncio.sleep(2.2)

    async def restart_worker(self, index: int, *, grace_s: float = 30.0) -> None:
        """SIGTERM one worker, wait for it to exit, start it again and wait until it is ready."""
        process = self.workers[index].process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, grace_s)
        self.workers[index] = self._spawn_worker(index)
        await self._wait_worker(index)

    def kill_worker(self, index: int) -> None:
        """kill -9 one worker (no clean-up of any kind)."""
        process = self.workers[index].process
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    async def start_worker(self, index: int) -> None:
        self.workers[index] = self._spawn_worker(index)
        await self._wait_worker(index)

    async def _wait_worker(self, index: int) -> None:
        deadline = time.monotonic() + START_LIMIT_S
        async with aiohttp.ClientSession() as session:
            while await _get_status(session, self.worker_url(index) + "/readyz") != 200:
                worker = self.workers[index]
                if worker.process.poll() is not None:
                    raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{worker.name} not ready:\n{worker.log_tail()}")
                await asyncio.sleep(0.2)
        await asyncio.sleep(2.2)  # HAProxy's "rise 2"

    def stop(self) -> None:
        processes = [*self.workers, *self.others]
        for process in processes:  # all asked at once, then waited for
            if process.process.poll() is None:
                process.process.terminate()
        for process in processes:
            process.stop()
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            try:
                self.proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proxy.kill()


async def _redis_clear(url: str) -> bool:
    """Remove the bot's keys from the cluster's Redis database; False if Redis is not there."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = [key async for key in client.scan_iter(match="tamin:*", count=1000)]
        if keys:
            await client.delete(*keys)
        return True
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


# ------------------------------------------------------------------------ scripts/cluster.sh


async def _serve_forever(workdir: Path, workers: int) -> int:
    from sandbox import SandboxServer
    from sandbox.config import DEMO_TELEGRAM_TOKEN, demo_config

    server = SandboxServer(demo_config(DEMO_TELEGRAM_TOKEN, None), port=free_port())
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Cluster.start(
            workdir, api_base=server.api_base, token=DEMO_TELEGRAM_TOKEN, workers=workers
        ) as cluster:
            print(
                f"Cluster up: HAProxy {cluster.public_base_url} (webhooks) and "
                f"{cluster.console_url} (console), {workers} webhook workers "
                f"({', '.join(str(p) for p in cluster.worker_ports)}), console, sender.\n"
                f"Web chat: {server.chat_url}\nLogs: {workdir}\nCtrl-C stops everything.",
                flush=True,
            )
            await stop.wait()
    finally:
        await server.stop()
    return 0


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="run the production shape on this machine")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--workdir", default=str(PROJECT_ROOT / "var" / "cluster"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_serve_forever(workdir, args.workers))
    except ClusterUnavailable as error:
        print(f"cluster: not started: {error}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
