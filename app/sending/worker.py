"""The send loop: plan, claim what is due, send it under the rate limits, record the outcome.

run_once(now) is one pass (the body of `worker` and of `scheduler run-once`); no business rules
live here, only the order of the steps and the transactions around the HTTP calls. A pass is a
pipeline: claim and prepare a batch (one transaction), send each request at a slot reserved from
the send clock that all workers share, record the answers in batches (one transaction each).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# Every table, so that flushing a Message can resolve its foreign keys even in a process (such
# as `scheduler run-once`) that never imported the webhook models.
import app.db.registry  # noqa: F401
from app.clock import Clock
from app.periodic import PeriodicJob
from app.scheduling import planner
from app.sending import claim, outcomes, prepare
from app.sending.outcomes import SendOutcome
from app.sending.prepare import SendRequest
from app.sending.throttle import SlotPace
from app.tagging.ruleset import Ruleset
from app.whatsapp.client import CloudAPIPort, DryRunCloudAPI, SendResult
from app.whatsapp.errors import CloudAPIError, TransientError

log = logging.getLogger("app.sending")

# Answers wait this long for others before they are recorded together: each transaction costs
# a few round trips whatever its size, which at 1,000 sends/s is worth batching more.
RECORD_LINGER_SECONDS = 0.2
# A claim takes about this long's worth of sends at the paced rate: big enough that a claim's
# fixed cost is spread thin, small enough that a batch is sent soon after its checks ran. The
# checks of a batch hold the event loop for stretches that grow with its size; at 0.5 s
# (485 rows at 1,000/s) they made ~5 % of the send slots lapse, at 0.15 s about 1 %
# (bench/sender.py).
CLAIM_SECONDS = 0.15
RECORD_ATTEMPTS = 3
# Meta's 130429 pauses every worker of the number; a Retry-After longer than this is capped.
MAX_PAUSE_SECONDS = 60.0
THROUGHPUT_ERRORS = frozenset({130429})


@dataclass
class SendReport:
    planned: int = 0
    claimed: int = 0
    sent: int = 0
    errors: int = 0
    reconciled: int = 0
    # Send slots this worker reserved but let lapse (its loop was busy past their tolerance):
    # throughput the cap allowed and nobody used.
    lapsed: int = 0


class Sender:
    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        api: CloudAPIPort,
        ruleset: Ruleset,
        *,
        batch: int = 500,
        concurrency: int = 20,
        rng: random.Random | None = None,
        number: str | None = None,
    ) -> None:
        """`clock` paces the sends in real time (its now() is also the default moment of a pass);
        at most `batch` rows are claimed per transaction (fewer at low caps, see CLAIM_SECONDS);
        `concurrency` requests are in flight at most."""
        self._maker, self._clock, self._api, self._ruleset = maker, clock, api, ruleset
        self._batch, self._concurrency = batch, concurrency
        self._rng = rng or random.Random()
        self.pace = SlotPace.for_cap(ruleset.sending.messages_per_second)
        # Meta counts throughput per business number, so that is what the clock is keyed by.
        self.number = number or str(getattr(api, "phone_number_id", None) or "default")
        self.paused_until = -math.inf
        self.dry_run = isinstance(api, DryRunCloudAPI)

    async def plan(self, now: datetime) -> int:
        async with self._maker() as session:
            report, _ = await planner.plan(session, now=now, ruleset=self._ruleset)
            await session.commit()
        return report.planned

    async def run_once(self, now: datetime | None = None, *, plan: bool = True) -> SendReport:
        """Everything due at `now` (default: the clock): plan, reconcile stale leases, send."""
        # The moment the rules see, and the clock reading it goes with: planning a large
        # contact base takes a while, and the pass's moment moves on from here.
        started = self._clock.now()
        now = now or started
        report = SendReport()
        if plan:
            report.planned = await self.plan(now)
        async with self._maker() as session:
            stale = await claim.expired_leases(session, now=now)
            await outcomes.reconcile_expired(session, stale, now=now)
            await session.commit()
            report.reconciled = len(stale)
        await _Pass(self, now, started, report).run()
        return report

    def seconds(self) -> float:
        """The pacing clock in Unix seconds: the one time base every worker's slots share."""
        return self._clock.now().timestamp()

    async def reserve(self, count: int) -> list[float]:
        async with self._maker() as session:
            end = await claim.reserve_slots(
                session,
                number=self.number,
                count=count,
                interval=self.pace.interval,
                now=self.seconds(),
            )
            await session.commit()
        return self.pace.slots(end, count)

    async def call(self, request: SendRequest) -> SendResult:
        if request.template is not None:
            assert request.params is not None
            assert request.language is not None
            return await self._api.send_template(
                request.to,
                request.template,
                request.language,
                request.params,
                callback_data=request.callback_data,
            )
        assert request.text is not None
        return await self._api.send_text(
            request.to, request.text, callback_data=request.callback_data
        )


