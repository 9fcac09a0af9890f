"""Agents with keys, and contacts that wrote at given times, for the queue tests."""

from __future__ import annotations

from datetime import datetime

import httpx
from fastapi import FastAPI

from tests.conftest import ADMIN, post_webhook, processed
from tests.payloads import text_message


async def new_agent(client: httpx.AsyncClient, name: str, timezone: str = "UTC") -> dict[str, str]:
    r = await client.post("/agents", json={"name": name, "timezone": timezone}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


async def writes(
    app: FastAPI, client: httpx.AsyncClient, wa_id: str, text: str, at: datetime, wamid: str = ""
) -> None:
    body = text_message(wamid or f"wamid.{wa_id}.{at.timestamp():.0f}", text, wa_id=wa_id, at=at)
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)


async def set_status(client: httpx.AsyncClient, wa_id: str, status: str) -> None:
    r = await client.put(f"/contacts/{wa_id}/tags/status", json={"value": status}, headers=ADMIN)
    assert r.status_code == 200, r.text
