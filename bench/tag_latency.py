"""Webhook-to-tag latency: how long after the 200 a price question shows as red through the API.

    .venv/bin/python bench/tag_latency.py [--messages 300] [--concurrency 8] [--db sqlite|postgres|both]

Starts the real service on 127.0.0.1 with a fresh database, posts signed single-message webhooks
(each a price question from a new contact) from `--concurrency` clients, and after each 200 polls
GET /contacts/{wa_id} every 5 ms until the contact's status is red. Prints p50/p95/p99 and the max
of that delay, and how many stayed above the 1 s promise. Also prints the detector's throughput
for context: the tag work itself is small next to the database round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret"
ADMIN = "bench-admin"
QUESTIONS = [
    "how much is the power bank?",
    "wie viel kostet das?",
    "cuanto cuesta el envio?",
    "quanto custa?",
    "c'est combien ?",
    "berapa harganya kak?",
    "kitne ka hai bhai?",
    "بكم هذا؟",
    "这个多少钱？",
    "giá bao nhiêu vậy?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body_for(i: int, wa_id: str) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550000000",
                                "phone_number_id": "1",
                            },
                            "contacts": [{"profile": {"name": f"Bench {i}"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": f"wamid.lat.{i}.{secrets.token_hex(4)}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": QUESTIONS[i % len(QUESTIONS)]},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def measure(base: str, messages: int, concurrency: int) -> list[float]:
    delays: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(messages):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {ADMIN}"}

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            wa_id = f"49151{i:08d}"
            body = body_for(i, wa_id)
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            response = await client.post(
                "/webhook", content=body, headers={"X-Hub-Signature-256": signature}
            )
            assert response.status_code == 200, response.text
            acknowledged = time.perf_counter()
            while True:
                contact = await client.get(f"/contacts/{wa_id}", headers=headers)
                if contact.status_code == 200 and contact.json()["tags"]["status"] == "red":
                    delays.append(time.perf_counter() - acknowledged)
                    break
                if time.perf_counter() - acknowledged > 10:
                    delays.append(float("inf"))
                    break
                await asyncio.sleep(0.005)

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(db: str, messages: int, concurrency: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="taglat-"))
    dbname = f"taglat_{os.getpid()}"
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    else:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        await conn.execute(f'CREATE DATABASE "{dbname}"')
        await conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{dbname}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "ADMIN_TOKEN": ADMIN,
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        await measure(base, 20, 2)  # warm-up: imports, pools, first contacts
        delays = await measure(base, messages, concurrency)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        if db == "postgres":
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            await conn.close()
    ms = [d * 1000 for d in delays]
    late = sum(1 for d in delays if d > 1.0)
    print(
        f"{db:9} messages {len(ms):5}  p50 {percentile(ms, 0.5):7.1f} ms  p95 {percentile(ms, 0.95):7.1f} ms  "
        f"p99 {percentile(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms  mean {statistics.fmean(ms):7.1f} ms  over 1 s: {late}"
    )


def detector_throughput() -> None:
    sys.path.insert(0, str(ROOT))
    from app.tagging.intent import default_detector

    detector = default_detector()
    texts = [q + f" #{i}" for i, q in enumerate(QUESTIONS * 500)]
    start = time.perf_counter()
    for text in texts:
        detector.detect(text)
    rate = len(texts) / (time.perf_counter() - start)
    print(f"detector: {rate:,.0f} messages/s on one core (context)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    print(
        f"webhook 200 -> status red visible via GET /contacts, {args.concurrency} concurrent clients"
    )
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        asyncio.run(run(db, args.messages, args.concurrency))
    detector_throughput()


if __name__ == "__main__":
    main()
