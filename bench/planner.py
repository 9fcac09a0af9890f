"""Planning throughput at 100,000 and 1,000,000 contacts on PostgreSQL.

    .venv/bin/python bench/planner.py [--sizes 100000 1000000]

For each size: a fresh database (bench_plan_<pid>), migrated, seeded with synthetic contacts
(`app.seed`, COPY), then one full planning pass (app.scheduling.planner.plan, writing the outbox)
timed end to end, and a second pass (everything already planned: the steady state). Prints
contacts/s per size and the cost ratio between sizes normalised per contact (1.0 = linear).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from app.cli import run_migrations
from app.db.engine import create_engine, create_sessionmaker
from app.scheduling import planner
from app.seed import seed
from app.tagging.ruleset import defaults

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def one_size(n: int) -> tuple[float, float, int]:
    name = f"bench_plan_{os.getpid()}"
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await asyncio.to_thread(run_migrations, url)
        engine = create_engine(url)
        started = time.perf_counter()
        await seed(engine, n, now=NOW)
        print(f"  seeded {n:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
        maker = create_sessionmaker(engine)
        timings = []
        planned = 0
        for _ in range(2):
            started = time.perf_counter()
            async with maker() as session:
                report, _ = await planner.plan(session, now=NOW, ruleset=defaults(), batch=2000)
                await session.commit()
            timings.append(time.perf_counter() - started)
            planned = planned or report.planned
        await engine.dispose()
        return timings[0], timings[1], planned
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        print(f"{n:,} contacts", flush=True)
        first, second, planned = await one_size(n)
        results[n] = first
        print(
            f"  first pass {first:7.1f} s = {n / first:9,.0f} contacts/s ({planned:,} follow-ups planned); "
            f"second pass {second:7.1f} s = {n / second:9,.0f} contacts/s",
            flush=True,
        )
    sizes = sorted(results)
    for small, large in itertools.pairwise(sizes):
        ratio = (results[large] / large) / (results[small] / small)
        print(f"cost per contact {large:,} vs {small:,}: {ratio:.2f} (1.00 = linear)")


if __name__ == "__main__":
    asyncio.run(main())
