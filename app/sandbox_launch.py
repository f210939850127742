"""What ``tamin-bot run`` needs to run the assistant against the sandbox when it has no token.

``app.run`` imports this module only when no token is set (``app.run.needs_sandbox``): it is
the one place where the product loads the ``sandbox`` package, an optional extra that
production processes never import.
The optional ``sandbox:`` section of ``config.yml`` (host, port, whether to host a Bale bot as
well) is read here; :func:`start_sandbox_for` starts the server and returns the settings the bot
should use (tokens and API bases pointing at it).

    server, settings = await start_sandbox_for(settings)
    ...  # build the bots from ``settings``, print server.chat_url
    await server.stop()
"""

from __future__ import annotations

import logging

from pydantic import SecretStr

from sandbox.config import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN, demo_config
from sandbox.server import SandboxServer
from services.settings import SandboxConfig, Settings

logger = logging.getLogger(__name__)


def sandbox_run_config(settings: Settings) -> SandboxConfig:
    """The ``sandbox`` section, its port overridden by ``SANDBOX_PORT`` when set.

    (``PORT`` is the console's in ``tamin-bot run``; ``tamin-bot sandbox`` alone honours it.)
    """
    section = settings.config.sandbox
    if settings.env.sandbox_port is not None:
        return section.model_copy(update={"port": settings.env.sandbox_port})
    return section


def settings_for_sandbox(settings: Settings, server: SandboxServer) -> Settings:
    """``settings`` with each hosted bot's token and API base pointing at ``server``."""
    update: dict[str, object] = {}
    for bot in server.world.bots.values():
        if bot.platform == "telegram":
            update["telegram_bot_token"] = SecretStr(bot.token)
            update["telegram_api_base"] = server.api_base
        else:
            update["bale_bot_token"] = SecretStr(bot.token)
            update["bale_api_base"] = server.api_base
    # A webhook URL would make the bot ask the sandbox for webhook mode; polling is the default.
    update["public_base_url"] = None
    return settings.model_copy(update={"env": settings.env.model_copy(update=update)})


async def start_sandbox_for(settings: Settings) -> tuple[SandboxServer, Settings]:
    """Start the sandbox described by ``config.yml`` and return it with the bot's settings.

    If the configured port is taken, a free one is used instead (and logged).
    """
    run = sandbox_run_config(settings)
    config = demo_config(DEMO_TELEGRAM_TOKEN, DEMO_BALE_TOKEN if run.bale else None)
    server = SandboxServer(config, host=run.host, port=run.port)
    try:
        await server.start()
    except OSError:
        logger.warning("port %s is taken; the sandbox takes a free port instead", run.port)
        server = SandboxServer(config, host=run.host, port=0)
        await server.start()
    return server, settings_for_sandbox(settings, server)
