"""The periodic report job: a snapshot every reports.snapshot_every_minutes, the first soon after
start, so a fresh replica has reports and alerts without waiting a whole period."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.db.session import session_scope
from app.errors import is_database_outage
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


class ReportJob:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        rules: Reports,
        *,
        first_after_seconds: float = 10.0,
    ) -> None:
        self._maker, self._clock, self._rules = maker, clock, rules
        # Not at once: the first seconds after start belong to the webhook backlog.
        self._first = first_after_seconds
        self._every = rules.snapshot_every_minutes * 60
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-job")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        wait = self._first
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
            if self._stop.is_set():
                return
            wait = self._every
            try:
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
            except Exception as exc:
                log.error(
                    "report job failed",
                    extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
                )
                if not is_database_outage(exc):
                    log.exception("unexpected report job failure")
