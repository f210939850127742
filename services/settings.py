"""The one typed, frozen settings object, built at start-up by :func:`load_settings`.

Non-secret settings come from ``config.yml`` (each business parameter with its source there);
secrets and deployment values from the environment only. Nothing is read at import time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.clock import clock_moment
from services.knowledge.config import KnowledgeConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yml"

Weekday = Literal["saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday"]
WEEKDAY_NUMBERS: dict[Weekday, int] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IdentityConfig(_Section):
    max_failures: int = Field(5, ge=1)
    failure_window_minutes: int = Field(30, ge=1)
    lockout_minutes: int = Field(60, ge=1)


class EligibilityConfig(_Section):
    grace_days_after_last_paid_month: int = Field(60, ge=0)
    pensioner_coverage_days: int = Field(365, ge=1)


class DependantsConfig(_Section):
    son_age_limit_years: int = Field(20, ge=1)
    husband_min_age_years: int = Field(60, ge=1)
    father_min_age_years: int = Field(60, ge=1)
    mother_min_age_years: int = Field(55, ge=1)
    # Documents sent in the chat with a request (see config.yml for the sources).
    max_document_bytes: int = Field(20 * 1024 * 1024, ge=1)
    max_documents: int = Field(10, ge=1)


class ContributionsConfig(_Section):
    insured_share_percent: int = 7
    employer_share_percent: int = 20
    unemployment_share_percent: int = 3
    government_share_percent: int = 3
    days_per_month: int = 30
    days_per_year: int = 360


TicketCategory = Literal["insurance", "medical", "other"]


def _default_due_days() -> dict[TicketCategory, int]:
    return {"insurance": 3, "medical": 7, "other": 10}


class TicketsConfig(_Section):
    due_working_days: dict[TicketCategory, int] = Field(default_factory=_default_due_days)
    max_working_days: int = Field(10, ge=1)
    weekend_days: tuple[Weekday, ...] = ("friday",)
    # Jalali "MM-DD" that recur every year, and Jalali "YYYY-MM-DD" for one year only.
    recurring_holidays: tuple[str, ...] = ()
    holidays: tuple[str, ...] = ()
    # Add the official calendar computed offline by the `holidays` package (lunar ones too);
    # `not_holidays` (Jalali "YYYY-MM-DD") removes a computed day the official sighting moved.
    derive_holidays_from_calendar: bool = True
    not_holidays: tuple[str, ...] = ()


class VoluntaryConfig(_Section):
    payment_deadline_days: int = 20
    medical_exam_months: int = 2
    max_unpaid_slip_months: int = 2
    min_prior_record_days: int = 30
    max_age_years: int = 50
    rate_percent: float = 27
    min_wage_base_rial: int = 103_909_680
    max_wage_base_rial: int = 727_367_760


class ContactCentreConfig(_Section):
    always_open: bool = False
    hours: dict[Weekday, tuple[dt.time, dt.time]] = Field(default_factory=dict)
    phone: str = "1420"
    ussd: str = "*1420*4#"
    eservices_url: str = "https://eservices.tamin.ir"
    portal_url: str = "https://es.tamin.ir"
    account_url: str = "https://account.tamin.ir"
    eligibility_urls: tuple[str, ...] = ("https://darman.tamin.ir", "https://medical.tamin.ir")
    app_name: str = "تأمین من"


class HandoffConfig(_Section):
    """The escalation record, the queue's wait estimate and the console's text limits."""

    transcript_messages: int = Field(10, ge=1, le=100)
    transcript_hours: int = Field(24, ge=1)
    transcript_retention_hours: int = Field(72, ge=1)
    answers_hours: int = Field(72, ge=1)
    default_handle_minutes: int = Field(5, ge=1)
    min_handle_minutes: int = Field(2, ge=1)
    max_handle_minutes: int = Field(30, ge=1)
    handle_sample: int = Field(50, ge=1)
    max_reply_chars: int = Field(3500, ge=100)
    max_note_chars: int = Field(2000, ge=10)
    max_user_message_chars: int = Field(4096, ge=100)
    max_attachment_bytes: int = Field(5_000_000, ge=0)
    ticket_category: TicketCategory = "other"
    # The intent log's batch: rows wait in the worker at most this long before one INSERT
    # writes them (services/intent_log.py); an escalation asks every worker for its rows.
    intent_log_batch_seconds: float = Field(0.25, gt=0, le=60)
    # How long an escalation waits for the other workers' rows (bot/intent_log_flush.py).
    intent_log_flush_timeout_seconds: float = Field(2.0, gt=0, le=30)


class AgentsConfig(_Section):
    """Console accounts: sign-in throttling, sessions, being online, password hashing."""

    # Sign-in throttle per username and address together (see AgentService._throttled_until):
    # from the max_failures-th failure within the window, each try waits delay_seconds,
    # doubling per failure, up to lockout_minutes.
    login_max_failures: int = Field(5, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    login_delay_seconds: int = Field(30, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
    session_hours: int = Field(12, ge=1)
    online_window_seconds: int = Field(120, ge=10)
    # ``last_seen_at`` is written at most this often, so polling pages do not write every time.
    touch_interval_seconds: int = Field(30, ge=1)
    # argon2id cost (RFC 9106's second recommended option, argon2-cffi's defaults): 3 passes
    # over 64 MiB with 4 lanes. Hashes carry their parameters, so changing these only makes
    # each password rehash at its next sign-in.
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)


class OutboxConfig(_Section):
    """How fast and how persistently messages to users are sent."""

    # Telegram's Bot FAQ: avoid more than one message per second to a chat and about 30 per
    # second overall; Bale copies the Bot API and its limits are not published, so the same.
    per_chat_interval_seconds: float = Field(1.0, ge=0)
    global_per_second: float = Field(30.0, gt=0)
    max_attempts: int = Field(5, ge=1)
    max_flood_waits: int = Field(20, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    # Longer than aiogram's request timeout (60 s), so a slow send is never taken twice.
    lease_seconds: int = Field(120, ge=1)
    batch_size: int = Field(30, ge=1)
    poll_seconds: float = Field(0.25, gt=0)


class PacingConfig(_Section):
    """The pace of the bot's direct answers (``bot.pacing``; the outbox has its own above)."""

    # Telegram's Bot FAQ: about one message a second in a chat, short bursts allowed (Bale
    # copies the Bot API and publishes no figures). A token bucket: ``per_chat_burst`` at
    # once (an answer and its follow-ups), then ``per_chat_per_second``.
    per_chat_per_second: float = Field(1.0, gt=0)
    per_chat_burst: int = Field(3, ge=1)
    # A text answer that must wait goes through the outbox (an update never holds its
    # transaction while it waits). Other calls (a photo, an edit) wait in the update for a
    # 429's ``retry_after`` (or the bucket) up to this, and for at most this many 429s in a
    # row, then fail as before (product choice).
    max_wait_seconds: float = Field(30.0, ge=0)
    max_flood_retries: int = Field(5, ge=0)


