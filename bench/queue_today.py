"""GET /queues/today and the reports at 10,000, 100,000 and 1,000,000 contacts on PostgreSQL.

    .venv/bin/python bench/queue_today.py [--sizes 10000,100000,1000000] [--calls 200]

For each size: a fresh database (bench_queue_<pid>_<size>), migrated, seeded with `app.seed` (five
agents, contacts with messages, tag events, orders and queue items, as of NOW), ANALYZEd. Then the
real app for each database (create_app on a ManualClock at NOW, in-process through httpx's ASGI
transport) takes one report snapshot (timed once: the only full scan) and answers every case
`--calls` times, after a warm-up. The sizes take turns call by call, so that whatever else runs on
the machine weighs on all sizes alike. Prints p50/p95 per case and size, and the ratio of the
largest size to the smallest (goal: at most 2). The databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli import run_migrations
from app.clock import ManualClock
from app.config import Settings
from app.db.engine import create_engine
from app.main import create_app
from app.seed import seed

SERVER = "postgresql://postgres@127.0.0.1:5432"
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ADMIN_TOKEN = "bench-admin"
WARM_UP = 20
DEEP_PAGE = 5

# (case, path, params, whose key: "agent" or "admin", pages to walk first)
CASES: list[tuple[str, str, dict[str, Any], str, int]] = [
    ("queue: agent, page 1", "/queues/today", {}, "agent", 1),
    (f"queue: agent, page {DEEP_PAGE}", "/queues/today", {}, "agent", DEEP_PAGE),
    ("queue: all agents (admin), page 1", "/queues/today", {}, "admin", 1),
    (f"queue: all agents, page {DEEP_PAGE}", "/queues/today", {}, "admin", DEEP_PAGE),
    ("queue: agent, status=yellow", "/queues/today", {"status": "yellow"}, "agent", 1),
    ("queue: agent, status=orange,green", "/queues/today", {"status": "orange,green"}, "agent", 1),
    (
        "queue: agent, tag=discount_sensitive",
        "/queues/today",
        {"tag": "interests:discount_sensitive"},
        "agent",
        1,
    ),
    ("reports: tags (30 days)", "/reports/tags", {}, "admin", 1),
    ("reports: conversion", "/reports/conversion", {}, "admin", 1),
    ("reports: false reds", "/reports/false-reds", {}, "admin", 1),
    ("reports: weekly review, page 1", "/reports/review", {}, "admin", 1),
    ("alerts", "/alerts", {}, "admin", 1),
]


@dataclass
class Size:
    contacts: int
    name: str
    seed_seconds: float = 0.0
    snapshot_seconds: float = 0.0
    client: httpx.AsyncClient | None = None
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per case, cursor included
    items: dict[str, int] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def url_of(size: Size) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{size.name}"


async def prepare(size: Size) -> str:
    """A fresh, migrated, seeded and analysed database; returns the first agent's API key."""
    await admin(f'DROP DATABASE IF EXISTS "{size.name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{size.name}"')
    await asyncio.to_thread(run_migrations, url_of(size))
    engine = create_engine(url_of(size))
    try:
        started = time.perf_counter()
        done = await seed(engine, size.contacts, now=NOW)
        size.seed_seconds = time.perf_counter() - started
        async with engine.begin() as conn:  # committed: a rolled-back ANALYZE keeps no statistics
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    print(
        f"  {size.contacts:>9,} contacts seeded in {size.seed_seconds:6.1f} s "
        f"({done.messages:,} messages, {done.tag_events:,} tag events, {done.purchases:,} orders)",
        flush=True,
    )
    key = done.agents[0].api_key
    assert key is not None
    return key


async def start(size: Size, agent_key: str, stack: AsyncExitStack) -> None:
    settings = Settings(
        _env_file=None,
        database_url=url_of(size),
        admin_token=SecretStr(ADMIN_TOKEN),
        tag_job_seconds=3600,  # nothing is due at NOW anyway; keep the background quiet
        inbox_sweep_seconds=3600,
    )
    app = create_app(settings, clock=ManualClock(NOW))
    await stack.enter_async_context(LifespanManager(app))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    size.client = await stack.enter_async_context(client)
    size.headers = {
        "agent": {"Authorization": f"Bearer {agent_key}"},
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    }
    started = time.perf_counter()
    r = await client.post("/reports/snapshot", headers=size.headers["admin"])
    r.raise_for_status()
    size.snapshot_seconds = time.perf_counter() - started
    for case, path, params, who, pages in CASES:
        query = dict(params)
        for _ in range(pages - 1):  # walk to the deep page once; its cursor is then reused
            r = await client.get(path, params=query, headers=size.headers[who])
            r.raise_for_status()
            if not r.json()["next_cursor"]:
                print(f"  {case}: fewer than {pages} pages at {size.contacts:,}", flush=True)
                break
            query["cursor"] = r.json()["next_cursor"]
        r = await client.get(path, params=query, headers=size.headers[who])
        r.raise_for_status()
        body = r.json()
        size.params[case] = query
        size.items[case] = len(body.get("items", body.get("rules", [])))
        size.times[case] = []


async def call(size: Size, case: str, path: str, who: str) -> float:
    assert size.client is not None
    started = time.perf_counter()
    r = await size.client.get(path, params=size.params[case], headers=size.headers[who])
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    return elapsed


async def measure(sizes: list[Size], agent_keys: list[str], calls: int) -> None:
    async with AsyncExitStack() as stack:
        for size, key in zip(sizes, agent_keys, strict=True):
            await start(size, key, stack)
        for case, path, _, who, _ in CASES:
            for size in sizes:
                for _ in range(WARM_UP):
                    await call(size, case, path, who)
        for _ in range(calls):
            for case, path, _, who, _ in CASES:
                for size in sizes:
                    size.times[case].append(await call(size, case, path, who))


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def report(sizes: list[Size]) -> None:
    small, large = sizes[0], sizes[-1]
    head = "".join(f" | {s.contacts:>9,} p50 / p95 ms" for s in sizes)
    print(f"\n{'case':<38}{head} | ratio p50 (p95) {large.contacts:,}/{small.contacts:,}")
    for case, *_ in CASES:
        cells = "".join(
            f" | {quantile(s.times[case], 0.5) * 1e3:9.1f} / {quantile(s.times[case], 0.95) * 1e3:5.1f}"
            for s in sizes
        )
        p50 = quantile(large.times[case], 0.5) / quantile(small.times[case], 0.5)
        p95 = quantile(large.times[case], 0.95) / quantile(small.times[case], 0.95)
        flag = "" if p50 <= 2 else "  (over 2)"
        print(f"{case:<38}{cells} | {p50:5.2f} ({p95:.2f}){flag}")
    print("\nitems per page: " + "; ".join(f"{c}: {large.items[c]}" for c, *_ in CASES[:7]))
    print(
        "report snapshot (the one full scan, POST /reports/snapshot): "
        + ", ".join(f"{s.contacts:,}: {s.snapshot_seconds:.1f} s" for s in sizes)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    sizes = [
        Size(n, f"bench_queue_{os.getpid()}_{n}")
        for n in sorted(int(x) for x in args.sizes.split(","))
    ]
    try:
        keys = [await prepare(size) for size in sizes]
        await measure(sizes, keys, args.calls)
        report(sizes)
    finally:
        for size in sizes:
            await admin(f'DROP DATABASE IF EXISTS "{size.name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
