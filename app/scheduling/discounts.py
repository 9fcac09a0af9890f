"""Discount codes: a pool per offer (imported from CSV or generated), one code per contact and
offer, never reused; redemption is recorded from purchases."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.upsert import insert_ignore
from app.errors import BadRequest
from app.scheduling.models import DiscountCode

# No 0/O or 1/I/L: codes are typed by people from a chat bubble.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def generate_codes(prefix: str, length: int, count: int) -> list[str]:
    if not 4 <= length <= 15 - len(prefix):
        raise BadRequest("prefix + random part must fit WhatsApp's 15-character coupon code")
    return [prefix + "".join(secrets.choice(ALPHABET) for _ in range(length)) for _ in range(count)]


async def add_codes(session: AsyncSession, *, offer: str, codes: list[str], now: datetime) -> int:
    """Adds codes to the offer's pool; codes seen before (in any offer) are skipped."""
    clean = [c.strip() for c in codes if c.strip()]
    bad = [c for c in clean if len(c) > 15 or not c.isalnum()]
    if bad:
        raise BadRequest(f"codes must be 1-15 letters or digits: {bad[:5]}")
    if not clean:
        return 0
    before = await _count(session, offer)
    await session.execute(
        insert_ignore(session, DiscountCode),
        [{"code": c, "offer": offer, "created_at": now} for c in clean],
    )
    return await _count(session, offer) - before


def read_csv(text: str) -> list[str]:
    """The first column of each row, skipping a header named code."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and rows[0][0].strip().lower() == "code":
        rows = rows[1:]
    return [row[0] for row in rows]


async def assign(
    session: AsyncSession, *, contact_id: int, offer: str, valid_hours: float, now: datetime
) -> DiscountCode:
    """The contact's code for this offer: the one it has, or a fresh one from the pool (or
    generated when the pool is empty). Never handed to anyone else afterwards."""
    mine = (
        await session.scalars(
            select(DiscountCode).where(
                DiscountCode.contact_id == contact_id, DiscountCode.offer == offer
            )
        )
    ).first()
    if mine is not None:
        return mine
    free = (
        await session.scalars(
            select(DiscountCode)
            .where(DiscountCode.offer == offer, DiscountCode.contact_id.is_(None))
            .order_by(DiscountCode.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if free is None:
        free = DiscountCode(code=generate_codes("", 10, 1)[0], offer=offer, created_at=now)
        session.add(free)
    free.contact_id = contact_id
    free.assigned_at = now
    free.valid_until = now + timedelta(hours=valid_hours)
    await session.flush()
    return free


async def redeem(
    session: AsyncSession, *, code: str, contact_id: int, order_id: str, now: datetime
) -> DiscountCode:
    row = (await session.scalars(select(DiscountCode).where(DiscountCode.code == code))).first()
    if row is None or row.contact_id != contact_id:
        raise BadRequest(f"discount code {code!r} was not given to this contact")
    if row.redeemed_at is not None and row.order_id != order_id:
        raise BadRequest(f"discount code {code!r} was already redeemed")
    if row.valid_until is not None and row.valid_until < now and row.redeemed_at is None:
        raise BadRequest(f"discount code {code!r} expired at {row.valid_until.isoformat()}")
    row.redeemed_at = row.redeemed_at or now
    row.order_id = order_id
    await session.flush()
    return row


async def _count(session: AsyncSession, offer: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(DiscountCode).where(DiscountCode.offer == offer)
        )
        or 0
    )