class ConsoleConfig(_Section):
    """The agent console: cookies, polling and the dashboard's range."""

    session_cookie: str = "tamin_console"
    # Send the session cookie over HTTPS only. Must be true in production; false lets the
    # local console on http://127.0.0.1 work.
    https_only: bool = False
    # "strict": the browser never sends the cookie with a request started on another site,
    # a second wall against cross-site requests besides the CSRF token.
    same_site: Literal["lax", "strict"] = "strict"
    session_max_age_hours: int = Field(12, ge=1)
    # Addresses of reverse proxies whose X-Forwarded-For is believed (the sign-in throttle
    # counts by address); empty: the connection's own address, whoever claims otherwise.
    trusted_proxies: list[str] = []
    # New messages appear without a reload: the page asks every this many seconds (≤ 3).
    poll_seconds: float = Field(2.0, gt=0, le=3)
    dashboard_days: int = Field(14, ge=1, le=90)


class RetentionConfig(_Section):
    """How long personal data is kept (the README's data inventory lists every item)."""

    # An eligibility inquiry (national ID, the answer, its tracking code) is deleted after
    # this many days: long enough to look into «the bot told me I was covered».
    eligibility_inquiry_days: int = Field(30, ge=1)
    # A conversation step left half-way (in Redis: dependants' national IDs, complaint texts)
    # is forgotten after this many hours.
    flow_state_hours: int = Field(24, ge=1)
    # A notice sent or dropped is deleted this many days after its due date (an overdue
    # ticket's apology not before the ticket is closed: ``RetentionService._forget_notices``).
    notice_days: int = Field(90, ge=1)


