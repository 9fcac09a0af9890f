"""The one claim statement: due planned follow-ups become "sending" under a lease, atomically;
and the send clock, from which every worker reserves its send slots.

PostgreSQL: FOR UPDATE SKIP LOCKED lets any number of workers claim at once without ever taking
the same row; SQLite drops the lock clause and its single writer serialises the claimers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.upsert import insert_ignore
from app.scheduling.models import OutboxItem
from app.sending.models import SendClock

# A clock standing further ahead than this was moved by a skewed or rewound worker clock (no
# legitimate backlog or pause reaches it): the next reservation starts again from now.
CLOCK_HORIZON_SECONDS = 300.0


async def claim(session: AsyncSession, *, now: datetime, lease: timedelta, limit: int) -> list[int]:
    due = (
        select(OutboxItem.id)
        .where(OutboxItem.state == "planned", OutboxItem.not_before <= now)
        .order_by(OutboxItem.not_before, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(due), OutboxItem.state == "planned")
        .values(
            state="sending",
            claimed_until=now + lease,
            attempts=OutboxItem.attempts + 1,
            updated_at=now,
        )
        .returning(OutboxItem.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(row[0] for row in claimed)


async def expired_leases(
    session: AsyncSession, *, now: datetime, limit: int = 500
) -> list[OutboxItem]:
    """Sends claimed by a worker that never finished (it crashed, or the call hung)."""
    rows = await session.scalars(
        select(OutboxItem)
        .where(OutboxItem.state == "sending", OutboxItem.claimed_until < now)
        .order_by(OutboxItem.claimed_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def reserve_slots(
    session: AsyncSession, *, number: str, count: int, interval: float, now: float
) -> float:
    """Reserves `count` consecutive send slots of `number`; returns the end of the block.

    One UPDATE … RETURNING: the row lock (PostgreSQL) or the writer lock (SQLite) makes each
    block follow the previous one without overlap, whichever process reserved it. A clock left
    behind `now` restarts at `now`: idle time is not saved up for a burst.
    """
    clock = SendClock.__table__.c
    start = case(
        (
            and_(clock.next_slot > now, clock.next_slot <= now + CLOCK_HORIZON_SECONDS),
            clock.next_slot,
        ),
        else_=literal(now),
    )
    moved = (
        update(SendClock)
        .where(clock.phone_number_id == number)
        .values(next_slot=start + count * interval)
        .returning(clock.next_slot)
        .execution_options(synchronize_session=False)
    )
    end = (await session.execute(moved)).scalar_one_or_none()
    if end is None:
        await session.execute(
            insert_ignore(session, SendClock).values(phone_number_id=number, next_slot=now)
        )
        end = (await session.execute(moved)).scalar_one()
    return float(end)


async def pause_slots(session: AsyncSession, *, number: str, until: float) -> None:
    """No slot of `number` is handed out before `until` (Meta said 130429: too fast)."""
    clock = SendClock.__table__.c
    await session.execute(
        update(SendClock)
        .where(clock.phone_number_id == number, clock.next_slot < until)
        .values(next_slot=until)
        .execution_options(synchronize_session=False)
    )
