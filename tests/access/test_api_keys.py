"""Bearer access: ADMIN_TOKEN bootstraps; the CLI creates and revokes named keys (stored hashed)."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import ApiKey
from app.cli import main
from tests.conftest import ADMIN, ADMIN_TOKEN, APP_SECRET


async def cli(database_url: str, *args: str) -> Result:
    env = {
        "DATABASE_URL": database_url,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WHATSAPP_VERIFY_TOKEN": "v",
    }
    # The CLI runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env=env, catch_exceptions=False
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {ADMIN_TOKEN}"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "basic", "empty"],
)
async def test_missing_or_wrong_credentials_are_401(
    app: FastAPI, client: httpx.AsyncClient, headers
) -> None:
    response = await client.get("/contacts/16505551234", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_admin_token_is_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/contacts/16505551234", headers=ADMIN)).status_code == 404


async def test_cli_key_lifecycle(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, database_url: str
) -> None:
    created = await cli(database_url, "apikey", "create", "maria", "--role", "agent")
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    assert token.startswith("wfu_")
    stored = (await session.scalars(select(ApiKey))).one()
    assert stored.key_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.name, stored.key_sha256)

    bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/contacts/16505551234", headers=bearer)).status_code == 404

    listed = await cli(database_url, "apikey", "list")
    assert "maria\tagent\tactive" in listed.output
    duplicate = await cli(database_url, "apikey", "create", "maria")
    assert duplicate.exit_code != 0
    assert "exists already" in duplicate.output

    assert (await cli(database_url, "apikey", "revoke", "maria")).exit_code == 0
    assert (await client.get("/contacts/16505551234", headers=bearer)).status_code == 401
    missing = await cli(database_url, "apikey", "revoke", "nobody")
    assert missing.exit_code != 0
    assert "no API key named" in missing.output


async def test_cli_rejects_an_unknown_role(database_url: str) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        main,
        ["apikey", "create", "x", "--role", "boss"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 2
    assert "boss" in result.output