class DialogueConfig(_Section):
    """What the bot remembers of a conversation between messages (issue 14, "keep the thread")."""

    # A follow-up («و دخترم چی؟», «تا کی؟») leans on the last answer only this long after it.
    memory_minutes: int = Field(10, ge=1, le=24 * 60)
    # Requests answered from one message at most («… فعاله؟ آخرین پرداختم کی بوده؟»).
    max_requests_per_message: int = Field(3, ge=1, le=5)


class NoticesConfig(_Section):
    """Proactive notices (``services.notices``): quiet hours, lead times and the release pace."""

    # No notice between quiet_start and quiet_end, Tehran time (issue 18; product choice): a
    # notice due in that window waits for quiet_end.
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(8, 0)
    cover_ending_days: int = Field(14, ge=1, le=90)
    voluntary_payment_days_before: int = Field(5, ge=0, le=20)
    medical_exam_days_before: int = Field(14, ge=0, le=60)
    overdue_extension_working_days: int = Field(2, ge=1, le=10)
    tick_seconds: float = Field(5.0, gt=0)
    scan_minutes: float = Field(15.0, gt=0)
    max_per_minute: int = Field(600, ge=1)


class SandboxConfig(_Section):
    """Where ``make run`` serves the local sandbox when no platform token is set."""

    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)
    # Host a Bale-flavoured bot beside the Telegram one, so both renderings can be tried.
    bale: bool = True


class BotConfig(_Section):
    """How updates are taken, held and let go (issue 17 finding 2, issue 19 "graceful")."""

    # On SIGTERM: updates in hand get this long to finish; an unfinished webhook update is then
    # answered 503 and an unfinished polled one left unconfirmed, so the platform sends it again.
    # Orchestrators wait 30 s (Kubernetes, systemd's default is 90 s) before kill -9: under that.
    shutdown_grace_seconds: float = Field(20.0, ge=0, le=120)
    # A worker holds an update it handles by a lease of this length, renewed every third of it
    # while the handler runs; a crashed worker's update is taken over once its lease ran out.
    update_lease_seconds: float = Field(10.0, ge=1, le=300)
    # An update's dedupe record is kept this long: Telegram keeps an unconfirmed update for
    # 24 hours (Bot API "getUpdates"), so a re-sent one is never older than that.
    processed_updates_hours: int = Field(48, ge=24)
    # The per-user flood limit (bot/middlewares/throttling.py): this many updates every
    # flood_window_seconds are handled, the next is told once to slow down (product choice:
    # a person types far slower; a script or a stuck key does not).
    flood_limit: int = Field(8, ge=1)
    flood_window_seconds: float = Field(4.0, gt=0, le=600)


class AppConfig(_Section):
    """Everything ``config.yml`` holds, validated; an unknown section or key is an error."""

    timezone: str = "Asia/Tehran"
    identity: IdentityConfig = IdentityConfig()
    eligibility: EligibilityConfig = EligibilityConfig()
    dependants: DependantsConfig = DependantsConfig()
    contributions: ContributionsConfig = ContributionsConfig()
    tickets: TicketsConfig = TicketsConfig()
    voluntary: VoluntaryConfig = VoluntaryConfig()
    contact_centre: ContactCentreConfig = ContactCentreConfig()
    handoff: HandoffConfig = HandoffConfig()
    agents: AgentsConfig = AgentsConfig()
    outbox: OutboxConfig = OutboxConfig()
    pacing: PacingConfig = PacingConfig()
    console: ConsoleConfig = ConsoleConfig()
    retention: RetentionConfig = RetentionConfig()
    bot: BotConfig = BotConfig()
    sandbox: SandboxConfig = SandboxConfig()
    notices: NoticesConfig = NoticesConfig()
    dialogue: DialogueConfig = DialogueConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    # The NLU owns this section's schema (``nlu/settings.py``, unknown keys refused there when
    # the model loads at start-up): services may not import the NLU, so it stays a mapping here.
    nlu: dict[str, Any] = Field(default_factory=dict)


