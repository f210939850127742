"""The process's Prometheus metrics: one registry per process, built on first use.

Every role (webhook worker, console, sender, the all-in-one ``run``) counts into the registry
of its own process and serves it at ``/metrics`` (``app/observability.py``); Prometheus
scrapes each process, so no multiprocess mode is needed. ``deploy/grafana/tamin.json`` draws
these names.

Rules for the hot path, where an update passes several of these calls:

- labels come from small fixed sets only (platform, update kind, intent, outcome): never a
  user id, chat id or text, which would make a series per user;
- a call is a dictionary look-up and an addition (``labels()`` children are cached by
  prometheus-client), about a microsecond: no I/O, no lock held across an ``await``.

Built lazily by :func:`metrics` rather than at import time (STYLE.md), and not on
prometheus-client's global registry, so a test or a tool that imports a module registers
nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

# Seconds: a cached answer takes a few milliseconds, a slow database or Bot API hundreds.
LATENCY_BUCKETS: Final = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A free pooled connection takes microseconds; a wait for one under a burst, up to 30 s.
POOL_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
# Minutes to hours: an agent takes a queued chat, a 429 delays a message.
WAIT_BUCKETS: Final = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
CONFIDENCE_BUCKETS: Final = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST


class BoundedLabel:
    """A label's values, at most ``limit`` distinct ones; later newcomers become ``"other"``.

    For a label whose values come from outside: an intent named by a button's callback data
    can be forged by a client, and each new value would be a new series for good.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return "other"
        self._seen.add(value)
        return value


@dataclass(frozen=True, slots=True)
class Metrics:
    """The named metrics of the assistant (the README's observability section lists them)."""

    registry: CollectorRegistry
    updates: Counter
    update_seconds: Histogram
    intents: Counter
    fallbacks: Counter
    intent_seconds: Histogram
    nlu_confidence: Histogram
    verifications: Counter
    handoff_queue_length: Gauge
    handoff_oldest_wait: Gauge
    handoff_wait: Histogram
    outbox_pending: Gauge
    outbox_lag: Histogram
    outbox_sends: Counter
    outbox_rate_limited: Counter
    db_pool_checkout: Histogram
    db_pool_timeouts: Counter
    db_pool_in_use: Gauge
    redis_errors: Counter
    # The intents are some 25; room for twice as many before a forged one is "other".
    intent_label: BoundedLabel

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)


@functools.cache
def metrics() -> Metrics:
    """This process's metrics (built once, on first use)."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)

    def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
        return Counter(name, doc, labels, registry=registry)

    def histogram(
        name: str, doc: str, buckets: tuple[float, ...], labels: tuple[str, ...] = ()
    ) -> Histogram:
        return Histogram(name, doc, labels, registry=registry, buckets=buckets)

    def gauge(name: str, doc: str) -> Gauge:
        return Gauge(name, doc, registry=registry)

    return Metrics(
        registry=registry,
        updates=counter(
            "tamin_updates", "Updates received, by platform and kind.", ("platform", "kind")
        ),
        update_seconds=histogram(
            "tamin_update_seconds",
            "Time to handle one update through the dispatcher, by platform and kind.",
            LATENCY_BUCKETS,
            ("platform", "kind"),
        ),
        intents=counter(
            "tamin_intents",
            "Requests understood, by intent and source (menu button, model, follow-up).",
            ("intent", "source"),
        ),
        fallbacks=counter(
            "tamin_nlu_fallbacks",
            "Messages the model was unsure of (did-you-mean) or found out of scope.",
            ("reason",),
        ),
        intent_seconds=histogram(
            "tamin_intent_handler_seconds",
            "Time to answer one understood request (handlers and services), by intent.",
            LATENCY_BUCKETS,
            ("intent",),
        ),
        nlu_confidence=histogram(
            "tamin_nlu_confidence",
            "The model's confidence in its best intent, per classified message.",
            CONFIDENCE_BUCKETS,
        ),
        verifications=counter(
            "tamin_verifications",
            "National-ID verification attempts, by outcome.",
            ("outcome",),
        ),
        handoff_queue_length=gauge(
            "tamin_handoff_queue_length", "Chats queued for an agent (sampled)."
        ),
        handoff_oldest_wait=gauge(
            "tamin_handoff_oldest_wait_seconds",
            "How long the oldest queued chat has waited for an agent (sampled).",
        ),
        handoff_wait=histogram(
            "tamin_handoff_wait_seconds",
            "Time from escalation to an agent taking the chat.",
            WAIT_BUCKETS,
        ),
        outbox_pending=gauge(
            "tamin_outbox_pending", "Messages to users waiting in the outbox (sampled)."
        ),
        outbox_lag=histogram(
            "tamin_outbox_lag_seconds",
            "Time from a message entering the outbox to its delivery, by platform.",
            WAIT_BUCKETS,
            ("platform",),
        ),
        outbox_sends=counter(
            "tamin_outbox_sends",
            "Outbox send attempts, by platform and outcome (sent, retry, failed, rate_limited).",
            ("platform", "outcome"),
        ),
        outbox_rate_limited=counter(
            "tamin_outbox_rate_limited",
            "Bot API refusals with 429 and retry_after, by platform.",
            ("platform",),
        ),
        db_pool_checkout=histogram(
            "tamin_db_pool_checkout_seconds",
            "Time to get a database connection from the pool (waiting for a free one, or "
            "connecting).",
            POOL_BUCKETS,
        ),
        db_pool_timeouts=counter(
            "tamin_db_pool_timeouts", "Checkouts that gave up waiting for a free connection."
        ),
        db_pool_in_use=gauge(
            "tamin_db_pool_in_use", "Database connections checked out of the pool now."
        ),
        redis_errors=counter(
            "tamin_redis_errors", "Redis commands that failed, by where.", ("where",)
        ),
        intent_label=BoundedLabel(60),
    )


class MeasuredPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's async queue pool, timing each checkout (``tamin_db_pool_checkout_seconds``).

    SQLAlchemy's pool events fire once a connection is handed out, never when a checkout
    starts to wait, so the wait is measured around ``_do_get``, the method every SQLAlchemy
    pool implements to hand out a connection (``Pool.recreate`` builds this class again). Cost:
    two clock reads and a histogram observation per checkout.
    """

    # SQLAlchemy names a pool's logger after its class's module unless the class says otherwise:
    # this one would log "Pool disposed" and "Pool recreating" at INFO under our ``services``
    # logger. Keep it under SQLAlchemy's own pool logger (quiet unless ``echo_pool``).
    _sqla_logger_namespace = "sqlalchemy.pool.impl.AsyncAdaptedQueuePool"

    def _do_get(self) -> ConnectionPoolEntry:
        m = metrics()
        started = time.perf_counter()
        try:
            connection = super()._do_get()
        except PoolTimeout:
            m.db_pool_timeouts.inc()
            raise
        m.db_pool_checkout.observe(time.perf_counter() - started)
        return connection


def watch_pool(checked_out: Callable[[], int]) -> None:
    """Report ``checked_out()`` as ``tamin_db_pool_in_use`` when scraped (the last engine wins)."""
    metrics().db_pool_in_use.set_function(lambda: float(checked_out()))


def snake(name: str) -> str:
    """``IdentityMismatch`` → ``identity_mismatch`` (an outcome label from an error class)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
