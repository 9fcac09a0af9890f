"""The one claim statement: due planned follow-ups become "sending" under a lease, atomically;
and the send clock, from which every worker reserves its send slots.

PostgreSQL: FOR UPDATE SKIP LOCKED lets any number of workers claim at once without ever taking
the same row; SQLite drops the lock clause and its single writer serialises the claimers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BindParameter, Double, String, Update, and_, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.upsert import insert_ignore
from app.scheduling.models import OutboxItem
from app.sending.models import SendClock

# A clock standing further ahead than this was moved by a skewed or rewound worker clock (no
# legitimate backlog or pause reaches it): the next reservation starts again from now.
CLOCK_HORIZON_SECONDS = 300.0


async def claim(session: AsyncSession, *, now: datetime, lease: timedelta, limit: int) -> list[int]:
    # Two statements rather than UPDATE … WHERE id IN (SELECT … SKIP LOCKED): PostgreSQL plans
    # that form as a join against every planned row (a hash join over a sequential scan, or a
    # nested loop when its statistics lag), so each claim cost grew with the backlog. Looking up
    # the locked ids by primary key costs the same at any backlog. Oldest due first, ties in no
    # particular order: a tie-breaking column would make PostgreSQL sort every due row instead
    # of walking ix_outbox_due up to the limit.
    due = await session.scalars(
        select(OutboxItem.id)
        .where(OutboxItem.state == "planned", OutboxItem.not_before <= now)
        .order_by(OutboxItem.not_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(due)
    if not ids:
        return []
    claimed = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id.in_(ids), OutboxItem.state == "planned")
        .values(
            state="sending",
            claimed_until=now + lease,
            attempts=OutboxItem.attempts + 1,
            updated_at=now,
            # Reserves the send under the caps from here on (every row write costs, and this
            # one is paid anyway); prepare.prepare_batch() clears it for the ones it holds back.
            sent_at=now,
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


def _reservation() -> Update:
    clock = SendClock.__table__.c
    now: BindParameter[float] = bindparam("now", type_=Double())
    start = case(
        (
            and_(clock.next_slot > now, clock.next_slot <= bindparam("horizon", type_=Double())),
            clock.next_slot,
        ),
        else_=now,
    )
    return (
        update(SendClock)
        .where(clock.phone_number_id == bindparam("number", type_=String()))
        .values(next_slot=start + bindparam("length", type_=Double()))
        .returning(clock.next_slot)
        .execution_options(synchronize_session=False)
    )


# Built once: a worker reserves a block every few hundredths of a second at high caps.
_RESERVE = _reservation()


async def reserve_slots(
    session: AsyncSession, *, number: str, count: int, interval: float, now: float
) -> float:
    """Reserves `count` consecutive send slots of `number`; returns the end of the block.

    One UPDATE … RETURNING: the row lock (PostgreSQL) or the writer lock (SQLite) makes each
    block follow the previous one without overlap, whichever process reserved it. A clock left
    behind `now` restarts at `now`: idle time is not saved up for a burst.
    """
    params = {
        "number": number,
        "now": now,
        "horizon": now + CLOCK_HORIZON_SECONDS,
        "length": count * interval,
    }
    end = (await session.execute(_RESERVE, params)).scalar_one_or_none()
    if end is None:
        await session.execute(
            insert_ignore(session, SendClock).values(phone_number_id=number, next_slot=now)
        )
        end = (await session.execute(_RESERVE, params)).scalar_one()
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
