"""The periodic tag job: applies time rules (decay, downgrades, grey) when they fall due."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.periodic import PeriodicJob
from app.tagging import service
from app.tagging.ruleset import Ruleset

log = logging.getLogger(__name__)


async def run_once(
    maker: async_sessionmaker[AsyncSession], clock: Clock, ruleset: Ruleset, *, batch: int = 500
) -> int:
    """Every contact due at this moment, in batches of `batch` (one transaction each)."""
    total = 0
    now = clock.now()
    while True:
        async with maker() as session:
            n = await service.run_due(session, now=now, ruleset=ruleset, limit=batch)
            await session.commit()
        total += n
        if n < batch:
            return total


class TagJob(PeriodicJob):
    name = "tag job"

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        ruleset: Ruleset,
        *,
        every_seconds: float = 30.0,
    ) -> None:
        super().__init__(every_seconds=every_seconds)
        self._maker, self._clock, self._ruleset = maker, clock, ruleset

    async def step(self) -> None:
        changed = await run_once(self._maker, self._clock, self._ruleset)
        if changed:
            log.info("time rules applied", extra={"contacts": changed})
