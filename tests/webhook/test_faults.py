"""Faults: the database goes away and comes back, processing crashes, a body poisons processing."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.clock import ManualClock
from app.contacts.models import Message
from app.db.engine import create_engine, create_sessionmaker
from app.main import create_app
from app.webhook import service
from app.webhook.inbox import MAX_ATTEMPTS
from app.webhook.models import InboundEvent
from tests.conftest import START, as_body, count, make_settings, post_webhook, processed
from tests.databases import DatabaseFactory
from tests.payloads import text_message
from tests.tcp_proxy import TcpProxy


async def test_database_outage_gives_503_and_service_recovers(
    databases: DatabaseFactory, database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    proxy: TcpProxy | None = None
    if databases.backend == "sqlite":
        # Its own folder, so the outage can take the whole database (and its WAL) away.
        home = tmp_path / "dbhome"
        home.mkdir()
        shutil.copyfile(url.database, home / "db.sqlite")  # type: ignore[arg-type]
        app_url = url.set(database=str(home / "db.sqlite")).render_as_string(hide_password=False)
    else:
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        await proxy.open()
        app_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

    app = create_app(make_settings(app_url), clock=ManualClock(START))
    async with LifespanManager(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        assert (await post_webhook(client, text_message("wamid.before", "hi"))).status_code == 200
        await processed(app)

        if proxy is not None:
            await proxy.cut()
        else:
            await app.state.engine.dispose()
            home.rename(tmp_path / "away")
        during = as_body(text_message("wamid.during", "price?"))
        response = await post_webhook(client, during)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert (await client.get("/healthz")).status_code == 503

        if proxy is not None:
            await proxy.open()
        else:
            (tmp_path / "away").rename(home)
        assert (await client.get("/healthz")).status_code == 200
        assert (await post_webhook(client, text_message("wamid.after", "ok"))).status_code == 200
        # Meta redelivers what got a 503.
        assert (await post_webhook(client, during)).status_code == 200
        await processed(app)
        async with app.state.sessionmaker() as session:
            wamids = set((await session.scalars(select(Message.wamid))).all())
        assert wamids == {"wamid.before", "wamid.during", "wamid.after"}
        await client.aclose()
    if proxy is not None:
        await proxy.cut()


async def test_rows_stored_before_a_crash_are_processed_on_start(database_url: str) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        for i in range(3):
            body = as_body(text_message(f"wamid.crash{i}", "hello"))
            session.add(
                InboundEvent(body_sha256=f"{i:064d}", body=body, received_at=START, attempts=0)
            )
        await session.commit()
    await engine.dispose()

    app = create_app(make_settings(database_url), clock=ManualClock(START))
    async with LifespanManager(app):
        await processed(app)
        async with app.state.sessionmaker() as session:
            assert await count(session, Message) == 3
            assert await count(session, InboundEvent, InboundEvent.processed_at.is_(None)) == 0


async def test_a_body_that_breaks_processing_does_not_block_the_others(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = service.process_event

    async def flaky(session, event, **kwargs):
        if b"POISON" in event.body:
            raise ValueError("cannot handle this body")
        return await real(session, event, **kwargs)

    monkeypatch.setattr(service, "process_event", flaky)
    app = create_app(make_settings(database_url), clock=ManualClock(START))
    async with LifespanManager(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        for i, text in enumerate(["one", "POISON", "three"]):
            assert (
                await post_webhook(client, text_message(f"wamid.p{i}", text))
            ).status_code == 200
        await processed(app)
        async with app.state.sessionmaker() as session:
            assert set((await session.scalars(select(Message.wamid))).all()) == {
                "wamid.p0",
                "wamid.p2",
            }
            poison = (
                await session.scalars(
                    select(InboundEvent).where(InboundEvent.processed_at.is_(None))
                )
            ).one()
            # Kept, retried a bounded number of times, with the reason for an operator to read.
            assert poison.attempts == MAX_ATTEMPTS
            assert "cannot handle this body" in (poison.last_error or "")
        await client.aclose()
