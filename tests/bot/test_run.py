"""``app.run.run``: the whole composition, started and stopped with a real SIGTERM.

- No token: it starts the sandbox itself, prints the web chat address and polls it.
- Tokens and a public base URL: webhook mode, one ASGI app with the webhook routes and
  ``/model/parse``, fed by the sandbox over real HTTP.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.run import GC_THRESHOLDS, run
from nlu import NluModel
from sandbox import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN, SandboxClient, SandboxServer, demo_config
from services.settings import Settings

pytestmark = pytest.mark.e2e


def _settings(db_settings: Settings, model_dir: Path, **env: Any) -> Settings:
    # The session's trained model: run() finds it up to date and only loads it.
    config = db_settings.config.model_copy(update={"nlu": {"model_dir": str(model_dir)}})
    base_env = {"telegram_bot_token": None, "bale_bot_token": None, "public_base_url": None}
    return db_settings.model_copy(
        update={"config": config, "env": db_settings.env.model_copy(update=base_env | env)}
    )


async def _stop(task: asyncio.Task[int]) -> int:
    os.kill(os.getpid(), signal.SIGTERM)
    return await asyncio.wait_for(task, timeout=20)


async def test_run_without_a_token_uses_the_sandbox(
    demo_db: AsyncEngine,
    db_settings: Settings,
    nlu_model: NluModel,
    nlu_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    thresholds = gc.get_threshold()
    task = asyncio.create_task(run(_settings(db_settings, nlu_model_dir)))
    url = None
    for _ in range(300):
        match = re.search(r"Web chat: (http://\S+)/chat", capsys.readouterr().out)
        if match:
            url = match.group(1)
            break
        assert not task.done(), task.exception()
        await asyncio.sleep(0.05)
    assert url, "the web chat address was not printed"
    async with SandboxClient(url) as client:
        user = await client.create_user("مریم")
        reaction = await client.say(int(user["id"]), "سلام", bot="telegram")
        assert "وقت شما بخیر" in reaction.text
    # What startup built is kept out of full garbage collections (their pauses hit p99).
    assert gc.get_freeze_count() > 0
    # and what updates leave behind is collected less often than CPython's default 700.
    assert gc.get_threshold() == GC_THRESHOLDS
    gc.unfreeze()  # this test process goes on with other tests
    gc.set_threshold(*thresholds)
    assert await _stop(task) == 0


async def test_run_in_webhook_mode(
    demo_db: AsyncEngine, db_settings: Settings, nlu_model: NluModel, nlu_model_dir: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    async with SandboxServer(demo_config()) as sandbox:
        settings = _settings(
            db_settings,
            nlu_model_dir,
            telegram_bot_token=SecretStr(DEMO_TELEGRAM_TOKEN),
            telegram_api_base=sandbox.api_base,
            bale_bot_token=SecretStr(DEMO_BALE_TOKEN),
            bale_api_base=sandbox.api_base,
            public_base_url=f"http://127.0.0.1:{port}",
            host="127.0.0.1",
            port=port,
            max_concurrent_updates=7,
            nlu_token=SecretStr("nlu-token-0123"),
        )
        task = asyncio.create_task(run(settings))
        async with SandboxClient(sandbox.url) as client:
            for _ in range(300):
                info = await client.info()
                bots = info.get("bots") or []
                if bots and all(b.get("webhook_url") for b in bots):
                    break
                assert not task.done(), task.exception()
                await asyncio.sleep(0.05)
            # Telegram may post as many updates at once as the bot handles at once.
            webhook = sandbox.world.resolve_bot(DEMO_TELEGRAM_TOKEN).webhook
            assert webhook is not None and webhook.max_connections == 7
            user = await client.create_user("زهرا")
            for platform in ("telegram", "bale"):
                reaction = await client.say(int(user["id"]), "سلام", bot=platform)
                assert "وقت شما بخیر" in reaction.text
        async with httpx.AsyncClient(trust_env=False) as http:
            parse_url = f"http://127.0.0.1:{port}/model/parse"
            text = {"text": "بیمه اختیاری"}
            assert (await http.post(parse_url, json=text)).status_code == 401
            parsed = await http.post(
                parse_url, json=text, headers={"Authorization": "Bearer nlu-token-0123"}
            )
            assert parsed.json()["intent"]["name"] == "voluntary_insurance"
            schema = await http.get(f"http://127.0.0.1:{port}/openapi.json")
            assert schema.status_code == 404
            huge = await http.post(
                f"http://127.0.0.1:{port}/webhook/telegram", content=b"x" * 2**21
            )
            assert huge.status_code == 413
            ready = await http.get(f"http://127.0.0.1:{port}/readyz")
            tasks = ready.json()["tasks"]
            assert ready.status_code == 200
            assert set(tasks) == {"outbound", "notices", "retention", "queue-sampler"}
            assert all(task["running"] for task in tasks.values())
            # The webhook app's /readyz checks the database and the model too.
            assert ready.json()["database"] == "ok" and ready.json()["model"] == "loaded"
        assert await _stop(task) == 0
