"""The inbox: group-committed writes of raw webhook bodies, and the processor that drains them.

Each request's body is queued; the writer inserts everything queued so far in a single
transaction and only then wakes the waiting requests, so many concurrent webhooks share one
commit (one fsync) and every 200 still means "durable". The processor turns stored rows into
contacts and messages, in this process right after the commit and again on a sweep, so a crash
between "stored" and "processed" only delays the work; while the webhook is saturated it stands
back, because acknowledging cannot wait and processing can.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import Clock
from app.db.upsert import insert_ignore
from app.errors import is_database_outage
from app.tagging.service import Tagging
from app.webhook import service
from app.webhook.models import InboundEvent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Bodies already waiting when a commit ends: that many means requests arrive faster than
# batches commit, i.e. the webhook is saturated.
SATURATED_BACKLOG = 8
SATURATION_HOLD_SECONDS = 1.0
# While it is, processing keeps about this share of the time, and at least a small batch a second:
# it never stops, and catches up at full speed within a second of the burst ending.
BUSY_SHARE = 0.05
MAX_REST_SECONDS = 1.0


class InboxUnavailable(Exception):
    """The body could not be made durable; the caller must not acknowledge it."""


@dataclass(slots=True)
class _Pending:
    body: bytes
    sha256: str
    received_at: datetime
    done: asyncio.Future[None]


class InboxWriter:
    """Group commit: each batch is everything that arrived while the previous one was committing.

    On PostgreSQL two batches may be in flight on separate connections, so one fills while the
    other waits for its fsync; SQLite has a single writer lock, a second batch would only queue
    behind it.
    """

    def __init__(self, engine: AsyncEngine, clock: Clock, *, max_batch: int = 1000) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._postgres = engine.dialect.name == "postgresql"
        # asyncpg runs an executemany outside a transaction block as one implicit transaction,
        # atomic and committed (synchronous_commit on) before it returns: one round trip instead
        # of BEGIN, INSERT, COMMIT, each of which waits its turn on a busy event loop.
        self._one_shot = engine.execution_options(isolation_level="AUTOCOMMIT")
        # A list and an event rather than asyncio.Queue: the writer always takes everything.
        self._pending: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(2 if self._postgres else 1)
        self._writes: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.on_commit: Callable[[int], None] = lambda backlog: None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            # The loop only waits for work or a free slot; transactions run in their own tasks.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # Cancelling a driver call mid-flight is unsafe (aiosqlite calls back into a closed
        # loop), so batches already sent finish and their requests get a true answer.
        await asyncio.gather(*self._writes, return_exceptions=True)
        _settle(self._pending, InboxUnavailable("shutting down"))
        self._pending.clear()

    async def store(self, body: bytes) -> None:
        """Returns once `body` is committed; raises InboxUnavailable if it could not be."""
        if self._task is None or self._task.done():
            raise InboxUnavailable("inbox writer is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        digest = hashlib.sha256(body).hexdigest()
        self._pending.append(_Pending(body, digest, self._clock.now(), done))
        self._arrived.set()
        await done

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._pending:
                await self._slots.acquire()
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                task = asyncio.create_task(self._commit(batch), name="inbox-commit")
                self._writes.add(task)
                task.add_done_callback(self._writes.discard)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            await self._write(batch)
        except Exception as exc:
            log.error(
                "inbox write failed",
                extra={"bodies": len(batch), "error": type(exc).__name__, "detail": str(exc)[:300]},
            )
            _settle(batch, InboxUnavailable(type(exc).__name__))
        else:
            # What already waits for the next commit tells the processor how busy ingestion is.
            self.on_commit(len(self._pending))
            _settle(batch, None)
        finally:
            self._slots.release()

    async def _write(self, batch: list[_Pending]) -> None:
        rows = [
            {"body_sha256": p.sha256, "body": p.body, "received_at": p.received_at, "attempts": 0}
            for p in batch
        ]
        for attempt in (1, 2):
            try:
                if self._postgres:
                    async with self._one_shot.connect() as conn:
                        await conn.execute(insert_ignore(conn, InboundEvent), rows)
                else:
                    async with self._engine.begin() as conn:
                        await conn.execute(insert_ignore(conn, InboundEvent), rows)
                return
            except DBAPIError as exc:
                # A pooled connection that died with a restarted server: one fresh try, then give up.
                if attempt == 2 or not exc.connection_invalidated:
                    raise


def _settle(batch: list[_Pending], error: Exception | None) -> None:
    for pending in batch:
        if pending.done.done():
            continue
        if error is None:
            pending.done.set_result(None)
        else:
            pending.done.set_exception(error)


class InboxProcessor:
    """Drains unprocessed inbox rows. Safe to run in every replica and worker at once."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        sweep_seconds: float = 5.0,
        batch_size: int = 100,
        tagging: Tagging | None = None,
    ) -> None:
        self._maker = maker
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._batch_size = batch_size
        self._tagging = tagging
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._saturated_until = 0.0
        self._task: asyncio.Task[None] | None = None

    def notify(self, backlog: int = 0) -> None:
        """Rows were committed; `backlog` bodies were already waiting for the next commit."""
        if backlog >= SATURATED_BACKLOG:
            self._saturated_until = self._clock.monotonic() + SATURATION_HOLD_SECONDS
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self.notify()  # sweep what a previous run left behind
        self._task = asyncio.create_task(self._run(), name="inbox-processor")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the batch in hand finish (a cancelled driver call would outlive the loop), then end."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_idle(self) -> None:
        """Until everything committed so far has been processed (tests and graceful shutdown)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._sweep_seconds)
            self._wake.clear()
            if self._stopping:
                return
            try:
                while not self._stopping and await self._paced_batch():
                    pass
            except Exception as exc:
                # The database is down or a bug surfaced: rows stay pending, the next sweep retries.
                log.error(
                    "inbox processing paused",
                    extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
                )
                if not is_database_outage(exc):
                    log.exception("unexpected processing failure")
                await asyncio.sleep(min(self._sweep_seconds, 1.0))
                continue
            if not self._wake.is_set():
                self._idle.set()

    async def _paced_batch(self) -> int:
        if self._clock.monotonic() >= self._saturated_until:
            return await self.process_batch()
        # Small batches, since SQLite's writer lock is held for a whole one, then a rest that
        # leaves the CPU (and that lock) to the webhook.
        started = self._clock.monotonic()
        claimed = await self.process_batch(limit=max(1, self._batch_size // 10))
        rest = (self._clock.monotonic() - started) * (1 - BUSY_SHARE) / BUSY_SHARE
        await asyncio.sleep(min(rest, MAX_REST_SECONDS))
        return claimed

    async def process_batch(self, limit: int | None = None) -> int:
        """Claim and process up to `limit` (default batch_size) pending rows; returns how many."""
        async with self._maker() as session:
            events = list(
                (
                    await session.scalars(
                        select(InboundEvent)
                        .where(
                            InboundEvent.processed_at.is_(None),
                            InboundEvent.attempts < MAX_ATTEMPTS,
                        )
                        .order_by(InboundEvent.id)
                        .limit(limit or self._batch_size)
                        # Replicas skip rows another one holds; SQLite's writer lock serialises instead.
                        .with_for_update(skip_locked=True)
                    )
                ).all()
            )
            if not events:
                await session.rollback()
                return 0
            # Read before anything can fail: a rollback expires the loaded rows.
            claimed = [event.id for event in events]
            outcomes: list[service.Outcome] = []
            try:
                for event in events:
                    outcomes.append(
                        await service.process_event(
                            session, event, now=self._clock.now(), tagging=self._tagging
                        )
                    )
                await session.commit()
            except Exception as exc:
                await session.rollback()
                if is_database_outage(exc):
                    raise
                # One bad body must not block the rest: retry one by one to find and mark it.
                outcomes = await self._one_by_one(claimed)
        return len(events)

    async def _one_by_one(self, ids: list[int]) -> list[service.Outcome]:
        outcomes = []
        for event_id in ids:
            async with self._maker() as session:
                event = (
                    await session.scalars(
                        select(InboundEvent)
                        .where(InboundEvent.id == event_id, InboundEvent.processed_at.is_(None))
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if event is None:
                    continue
                try:
                    outcomes.append(
                        await service.process_event(
                            session, event, now=self._clock.now(), tagging=self._tagging
                        )
                    )
                    await session.commit()
                    continue
                except Exception as exc:
                    await session.rollback()
                    if is_database_outage(exc):
                        raise
                    error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.error(
                        "webhook processing failed",
                        extra={"inbound_event_id": event_id, "error": error[:300]},
                    )
                await session.execute(
                    update(InboundEvent)
                    .where(InboundEvent.id == event_id)
                    .values(attempts=InboundEvent.attempts + 1, last_error=error)
                )
                await session.commit()
        return outcomes
