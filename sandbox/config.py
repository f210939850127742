"""Settings of the sandbox: which bots it hosts (Telegram- or Bale-flavoured) and its knobs.

``tamin-bot run`` builds a :class:`SandboxConfig` with :func:`demo_config` when no real token is
set; tests build their own.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Platform = Literal["telegram", "bale"]

# Well-known tokens of the sandbox's demo bots; they are not secrets (nothing real accepts them).
DEMO_TELEGRAM_TOKEN = "7000001:sandbox-telegram-demo-token-0000000000"
DEMO_BALE_TOKEN = "7000002:sandbox-bale-demo-token-00000000000000"

_TOKEN_RE = re.compile(r"^[0-9]+:[A-Za-z0-9_-]{10,}$")


class SandboxBot(BaseModel):
    """One bot account hosted by the sandbox."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str
    platform: Platform = "telegram"
    username: str | None = None
    first_name: str = "دستیار تأمین اجتماعی"

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: str) -> str:
        # aiogram refuses a token not shaped "<digits>:<secret>" before any request is made.
        if not _TOKEN_RE.match(token):
            raise ValueError(
                "a bot token looks like '<bot id digits>:<at least 10 of A-Za-z0-9_->'"
            )
        return token

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def resolved_username(self) -> str:
        return self.username or f"tamin_sandbox_{self.platform}_{self.bot_id}_bot"


class FloodLimits(BaseModel):
    """Token buckets like Telegram's flood control (about 1 message/s per chat, 30/s in all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_chat_rate: float = Field(1.0, gt=0)
    per_chat_burst: int = Field(5, ge=1)
    global_rate: float = Field(30.0, gt=0)
    global_burst: int = Field(30, ge=1)


class SandboxConfig(BaseModel):
    """Everything the sandbox can be told at start; faults and floods can also change at run time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bots: tuple[SandboxBot, ...] = ()
    # Real Telegram keeps a bare "&" as text; refusing it catches unescaped user text early.
    strict_html_ampersand: bool = True
    # None: a random start, as Telegram does, so a restarted sandbox never reuses an update id
    # that a bot's dedupe store still remembers.
    first_update_id: int | None = None
    webhook_timeout_s: float = Field(30.0, gt=0)
    # Telegram backs off for minutes; a local sandbox retries quickly so tests stay fast.
    webhook_retry_delays_s: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
    # Telegram requires HTTPS for webhooks; a local bot listens on plain HTTP.
    webhook_require_https: bool = False
    flood_limits: FloodLimits | None = None
    random_seed: int | None = None
    max_upload_bytes: int = 50 * 1024 * 1024
    max_download_bytes: int = 20 * 1024 * 1024


def demo_config(
    telegram_token: str = DEMO_TELEGRAM_TOKEN,
    bale_token: str | None = DEMO_BALE_TOKEN,
) -> SandboxConfig:
    """One Telegram-flavoured and (unless ``bale_token`` is None) one Bale-flavoured bot."""
    bots = [SandboxBot(token=telegram_token, platform="telegram", username="tamin_sandbox_bot")]
    if bale_token:
        bots.append(
            SandboxBot(token=bale_token, platform="bale", username="tamin_sandbox_bale_bot")
        )
    return SandboxConfig(bots=tuple(bots))
