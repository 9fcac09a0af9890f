"""Rows for report tests, inserted directly: contacts with given tags, purchases, red events."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Purchase
from app.tagging.models import TagEvent
from tests.conftest import START

_numbers = itertools.count(1)


async def make_contact(session: AsyncSession, **over: Any) -> Contact:
    n = next(_numbers)
    values: dict[str, Any] = {
        "wa_id": f"49151{n:08d}",
        "name": f"Contact {n}",
        "first_seen_at": START,
    }
    values.update(over)
    contact = Contact(**values)
    session.add(contact)
    await session.flush()
    return contact


async def make_purchase(session: AsyncSession, contact: Contact, at: datetime) -> Purchase:
    purchase = Purchase(
        contact_id=contact.id,
        order_id=f"order-{next(_numbers)}",
        amount=Decimal("49.90"),
        currency="EUR",
        purchased_at=at,
        recorded_at=at,
    )
    session.add(purchase)
    await session.flush()
    return purchase


async def make_red(
    session: AsyncSession,
    contact: Contact,
    at: datetime,
    *,
    rule: str = "status.high_intent",
    phrases: list[str] | None = None,
) -> TagEvent:
    event = TagEvent(
        contact_id=contact.id,
        dimension="status",
        old_value="yellow",
        new_value="red",
        rule=rule,
        evidence={"message_id": 1, "phrases": phrases or []},
        trigger="event",
        at=at,
    )
    session.add(event)
    await session.flush()
    return event
