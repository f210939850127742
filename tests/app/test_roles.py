"""The roles (app/roles.py): what each refuses to start without, the schema check that keeps
workers from starting on a database that ``tamin-bot migrate`` has not brought to head, and the
webhook registration a worker makes only when it differs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Dispatcher

from app.cli import main
from app.roles import RoleRefused, check_settings, ensure_webhooks
from bot.factory import build_bot
from bot.platform import Platform
from sandbox import DEMO_TELEGRAM_TOKEN, SandboxServer, demo_config
from services.db.migrate import SchemaNotAtHead, require_schema_at_head, upgrade_database
from services.settings import Settings, load_settings


def _env(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"env": settings.env.model_copy(update=values)})


def test_each_role_names_what_it_is_missing(settings: Settings) -> None:
    bare = _env(
        settings,
        telegram_bot_token=None,
        bale_bot_token=None,
        public_base_url=None,
        webhook_secret=None,
        redis_url=None,
        console_secret_key=None,
    )
    with pytest.raises(RoleRefused) as webhook:
        check_settings("webhook", bare)
    for name in ("PUBLIC_BASE_URL", "WEBHOOK_SECRET", "REDIS_URL", "TELEGRAM_BOT_TOKEN"):
        assert name in str(webhook.value)
    with pytest.raises(RoleRefused, match="CONSOLE_SECRET_KEY"):
        check_settings("console", bare)
    with pytest.raises(RoleRefused, match="TELEGRAM_BOT_TOKEN or BALE_BOT_TOKEN"):
        check_settings("sender", bare)
    check_settings("migrate", bare)  # needs only the database


async def test_a_worker_refuses_a_database_not_at_head(settings: Settings, tmp_path: Path) -> None:
    db = _env(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'roles.db'}")
    with pytest.raises(SchemaNotAtHead, match=r"empty .*run `tamin-bot migrate` first"):
        await require_schema_at_head(db)
    await upgrade_database(db, "0003")
    with pytest.raises(SchemaNotAtHead, match=r"is at 0003,? .*run `tamin-bot migrate` first"):
        await require_schema_at_head(db)
    await upgrade_database(db)
    await require_schema_at_head(db)  # at head: no complaint


def test_the_cli_refuses_with_a_clear_message_then_migrate_lets_it_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "a-console-secret-for-the-test")
    assert main(["console"]) == 2
    err = capsys.readouterr().err
    assert "tamin-bot console: not started" in err and "run `tamin-bot migrate` first" in err
    assert "Traceback" not in err
    # The notices' scheduler is a role too: it refuses an old schema the same way.
    assert main(["scheduler", "--once"]) == 2
    err = capsys.readouterr().err
    assert "tamin-bot scheduler: not started" in err and "run `tamin-bot migrate` first" in err
    assert "Traceback" not in err

    assert main(["migrate"]) == 0
    assert "schema is at head" in capsys.readouterr().out
    assert main(["scheduler", "--once"]) == 0
    assert "notices handed to the outbox: 0" in capsys.readouterr().out
    import asyncio

    asyncio.run(require_schema_at_head(load_settings()))


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(demo_config(bale_token=None)) as server:
        yield server


async def test_a_worker_sets_the_webhook_only_when_it_differs(sandbox: SandboxServer) -> None:
    bot = build_bot(Platform.TELEGRAM, DEMO_TELEGRAM_TOKEN, sandbox.api_base)
    dp = Dispatcher()
    try:
        base = "http://127.0.0.1:9/"
        assert await ensure_webhooks(dp, [bot], base, "secret-one", 50) is True
        # The next workers find it set: no new registration (which restarts delivery).
        assert await ensure_webhooks(dp, [bot], base, "secret-one", 50) is False
        info = await bot.get_webhook_info()
        assert info.url == "http://127.0.0.1:9/webhook/telegram"
        assert await ensure_webhooks(dp, [bot], "http://127.0.0.1:10", "secret-one", 50) is True
    finally:
        await bot.session.close()
