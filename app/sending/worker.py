"""The send loop: plan, claim what is due, send it under the rate limits, record the outcome.

run_once(now) is one pass (the body of `worker` and of `scheduler run-once`); no business rules
live here, only the order of the steps and the transactions around the HTTP call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.errors import is_database_outage
from app.scheduling import planner
from app.sending import claim, outcomes
from app.sending.throttle import Throttle
from app.tagging.ruleset import Ruleset
from app.whatsapp.client import CloudAPIPort
from app.whatsapp.errors import CloudAPIError

log = logging.getLogger("app.sending")


@dataclass
class SendReport:
    planned: int = 0
    claimed: int = 0
    sent: int = 0
    errors: int = 0
    reconciled: int = 0


class Sender:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        api: CloudAPIPort,
        ruleset: Ruleset,
        *,
        batch: int = 200,
        concurrency: int = 32,
        rng: random.Random | None = None,
    ) -> None:
        self._maker, self._clock, self._api, self._ruleset = maker, clock, api, ruleset
        self._batch, self._concurrency = batch, concurrency
        self._rng = rng or random.Random()
        s = ruleset.sending
        self.throttle = Throttle(
            messages_per_s=s.messages_per_second, pair_interval_s=s.pair_interval_seconds
        )

    async def plan(self, now: datetime) -> int:
        async with self._maker() as session:
            report, _ = await planner.plan(session, now=now, ruleset=self._ruleset)
            await session.commit()
        return report.planned

    async def run_once(self, now: datetime | None = None, *, plan: bool = True) -> SendReport:
        """Everything due at `now` (default: the clock): plan, reconcile stale leases, send."""
        now = now or self._clock.now()
        report = SendReport()
        if plan:
            report.planned = await self.plan(now)
        async with self._maker() as session:
            stale = await claim.expired_leases(session, now=now)
            await outcomes.reconcile_expired(session, stale, now=now)
            await session.commit()
            report.reconciled = len(stale)
        lease = timedelta(seconds=self._ruleset.sending.lease_seconds)
        while True:
            async with self._maker() as session:
                ids = await claim.claim(session, now=now, lease=lease, limit=self._batch)
                await session.commit()
            if not ids:
                return report
            report.claimed += len(ids)
            await self._send_all(ids, now, report)

    async def _send_all(self, ids: list[int], now: datetime, report: SendReport) -> None:
        gate = asyncio.Semaphore(self._concurrency)

        async def one(outbox_id: int) -> None:
            async with gate:
                await self._send_one(outbox_id, now, report)

        await asyncio.gather(*(one(i) for i in ids))

    async def _send_one(self, outbox_id: int, now: datetime, report: SendReport) -> None:
        async with self._maker() as session:
            request = await outcomes.prepare(session, outbox_id, now=now, ruleset=self._ruleset)
            await session.commit()
        if request is None:
            return
        delay = self.throttle.reserve(request.to, self._clock.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            if request.template is not None:
                assert request.params is not None
                assert request.language is not None
                result = await self._api.send_template(
                    request.to,
                    request.template,
                    request.language,
                    request.params,
                    callback_data=request.callback_data,
                )
            else:
                assert request.text is not None
                result = await self._api.send_text(
                    request.to, request.text, callback_data=request.callback_data
                )
        except CloudAPIError as error:
            report.errors += 1
            log.warning(
                "send failed",
                extra={
                    "outbox_id": outbox_id,
                    "code": error.code,
                    "disposition": str(error.disposition),
                },
            )
            async with self._maker() as session:
                await outcomes.record_error(
                    session, request, error, now=now, ruleset=self._ruleset, rng=self._rng
                )
                await session.commit()
            return
        report.sent += 1
        async with self._maker() as session:
            await outcomes.record_sent(
                session, request, wamid=result.wamid, now=now, ruleset=self._ruleset
            )
            await session.commit()


class SendLoop:
    """`worker`: run_once on the clock every few seconds until stopped."""

    def __init__(self, sender: Sender, *, every_seconds: float = 5.0) -> None:
        self._sender, self._every = sender, every_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="send-loop")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = await self._sender.run_once()
                if report.claimed or report.planned:
                    log.info("send pass", extra=vars(report))
            except Exception as exc:
                log.error(
                    "send pass failed",
                    extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
                )
                if not is_database_outage(exc):
                    log.exception("unexpected send failure")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every)
