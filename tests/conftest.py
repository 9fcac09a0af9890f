"""Shared fixtures: a fresh migrated database per test, the real app on a manual clock, a client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.config import Settings
from app.db.engine import READ_ONLY
from app.main import create_app
from app.whatsapp.signature import sign
from tests.databases import DatabaseFactory

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ADMIN_TOKEN = "test-admin-token"
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    dbs = DatabaseFactory.create(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.close()


@pytest.fixture
async def database_url(databases: DatabaseFactory) -> AsyncIterator[str]:
    url = await databases.new()
    yield url
    await databases.drop(url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "whatsapp_app_secret": SecretStr(APP_SECRET),
        "whatsapp_verify_token": SecretStr(VERIFY_TOKEN),
        "admin_token": SecretStr(ADMIN_TOKEN),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    # Reads like a GET route does, so holding it open never blocks the app's writers.
    engine = app.state.engine.execution_options(**{READ_ONLY: True})
    async with AsyncSession(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
async def writer(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session that writes like the app does (on SQLite: BEGIN IMMEDIATE, waits for the lock)."""
    async with app.state.sessionmaker() as s:
        yield s


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)}


def as_body(payload: Any) -> bytes:
    """Serialise like Meta does: compact separators, non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, separators=(",", ":")).encode()


async def post_webhook(client: httpx.AsyncClient, payload: Any) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else as_body(payload)
    return await client.post("/webhook", content=body, headers=signed_headers(body))


async def processed(app: FastAPI) -> None:
    await app.state.processor.wait_idle()


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    await session.rollback()  # a fresh snapshot: SQLite reads are repeatable within a transaction
    return int((await session.scalar(select(func.count()).select_from(model).where(*where))) or 0)


SHARED = Path(__file__).resolve().parents[2] / "shared"
