"""The ``console`` section of ``config.yml``: cookies, polling and the dashboard's range."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.settings import Settings


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    session_cookie: str = "tamin_console"
    # Send the session cookie over HTTPS only. Must be true in production; false lets the
    # local console on http://127.0.0.1 work.
    https_only: bool = False
    # "strict": the browser never sends the cookie with a request started on another site,
    # a second wall against cross-site requests besides the CSRF token.
    same_site: Literal["lax", "strict"] = "strict"
    session_max_age_hours: int = Field(12, ge=1)
    # New messages appear without a reload: the page asks every this many seconds (≤ 3).
    poll_seconds: float = Field(2.0, gt=0, le=3)
    dashboard_days: int = Field(14, ge=1, le=90)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleConfig:
        extra = settings.config.model_extra or {}
        return cls.model_validate(extra.get("console") or {})
