"""The service is SIGKILLed under load and restarted: every acknowledged webhook is processed once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.contacts.models import Message
from app.db.engine import create_engine, create_sessionmaker
from app.webhook.models import InboundEvent
from tests.conftest import ADMIN_TOKEN, APP_SECRET, VERIFY_TOKEN, as_body, signed_headers
from tests.payloads import text_message

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("WHATSAPP_ACCESS_TOKEN", None)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(port), "--no-migrate"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        assert proc.poll() is None, "service exited during start-up"
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("service did not become healthy")


async def test_sigkill_under_load_loses_nothing_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    log = tmp_path / "service.log"
    proc = _start(database_url, port, log)
    acknowledged: set[str] = set()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await _wait_healthy(client, proc)
            killed = asyncio.Event()

            async def sender(worker: int) -> None:
                for i in range(10_000):
                    if killed.is_set():
                        return
                    wamid = f"wamid.kill.{worker}.{i}"
                    body = as_body(
                        text_message(wamid, f"load {i}", wa_id=f"4915112{worker:02d}{i % 1000:04d}")
                    )
                    try:
                        response = await client.post(
                            "/webhook", content=body, headers=signed_headers(body)
                        )
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        acknowledged.add(wamid)

            async def killer() -> None:
                while len(acknowledged) < 300:
                    await asyncio.sleep(0.01)
                proc.send_signal(signal.SIGKILL)
                killed.set()

            await asyncio.wait_for(asyncio.gather(killer(), *(sender(w) for w in range(16))), 60)
            proc.wait(10)

        proc = _start(database_url, port, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await _wait_healthy(client, proc)

        engine = create_engine(database_url)
        maker = create_sessionmaker(engine)
        try:
            for _ in range(400):
                async with maker() as session:
                    pending = await session.scalar(
                        select(func.count())
                        .select_from(InboundEvent)
                        .where(InboundEvent.processed_at.is_(None))
                    )
                if pending == 0:
                    break
                await asyncio.sleep(0.05)
            async with maker() as session:
                stored = list((await session.scalars(select(Message.wamid))).all())
                failures = await session.scalar(
                    select(func.count()).select_from(InboundEvent).where(InboundEvent.attempts > 0)
                )
                events = await session.scalar(select(func.count()).select_from(InboundEvent))
        finally:
            await engine.dispose()
        assert pending == 0
        assert len(acknowledged) >= 300
        missing = acknowledged - set(stored)
        assert not missing, f"{len(missing)} acknowledged webhooks lost"
        assert len(stored) == len(set(stored)) == events  # one message per stored body, none twice
        assert failures == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
