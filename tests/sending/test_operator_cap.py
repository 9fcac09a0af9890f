"""The operator-wide daily marketing cap holds between workers preparing at the same moment."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import create_engine, create_sessionmaker
from app.scheduling.models import OutboxItem
from app.sending import claim, prepare
from app.tagging.ruleset import Ruleset, defaults
from tests.databases import DatabaseFactory
from tests.sending.test_multiworker import NOW, seed

LEASE = timedelta(minutes=5)


def capped(per_day: int) -> Ruleset:
    rules = defaults()
    sending = rules.sending.model_copy(
        update={"global_marketing_per_day": per_day, "pair_interval_seconds": 0.0}
    )
    return rules.model_copy(update={"sending": sending})


async def claim_and_prepare(session: AsyncSession, rules: Ruleset) -> int:
    ids = await claim.claim(session, now=NOW, lease=LEASE, limit=10)
    assert len(ids) == 10
    return len(await prepare.prepare_batch(session, ids, now=NOW, ruleset=rules))


@pytest.mark.postgres
async def test_two_workers_preparing_at_once_stay_under_the_daily_cap(
    databases: DatabaseFactory, database_url: str
) -> None:
    if databases.backend != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): two transactions at once")
    await seed(database_url, 20)
    rules = capped(12)
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    try:
        async with maker() as first, maker() as second:
            assert await claim_and_prepare(first, rules) == 10
            # The second worker's batch is other rows (SKIP LOCKED); its count of the day must
            # wait for the first worker's to be committed.
            later = asyncio.create_task(claim_and_prepare(second, rules))
            await asyncio.sleep(0.3)
            assert not later.done()
            await first.commit()
            assert await asyncio.wait_for(later, 10) == 2
            await second.commit()
        async with maker() as session:
            reserved = await session.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.sent_at.is_not(None))
            )
            assert reserved == 12
    finally:
        await engine.dispose()


async def test_the_daily_cap_counts_a_batch_it_prepares(database_url: str) -> None:
    await seed(database_url, 20)
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            assert await claim_and_prepare(session, capped(4)) == 4
            await session.commit()
    finally:
        await engine.dispose()
