"""/contacts routes: a contact by wa_id or user_id, and its conversation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.contacts import service
from app.contacts.models import Contact
from app.contacts.schemas import ContactRead, MessagePage, MessageRead, StatusRead, TagsRead
from app.deps import AgentDep, SessionDep

router = APIRouter(prefix="/contacts", tags=["contacts"])

IdentifierPath = Annotated[
    str,
    Path(
        description="The phone-number wa_id (digits, '+' optional) or the business-scoped user_id",
        examples=["16505551234", "US.13491208655302741918"],
        max_length=256,
    ),
]


def to_read(contact: Contact) -> ContactRead:
    return ContactRead(
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        name=contact.name,
        username=contact.username,
        phone_e164=contact.phone_e164,
        country=contact.country,
        timezone=contact.timezone,
        area=contact.area,
        language=contact.language,
        opted_out=contact.opted_out,
        first_seen_at=contact.first_seen_at,
        last_inbound_at=contact.last_inbound_at,
        tags=TagsRead(source=contact.source),
    )


@router.get("/{identifier}", response_model=ContactRead)
async def read_contact(identifier: IdentifierPath, session: SessionDep, _: AgentDep) -> ContactRead:
    return to_read(await service.get(session, identifier))


@router.get("/{identifier}/messages", response_model=MessagePage)
async def read_messages(
    identifier: IdentifierPath,
    session: SessionDep,
    _: AgentDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, description="cursor from next_before")] = None,
) -> MessagePage:
    contact = await service.get(session, identifier)
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
