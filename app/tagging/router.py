"""Tag routes: the event log, setting a tag by hand (locks it), unlocking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.contacts import service as contacts
from app.contacts.router import IdentifierPath, to_read
from app.contacts.schemas import ContactRead
from app.deps import AgentDep, ClockDep, SessionDep, TaggingDep
from app.tagging import service
from app.tagging.schemas import TagEventPage, TagEventRead, TagSet

router = APIRouter(prefix="/contacts", tags=["tags"])

DimensionPath = Annotated[
    str,
    Path(
        description="activity, intent, status, lifecycle, engagement, spend_tier, purchase_frequency, interests, categories, windows or language",
        examples=["status", "interests"],
    ),
]


@router.get("/{identifier}/tag-events", response_model=TagEventPage)
async def tag_events(
    identifier: IdentifierPath,
    session: SessionDep,
    principal: AgentDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> TagEventPage:
    """The contact's tag changes, newest first, each with its rule and evidence."""
    contact = await contacts.get(session, identifier, viewer=principal)
    events = await service.events_of(session, contact, limit=limit, before_id=before)
    items = [
        TagEventRead(
            id=e.id,
            dimension=e.dimension,
            old_value=e.old_value,
            new_value=e.new_value,
            rule=e.rule,
            evidence=e.evidence or {},
            trigger=e.trigger,
            at=e.at,
        )
        for e in events
    ]
    return TagEventPage(items=items, next_before=items[-1].id if len(items) == limit else None)


@router.put("/{identifier}/tags/{dimension}", response_model=ContactRead)
async def set_tag(
    identifier: IdentifierPath,
    dimension: DimensionPath,
    body: TagSet,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
) -> ContactRead:
    """Set a tag by hand. It is locked against automatic change until `locked_until` or unlocked."""
    contact = await contacts.get_for_update(session, identifier, viewer=principal)
    now = clock.now()
    await service.set_manual(
        session,
        contact,
        dimension=dimension,
        value=body.value,
        until=body.locked_until,
        by=principal.name,
        now=now,
        ruleset=tagging.ruleset,
    )
    return await to_read(session, contact, now=now, tagging=tagging)


@router.delete("/{identifier}/tags/{dimension}/lock", response_model=ContactRead)
async def unlock_tag(
    identifier: IdentifierPath,
    dimension: DimensionPath,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
) -> ContactRead:
    """Hand the dimension back to the rules (they run at once)."""
    contact = await contacts.get_for_update(session, identifier, viewer=principal)
    now = clock.now()
    await service.unlock(session, contact, dimension=dimension, now=now, ruleset=tagging.ruleset)
    return await to_read(session, contact, now=now, tagging=tagging)
