"""/contacts routes: a contact by wa_id or user_id, and its conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import service
from app.contacts.models import Contact
from app.contacts.preferences_note import Preferences, render_note
from app.contacts.schemas import (
    ContactRead,
    MessagePage,
    MessageRead,
    PreferencesRead,
    PreferencesUpdate,
    PurchaseCreate,
    PurchaseRead,
    StatusRead,
    TagsRead,
)
from app.deps import AgentDep, ClockDep, SessionDep, TaggingDep
from app.tagging import rules
from app.tagging import service as tagging_service
from app.tagging.service import Tagging

router = APIRouter(prefix="/contacts", tags=["contacts"])

IdentifierPath = Annotated[
    str,
    Path(
        description="The phone-number wa_id (digits, '+' optional) or the business-scoped user_id",
        examples=["16505551234", "US.13491208655302741918"],
        max_length=256,
    ),
]


def tags_read(contact: Contact, tags: rules.Tags) -> TagsRead:
    return TagsRead(
        **{d: tags.get(d) for d in rules.SCALAR_DIMENSIONS},
        **{d: sorted(tags.get(d) or ()) for d in rules.SET_DIMENSIONS},
        source=contact.source,
    )


async def to_read(
    session: AsyncSession, contact: Contact, *, now: datetime, tagging: Tagging
) -> ContactRead:
    purchases = await tagging_service.purchases_of(session, contact) if contact.spend_tier else []
    tags = tagging_service.view(contact, purchases, now=now, ruleset=tagging.ruleset)
    prefs = Preferences.from_dict(contact.preferences or {})
    return ContactRead(
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        name=contact.name,
        username=contact.username,
        phone_e164=contact.phone_e164,
        country=contact.country,
        calling_code=contact.calling_code,
        timezone=contact.timezone,
        area=contact.area,
        language=contact.language,
        opted_out=contact.opted_out,
        first_seen_at=contact.first_seen_at,
        last_inbound_at=contact.last_inbound_at,
        tags=tags_read(contact, tags),
        locked={
            k: (datetime.fromisoformat(v) if v else None)
            for k, v in (contact.tag_locks or {}).items()
        },
        preferences={**prefs.to_dict(), "note": render_note(prefs)},
    )


@router.get("/{identifier}", response_model=ContactRead)
async def read_contact(
    identifier: IdentifierPath,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
) -> ContactRead:
    """The contact with its tags as of now (time rules applied) and preferences."""
    return await to_read(
        session,
        await service.get(session, identifier, viewer=principal),
        now=clock.now(),
        tagging=tagging,
    )


@router.get("/{identifier}/messages", response_model=MessagePage)
async def read_messages(
    identifier: IdentifierPath,
    session: SessionDep,
    principal: AgentDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, description="cursor from next_before")] = None,
) -> MessagePage:
    contact = await service.get(session, identifier, viewer=principal)
    rows = await service.messages_of(session, contact, limit=limit, before_id=before)
    items = [
        MessageRead(
            wamid=m.wamid,
            direction=m.direction,
            type=m.type,
            text=m.text,
            sent_at=m.sent_at,
            status=m.status,
            context_wamid=m.context_wamid,
            statuses=[
                StatusRead(status=s.status, at=s.status_at, error_code=s.error_code) for s in st
            ],
            payload=m.payload,
        )
        for m, st in rows
    ]
    next_before = min(m.id for m, _ in rows) if len(rows) == limit else None
    return MessagePage(items=items, next_before=next_before)


@router.post(
    "/{identifier}/purchases",
    response_model=PurchaseRead,
    status_code=201,
    responses={
        200: {
            "description": "This order_id was recorded before; nothing changed.",
            "model": PurchaseRead,
            "content": {
                "application/json": {
                    "example": {
                        "order_id": "SO-10042",
                        "amount": "129.90",
                        "currency": "EUR",
                        "items": [{"sku": "PB-20000", "category": "3c", "quantity": 1}],
                        "purchased_at": "2026-11-23T09:30:00Z",
                        "created": False,
                    }
                }
            },
        }
    },
)
async def record_purchase(
    identifier: IdentifierPath,
    body: PurchaseCreate,
    response: Response,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
) -> PurchaseRead:
    """Record an order: feeds spend tier, purchase frequency, lifecycle and conversion."""
    contact = await service.get_for_update(session, identifier, viewer=principal)
    row, created = await service.record_purchase(
        session, contact, body, now=clock.now(), tagging=tagging
    )
    if not created:
        response.status_code = 200
    return PurchaseRead(
        order_id=row.order_id,
        amount=row.amount,
        currency=row.currency,
        items=row.items,
        purchased_at=row.purchased_at,
        created=created,
    )


@router.patch("/{identifier}/preferences", response_model=PreferencesRead)
async def update_preferences(
    identifier: IdentifierPath, body: PreferencesUpdate, session: SessionDep, principal: AgentDep
) -> PreferencesRead:
    """Window, quiet hours, format, weekly cap and passive flag, or a one-line note such as
    `Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week`."""
    contact = await service.get_for_update(session, identifier, viewer=principal)
    prefs = await service.update_preferences(session, contact, body)
    return PreferencesRead(preferences=prefs.to_dict(), note=render_note(prefs))
