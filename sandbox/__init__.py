"""A local Telegram- and Bale-compatible Bot API with a control API and a Persian web chat.

The bot runs against it with no token and no network; tests and the benchmark drive it over
real HTTP. Build it with :func:`create_sandbox_app` (an ASGI app) or run it beside the bot with
:class:`SandboxServer`; drive it with :class:`SandboxClient`.
"""

from sandbox.app import create_sandbox_app
from sandbox.client import NotIdleError, Reaction, SandboxClient, SandboxClientError
from sandbox.config import (
    DEMO_BALE_TOKEN,
    DEMO_TELEGRAM_TOKEN,
    FloodLimits,
    SandboxBot,
    SandboxConfig,
    demo_config,
)
from sandbox.server import SandboxServer
from sandbox.world import SandboxWorld

__all__ = [
    "DEMO_BALE_TOKEN",
    "DEMO_TELEGRAM_TOKEN",
    "FloodLimits",
    "NotIdleError",
    "Reaction",
    "SandboxBot",
    "SandboxClient",
    "SandboxClientError",
    "SandboxConfig",
    "SandboxServer",
    "SandboxWorld",
    "create_sandbox_app",
    "demo_config",
]
