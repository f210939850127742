"""POST /model/parse over HTTP (httpx's ASGI transport), alone and mounted in another app."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from nlu import NluModel
from nlu.server import create_nlu_app, create_nlu_router


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nlu.test")


async def test_parse_endpoint_answers_like_rasa(nlu_model: NluModel) -> None:
    async with client_for(create_nlu_app(nlu_model)) as client:
        response = await client.post("/model/parse", json={"text": "تمدید دفترچه مادرم"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == nlu_model.parse("تمدید دفترچه مادرم").to_rasa_dict()
    assert body["intent"]["name"] == "booklet_renewal"
    [entity] = body["entities"]
    assert (entity["entity"], entity["value"], entity["start"], entity["end"]) == (
        "relation",
        "mother",
        13,
        18,
    )


async def test_parse_endpoint_echoes_message_id_and_validates(nlu_model: NluModel) -> None:
    async with client_for(create_nlu_app(nlu_model)) as client:
        ok = await client.post("/model/parse", json={"text": "سلام", "message_id": "42"})
        missing = await client.post("/model/parse", json={})
        too_long = await client.post("/model/parse", json={"text": "ا" * 5000})
    assert ok.json()["message_id"] == "42"
    assert ok.json()["intent"]["name"] == "greet"
    assert missing.status_code == 422
    assert too_long.status_code == 422


async def test_router_mounts_in_another_app(nlu_model: NluModel) -> None:
    app = FastAPI()
    app.include_router(create_nlu_router(nlu_model), prefix="/nlu")
    async with client_for(app) as client:
        parsed = await client.post("/nlu/model/parse", json={"text": "اپراتور"})
        status = await client.get("/nlu/model/status")
    assert parsed.json()["intent"]["name"] == "human_agent"
    assert "out_of_scope" in status.json()["labels"]
