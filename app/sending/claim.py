"""The one claim statement: due planned follow-ups become "sending" under a lease, atomically.

PostgreSQL: FOR UPDATE SKIP LOCKED lets any number of workers claim at once without ever taking
the same row; SQLite drops the lock clause and its single writer serialises the claimers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.scheduling.models import OutboxItem


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