class EnvSettings(BaseSettings):
    """Secrets and deployment values, from the environment only."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'tamin.db'}"
    # Connections per process; PostgreSQL in production sits behind a pooler (ARCHITECTURE.md).
    # No overflow by default: SQLAlchemy closes an overflow connection as soon as it is
    # returned, so under sustained load past the pool every checkout opened a new connection
    # (a new PostgreSQL backend process, a new SQLite thread), which cost the bot benchmark on
    # PostgreSQL + Redis much of its CPU and speed (the README's benchmark section has the
    # figures). An update waits for a free connection instead (SQLAlchemy's 30 s).
    db_pool_size: int = Field(default=30, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    # PostgreSQL reached through PgBouncer in transaction mode: consecutive transactions of one
    # client connection may run on different server connections, so no prepared statement may
    # outlive its transaction (services/db/engine.py, "PgBouncer").
    db_pgbouncer: bool = False
    redis_url: str | None = None
    # Redis connections per process; an update waits for a free one rather than failing.
    redis_pool_size: int = Field(default=50, ge=1)
    # Updates handled at once per process: polling fetches no more while this many run, and a
    # webhook asks the platform for at most this many connections (Telegram allows 1–100).
    max_concurrent_updates: int = Field(default=100, ge=1)
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    bale_bot_token: SecretStr | None = None
    bale_api_base: str = "https://tapi.bale.ai"
    # Webhook mode when set: the public HTTPS base URL that Telegram and Bale can reach.
    public_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Webhook mode serves the NLU's /model/parse only to callers with this bearer token.
    nlu_token: SecretStr | None = None
    # Signs console session cookies; generated per process when unset (sessions end on restart).
    console_secret_key: SecretStr | None = None
    # /metrics on the webhook and console apps only to callers with this bearer token.
    metrics_token: SecretStr | None = None
    # A server of /metrics, /healthz and /readyz alone (for a role without HTTP, or to keep
    # metrics off the public apps): on METRICS_HOST:METRICS_PORT when the port is set.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    host: str = "127.0.0.1"
    port: int = 8080
    # The sandbox's port when no token is set (over config.yml's sandbox.port); a free one is
    # taken when it is busy. ``tamin-bot sandbox`` alone also honours PORT.
    sandbox_port: int | None = Field(default=None, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # "json": one JSON object per log line (for a log shipper), scrubbed like the text lines.
    tamin_log_format: Literal["text", "json"] = "text"
    tamin_config: Path = DEFAULT_CONFIG_PATH
    # For the sandbox and tests only (refused beside a bot token): the moment this process's
    # clock starts at, running on from there (services/clock.py). ISO 8601; a naive value is
    # Tehran time, a bare date 10:00 that day.
    tamin_clock_start: dt.datetime | None = None

    @field_validator("tamin_clock_start", mode="before")
    @classmethod
    def _clock_moment(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str | dt.date):
            return clock_moment(value)
        return value

    @model_validator(mode="after")
    def _no_shifted_clock_for_real_users(self) -> EnvSettings:
        if self.tamin_clock_start is not None and (
            self.telegram_bot_token is not None or self.bale_bot_token is not None
        ):
            raise ValueError(
                "TAMIN_CLOCK_START is for the sandbox and tests only: unset it, or the bot "
                "tokens, so that real users never get dates from a shifted clock"
            )
        return self

    @field_validator("sandbox_port", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("tamin_log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseModel):
    """The settings object every factory takes."""

    model_config = ConfigDict(frozen=True)

    env: EnvSettings
    config: AppConfig


class ConfigError(ValueError):
    """``config.yml`` does not validate; the message names each offending key by its path."""


def load_config(path: Path | str) -> AppConfig:
    """Read and validate ``config.yml``: an unknown section or key is an error."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            what = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{key}: {what}")
        raise ConfigError(f"{path}: " + "; ".join(problems)) from exc


def load_settings(config_path: Path | str | None = None, **env_overrides: Any) -> Settings:
    """Build the settings from the environment and ``config.yml`` (tests pass overrides)."""
    env = EnvSettings(**env_overrides)
    config = load_config(config_path or env.tamin_config)
    return Settings(env=env, config=config)