class _Pass:
    """One run_once after planning: three stages joined by queues, so that claiming the next
    batch, sending this one at its slots and recording the last one overlap."""

    def __init__(
        self, sender: Sender, now: datetime, started: datetime, report: SendReport
    ) -> None:
        self.s, self.now, self.started, self.report = sender, now, started, report
        self.prepared: asyncio.Queue[list[SendRequest] | None] = asyncio.Queue()
        # Batches claimed but not yet being sent: one waiting, one being prepared.
        self.room = asyncio.Semaphore(2)
        self.answers: asyncio.Queue[SendOutcome | None] = asyncio.Queue()
        self.failed = asyncio.Event()  # a stage failed: claim and launch nothing more
        self.error: BaseException | None = None
        self.claiming = True
        self.unlaunched = 0  # handed to the sending stage, not yet given a slot
        self.unsent: list[SendRequest] = []  # prepared, never to be launched in this pass
        self.slot_lock = asyncio.Lock()
        self.slots: deque[float] = deque()
        self.refill: asyncio.Task[list[float]] | None = None
        self.pause_to_record: float | None = None  # a 130429 pause not yet on the send clock

    def moment(self) -> datetime:
        """The pass's moment, moved on by the time the pass has taken: a pass through a large
        backlog outlasts a lease, and each claim's lease, window checks and send times must be
        those of when it happens. (`scheduler run-once --now` starts from its own moment.)"""
        return self.now + (self.s._clock.now() - self.started)

    def _fail(self, exc: BaseException) -> None:
        self.failed.set()
        self.error = self.error or exc

    async def run(self) -> None:
        stages = await asyncio.gather(
            self._claim(), self._dispatch(), self._record(), return_exceptions=True
        )
        for outcome in stages:
            if isinstance(outcome, BaseException):
                raise outcome
        if self.error is not None:
            raise self.error

    # -- stage 1: claim and prepare ----------------------------------------------------------

    async def _claim(self) -> None:
        s = self.s
        lease = timedelta(seconds=s._ruleset.sending.lease_seconds)
        # Never so many that a batch could outlast its lease while it waits for slots.
        seconds = min(CLAIM_SECONDS, lease.total_seconds() / 10)
        limit = min(s._batch, max(1, math.floor(s.pace.rate * seconds)))
        try:
            while not self.failed.is_set():
                await self.room.acquire()
                if self.failed.is_set():
                    return
                # Claim and prepare commit together: a batch that cannot be prepared stays
                # planned instead of sitting in "sending" until its lease runs out.
                async with s._maker() as session:
                    now = self.moment()
                    ids = await claim.claim(session, now=now, lease=lease, limit=limit)
                    requests = (
                        await prepare.prepare_batch(
                            session, ids, now=now, ruleset=s._ruleset, demo_templates=s.dry_run
                        )
                        if ids
                        else []
                    )
                    await session.commit()
                if not ids:
                    return
                self.report.claimed += len(ids)
                if self.failed.is_set():
                    # The sending stage is gone: nobody would take this batch.
                    await self._release(requests)
                    return
                if requests:
                    self.prepared.put_nowait(requests)
                else:
                    self.room.release()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self.claiming = False
            self.prepared.put_nowait(None)

    # -- stage 2: send each request at its slot ----------------------------------------------

    async def _dispatch(self) -> None:
        gate = asyncio.Semaphore(self.s._concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while (batch := await self.prepared.get()) is not None:
                self.room.release()
                self.unlaunched += len(batch)
                for request in batch:
                    await gate.acquire()
                    task = asyncio.create_task(self._send(request, gate))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            if self.refill is not None:
                # Slots reserved for nobody lapse unused; a failed reservation is moot by now.
                self.refill.cancel()
                self.refill.add_done_callback(lambda t: t.cancelled() or t.exception())
            self.answers.put_nowait(None)
            if self.failed.is_set():
                # Nothing more goes out; whatever was prepared goes back to the plan.
                while not self.prepared.empty():
                    rest = self.prepared.get_nowait()
                    if rest is not None:
                        self.room.release()
                        self.unsent += rest
                await self._release(self.unsent)

    async def _send(self, request: SendRequest, gate: asyncio.Semaphore) -> None:
        try:
            # One send at a time takes a slot, and goes straight from the check that its slot is
            # still usable into the client, with no await in between that could make it late.
            async with self.slot_lock:
                if self.failed.is_set():
                    self.unsent.append(request)
                    return
                try:
                    await self._take_slot()
                except Exception as exc:
                    self._fail(exc)
                    self.unsent.append(request)
                    return
                self.unlaunched -= 1
            await self._call(request)
        finally:
            gate.release()

    async def _take_slot(self) -> None:
        """Waits for this worker's next slot that is still usable, and spends it.

        Slots come in blocks from the shared clock; the next block is reserved in the background
        while the current one still has half a block left, so that sending never waits for it.
        """
        pace = self.s.pace
        while True:
            more = self.unlaunched > len(self.slots) or self.claiming or not self.prepared.empty()
            if self.refill is None and more and len(self.slots) <= pace.block // 2:
                self.refill = asyncio.create_task(self.s.reserve(pace.block))
            if not self.slots:
                assert self.refill is not None
                self.slots.extend(await self.refill)
                self.refill = None
                continue
            if self.refill is not None and self.refill.done():
                self.slots.extend(self.refill.result())
                self.refill = None
            slot = self.slots[0]
            if slot < self.s.paused_until:
                # Meta said too fast: sit out the pause; the slots meanwhile lapse below.
                await asyncio.sleep(self.s.paused_until - self.s.seconds())
                self.slots.clear()
                continue
            wait = slot - self.s.seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            self.slots.popleft()
            if pace.usable(slot, self.s.seconds()):
                return
            self.report.lapsed += 1
            # Missed by more than the tolerance (this loop was busy): going now could add to a
            # window that other workers fill on time, so that slot is given up.

    async def _call(self, request: SendRequest) -> None:
        try:
            result = await self.s.call(request)
        except CloudAPIError as error:
            self.report.errors += 1
            log.warning(
                "send failed",
                extra={
                    "outbox_id": request.outbox_id,
                    "code": error.code,
                    "disposition": str(error.disposition),
                },
            )
            if error.code in THROUGHPUT_ERRORS:
                pause = min(error.retry_after or 1.0, MAX_PAUSE_SECONDS)
                until = self.s.seconds() + pause
                self.s.paused_until = max(self.s.paused_until, until)
                self.pause_to_record = max(self.pause_to_record or until, until)
            self.answers.put_nowait(SendOutcome(request, error=error))
        except Exception as exc:
            # Not an answer from Meta: the request may or may not have left, so it is never
            # sent again blindly (reconciled from status webhooks instead).
            self.report.errors += 1
            log.exception("send crashed", extra={"outbox_id": request.outbox_id})
            unknown = TransientError(f"{type(exc).__name__}: {exc}", outcome_unknown=True)
            self.answers.put_nowait(SendOutcome(request, error=unknown))
        else:
            self.report.sent += 1
            self.answers.put_nowait(SendOutcome(request, wamid=result.wamid))

    async def _release(self, requests: list[SendRequest]) -> None:
        if not requests:
            return
        try:
            async with self.s._maker() as session:
                await prepare.release(session, [r.outbox_id for r in requests], now=self.moment())
                await session.commit()
        except Exception as exc:
            # They stay "sending" and their lease reconciles them; never sent twice either way.
            log.error(
                "could not release unsent follow-ups",
                extra={"count": len(requests), "error": type(exc).__name__},
            )

    # -- stage 3: record the answers ---------------------------------------------------------

    async def _record(self) -> None:
        limit = self.s._batch
        done = False
        try:
            while not done:
                first = await self.answers.get()
                if first is None:
                    return
                if self.answers.qsize() < limit:
                    await asyncio.sleep(RECORD_LINGER_SECONDS)
                group = [first]
                while len(group) < limit and not self.answers.empty():
                    answer = self.answers.get_nowait()
                    if answer is None:
                        done = True
                        break
                    group.append(answer)
                await self._record_group(group)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # Sent but unrecorded rows stay "sending"; their lease reconciles them from the
            # status webhooks.
            self._fail(exc)
            raise

    async def _record_group(self, group: list[SendOutcome]) -> None:
        s = self.s
        for attempt in range(RECORD_ATTEMPTS):
            try:
                async with s._maker() as session:
                    await outcomes.record_batch(
                        session, group, now=self.moment(), ruleset=s._ruleset, rng=s._rng
                    )
                    if self.pause_to_record is not None:
                        await claim.pause_slots(
                            session, number=s.number, until=self.pause_to_record
                        )
                    await session.commit()
                self.pause_to_record = None
                return
            except DBAPIError as exc:
                # A deadlock victim or a busy SQLite writer: the whole group is retried, nothing
                # of it was written.
                if attempt + 1 == RECORD_ATTEMPTS:
                    raise
                log.warning(
                    "recording sends failed, retrying",
                    extra={"error": type(exc).__name__, "attempt": attempt + 1},
                )
                await asyncio.sleep(0.05 * 2**attempt)


class SendLoop(PeriodicJob):
    """`worker`: run_once on the clock every few seconds until stopped."""

    name = "send pass"

    def __init__(self, sender: Sender, *, every_seconds: float = 5.0) -> None:
        super().__init__(every_seconds=every_seconds)
        self._sender = sender

    async def step(self) -> None:
        report = await self._sender.run_once()
        if report.claimed or report.planned:
            log.info("send pass", extra=vars(report))
