"""The NLU over HTTP: ``POST /model/parse``, answering like Rasa's server does.

Rasa tooling (and anything else that speaks Rasa's HTTP API) can talk to it. The router factory
lets the bot's web server mount the endpoint inside its own app; the app factory serves it alone
(``uvicorn --factory`` with a small wrapper, or tests).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from nlu.model import NluModel

# Telegram's own limit for one message; longer bodies are refused by validation (422).
MAX_TEXT_LENGTH = 4096


class ParseRequest(BaseModel):
    """Rasa's request body: the message text (``message_id`` is accepted and echoed)."""

    text: str = Field(max_length=MAX_TEXT_LENGTH)
    message_id: str | None = None


def create_nlu_router(model: NluModel) -> APIRouter:
    """Return a router with ``POST /model/parse`` and ``GET /model/status`` bound to ``model``."""
    router = APIRouter(tags=["nlu"])

    # Parsing takes less time than a thread hand-off would cost (the NLU benchmark), so it
    # runs directly in the event loop.
    @router.post("/model/parse")
    async def parse(request: ParseRequest) -> dict[str, Any]:
        result = model.parse(request.text).to_rasa_dict()
        if request.message_id is not None:
            result["message_id"] = request.message_id
        return result

    @router.get("/model/status")
    async def status() -> dict[str, Any]:
        return {
            "labels": model.labels,
            "trained_at": model.metadata.get("trained_at"),
            "fingerprint": model.metadata.get("data_hash"),
            "versions": model.metadata.get("versions"),
        }

    return router


def create_nlu_app(model: NluModel) -> FastAPI:
    """Return an ASGI app serving the NLU endpoints for ``model``."""
    app = FastAPI(title="Tamin assistant NLU", version="1")
    app.include_router(create_nlu_router(model))
    return app
