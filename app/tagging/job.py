"""The periodic tag job: applies time rules (decay, downgrades, grey) when they fall due."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.errors import is_database_outage
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


class TagJob:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        ruleset: Ruleset,
        *,
        every_seconds: float = 30.0,
    ) -> None:
        self._maker, self._clock, self._ruleset = maker, clock, ruleset
        self._every = every_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tag-job")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                changed = await run_once(self._maker, self._clock, self._ruleset)
                if changed:
                    log.info("time rules applied", extra={"contacts": changed})
            except Exception as exc:
                log.error(
                    "tag job failed", extra={"error": type(exc).__name__, "detail": str(exc)[:300]}
                )
                if not is_database_outage(exc):
                    log.exception("unexpected tag job failure")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every)
