"""``/healthz``, ``/readyz`` and ``/metrics`` for every HTTP server of a process.

The webhook app (``app/run.py``), the console and the metrics-only server of a process
without HTTP of its own (:func:`create_probe_app`) add the same three routes here:

- ``/healthz``: the process is alive and no supervised task is stuck down;
- ``/readyz``: tasks running, database and Redis answering, NLU model loaded (whatever the
  process has of these);
- ``/metrics``: this process's Prometheus registry (``services/metrics.py``). It tells how
  busy the service is and which intents people ask, so on an app that faces users it is
  served only to callers presenting ``Authorization: Bearer <METRICS_TOKEN>`` and not at all
  without that token (the rule ``/model/parse`` follows). The metrics-only server, which
  listens on an internal address (``METRICS_HOST``, loopback by default), serves it openly.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.metrics import CONTENT_TYPE, metrics
from services.supervision import Pingable, Supervisor, health, readiness


def add_probes(
    app: FastAPI,
    *,
    supervisor: Supervisor | None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    redis: Pingable | None = None,
    model_loaded: bool | None = None,
    metrics_token: str | None = None,
    open_metrics: bool = False,
) -> None:
    """Add the three routes to ``app`` (``/metrics`` only with a token or ``open_metrics``)."""

    async def healthz(request: Request) -> Response:
        healthy, body = health(supervisor)
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def readyz(request: Request) -> Response:
        ready, body = await readiness(
            supervisor, session_factory, redis=redis, model_loaded=model_loaded
        )
        return JSONResponse(body, status_code=200 if ready else 503)

    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    if metrics_token is None and not open_metrics:
        return
    expected = None if metrics_token is None else f"Bearer {metrics_token}".encode()

    async def metrics_page(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        # Rendering walks every series: off the event loop, which answers updates meanwhile.
        body = await asyncio.to_thread(metrics().exposition)
        return Response(body, media_type=CONTENT_TYPE)

    app.add_route("/metrics", metrics_page, methods=["GET"], include_in_schema=False)


def create_probe_app(**probes: Any) -> FastAPI:
    """An app of the three routes only, for ``METRICS_PORT`` (metrics served openly)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_probes(app, open_metrics=True, **probes)
    return app
