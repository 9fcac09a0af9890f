"""The periodic report job: a snapshot every reports.snapshot_every_minutes, the first soon after
start, so a fresh replica has reports and alerts without waiting a whole period."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.db.session import session_scope
from app.periodic import PeriodicJob
from app.reports import service
from app.tagging.ruleset import Reports

log = logging.getLogger(__name__)


async def run_once(
    maker: async_sessionmaker[AsyncSession], clock: Clock, rules: Reports, *, force: bool = False
) -> service.Summary | None:
    """One snapshot in one transaction; None when another replica has it in hand (or, unforced,
    has just taken one)."""
    async with session_scope(maker) as session:
        return await service.take_snapshot(session, now=clock.now(), rules=rules, force=force)


class ReportJob(PeriodicJob):
    name = "report job"

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules: Reports,
        *,
        first_after_seconds: float = 10.0,
    ) -> None:
        # Not at once: the first seconds after start belong to the webhook backlog.
        super().__init__(
            every_seconds=rules.snapshot_every_minutes * 60,
            first_after_seconds=first_after_seconds,
        )
        self._maker, self._clock, self._rules = maker, clock, rules

    async def step(self) -> None:
        summary = await run_once(self._maker, self._clock, self._rules)
        if summary is not None:
            log.info(
                "report snapshot taken",
                extra={
                    "day": summary.day.isoformat(),
                    "contacts": summary.total_contacts,
                    "alerts_open": [a.name for a in summary.alerts_open],
                },
            )
