"""Agents with keys, CSV uploads and downloads, for the transfer tests."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fastapi import FastAPI

from app.access import service as access
from tests.conftest import ADMIN, START

CSV = {"Content-Type": "text/csv"}


async def new_agent(app: FastAPI, name: str) -> dict[str, str]:
    """An agent account with its key, made as `app apikey create NAME` makes it."""
    async with app.state.sessionmaker() as session:
        token = await access.create_key(session, name=name, role="agent", now=START)
        await session.commit()
    return {"Authorization": f"Bearer {token}"}


async def upload(
    client: httpx.AsyncClient,
    path: str,
    body: str | bytes,
    *,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        path,
        content=content,
        headers={**CSV, **(ADMIN if headers is None else headers)},
        params=params,
    )


async def export(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, str]]:
    response = await client.get("/exports/contacts.csv", headers=headers or ADMIN, params=params)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"
