"""/queues routes: today's work for an agent (or the team), and marking items done or snoozed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.service import Principal
from app.agents import service as agents
from app.contacts import service as contacts
from app.contacts.models import Contact
from app.contacts.router import IdentifierPath, tags_read
from app.deps import AgentDep, ClockDep, SessionDep, TaggingDep
from app.errors import Forbidden
from app.queue import priority, service
from app.queue.items import facts_of
from app.queue.schemas import (
    ActionRead,
    DoneBody,
    ItemState,
    MessageRef,
    QueueItem,
    QueuePage,
    Reason,
    SnoozeBody,
)
from app.tagging.ruleset import Queue
from app.tagging.service import tags_of

router = APIRouter(prefix="/queues", tags=["queue"])

WINDOW = timedelta(hours=24)  # WhatsApp's customer service window


async def _scope(
    session: AsyncSession, principal: Principal, agent: str | None, timezone: str | None
) -> tuple[int | None, str | None, str]:
    """Whose queue, and in which time zone its day is counted."""
    if agent is None and not principal.is_admin:
        agent = principal.name
    if agent is None:
        return None, None, agents.check_timezone(timezone or "UTC")
    if not principal.is_admin and agent != principal.name:
        raise Forbidden("agents see their own queue only")
    account = await agents.get(session, agent)
    return account.id, account.name, agents.check_timezone(timezone or account.timezone)


@router.get("/today", response_model=QueuePage)
async def today(
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
    agent: Annotated[
        str | None,
        Query(description="an agent's name; agents get their own queue, admins the team's"),
    ] = None,
    day: Annotated[
        date | None,
        Query(alias="date", description="the day in the agent's time zone; default today"),
    ] = None,
    status: Annotated[
        list[str] | None,
        Query(description="colours to include: red, orange, yellow, green, grey (repeat or comma)"),
    ] = None,
    tag: Annotated[
        str | None,
        Query(
            description="only contacts with this tag: dimension:value (interests:discount_sensitive,"
            " categories:3c, country:DE) or a value of one dimension (discount_sensitive)",
            max_length=200,
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        Query(description="count the day in this IANA zone instead of the agent's"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> QueuePage:
    """The day's work, most urgent first: red with the nearest deadline, then orange, yellow,
    green; grey only when something is due. Overdue items (from earlier days too) come first
    within their colour, since they are due earliest."""
    now = clock.now()
    agent_id, agent_name, zone = await _scope(session, principal, agent, timezone)
    the_day = day or now.astimezone(ZoneInfo(zone)).date()
    _, until = service.day_bounds(the_day, zone)
    found = await service.page(
        session,
        agent_id=agent_id,
        until=until,
        statuses=service.parse_statuses(status or []),
        tag=service.parse_tag(tag) if tag else None,
        after=service.Cursor.decode(cursor) if cursor else None,
        limit=limit,
    )
    ctx = await service.context_for(session, found)
    rules = tagging.ruleset.queue
    last = found[-1] if len(found) == limit else None
    return QueuePage(
        date=the_day,
        timezone=zone,
        agent=agent_name,
        generated_at=now,
        items=[_item(c, ctx, rules, now) for c in found],
        next_cursor=(
            service.Cursor(last.queue_rank, last.queue_due_at, last.id).encode()
            if last is not None and last.queue_rank is not None and last.queue_due_at is not None
            else None
        ),
    )


def _item(contact: Contact, ctx: service.Context, rules: Queue, now: datetime) -> QueueItem:
    assert contact.status is not None
    assert contact.queue_due_at is not None
    facts = facts_of(contact)
    kind = contact.queue_kind or priority.REMINDER
    item = priority.Item(contact.queue_rank or 0, contact.queue_due_at, kind)
    colour = rules.colour(contact.status)
    planned = ctx.planned.get(contact.id)
    inbound_at = contact.last_inbound_at
    window_open = inbound_at is not None and now < inbound_at + WINDOW
    return QueueItem(
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        name=contact.name,
        agent=ctx.agents.get(contact.agent_id) if contact.agent_id else None,
        status=contact.status,
        tags=tags_read(contact, tags_of(contact)),
        kind=kind,
        reason=_reason(contact, kind, ctx, rules),
        due_at=contact.queue_due_at,
        deadline_at=priority.deadline_of(item, facts, rules),
        overdue=contact.queue_due_at < now,
        action=colour.action if colour else "Review the contact",
        template=planned.template if planned else None,
        planned_send_at=planned.not_before if planned else None,
        window_open=window_open,
        window_closes_at=inbound_at + WINDOW if window_open and inbound_at else None,
        needs_template=not window_open,
    )


def _reason(contact: Contact, kind: str, ctx: service.Context, rules: Queue) -> Reason:
    status_event = ctx.status_events.get(contact.id)
    rule = status_event.rule if status_event else None
    evidence = dict(status_event.evidence or {}) if status_event else {}
    if kind == priority.REPLY:
        message = ctx.last_inbound.get(contact.id)
        intent_event = ctx.intent_events.get(contact.id)
        if contact.intent == "high" and intent_event is not None:
            rule, evidence = intent_event.rule, dict(intent_event.evidence or {})
        quoted = f": “{message.text[:200]}”" if message and message.text else ""
        return Reason(
            summary=f"Unanswered message{quoted}",
            rule=rule,
            evidence=evidence,
            message=MessageRef(wamid=message.wamid, text=message.text, at=message.sent_at)
            if message
            else None,
        )
    if kind == priority.NEW_STATUS:
        return Reason(
            summary=f"Now {contact.status} ({rule or 'set by hand'})", rule=rule, evidence=evidence
        )
    if kind == priority.FOLLOW_UP:
        colour = rules.colour(contact.status or "")
        every = colour.follow_up_every_hours if colour else None
        touched = max(
            t for t in (contact.last_outbound_at, contact.queue_done_at, contact.first_seen_at) if t
        )
        # The rules file may have dropped the interval since the item was stored.
        cadence = f"get a follow-up every {every:g} h" if every is not None else "are followed up"
        return Reason(
            summary=f"{contact.status} contacts {cadence}; last touch {touched:%Y-%m-%d %H:%M} UTC",
            rule=f"queue.{contact.status}.follow_up_every_hours",
            evidence={"last_touch_at": touched.isoformat(), "every_hours": every},
        )
    until = contact.queue_snoozed_until
    return Reason(
        summary=f"Snoozed until {until:%Y-%m-%d %H:%M} UTC" if until else "Reminder",
        rule="queue.snooze",
        evidence={"snoozed_until": until.isoformat() if until else None},
    )


@router.post("/items/{identifier}/done", response_model=ItemState)
async def mark_done(
    identifier: IdentifierPath,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
    body: DoneBody | None = None,
) -> ItemState:
    """The agent handled the contact: its item moves to the colour's next follow-up."""
    contact = await contacts.get_for_update(session, identifier, viewer=principal)
    await service.record(
        session,
        contact,
        action="done",
        by=principal.name,
        now=clock.now(),
        rules=tagging.ruleset.queue,
        note=body.note if body else None,
    )
    return _state(contact)


@router.post("/items/{identifier}/snooze", response_model=ItemState)
async def snooze(
    identifier: IdentifierPath,
    body: SnoozeBody,
    session: SessionDep,
    principal: AgentDep,
    clock: ClockDep,
    tagging: TaggingDep,
) -> ItemState:
    """Hide the item until a time (or for some hours); it comes back then."""
    now = clock.now()
    contact = await contacts.get_for_update(session, identifier, viewer=principal)
    until = body.until if body.until is not None else now + timedelta(hours=body.hours or 0)
    await service.record(
        session,
        contact,
        action="snoozed",
        by=principal.name,
        now=now,
        rules=tagging.ruleset.queue,
        snoozed_until=until,
        note=body.note,
    )
    return _state(contact)


@router.get("/items/{identifier}/actions", response_model=list[ActionRead])
async def actions(
    identifier: IdentifierPath,
    session: SessionDep,
    principal: AgentDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ActionRead]:
    """What agents did with the contact's items, newest first."""
    contact = await contacts.get(session, identifier, viewer=principal)
    return [
        ActionRead(
            action=a.action,
            by=a.by,
            status=a.status,
            kind=a.kind,
            due_at=a.due_at,
            snoozed_until=a.snoozed_until,
            note=a.note,
            at=a.at,
        )
        for a in await service.actions_of(session, contact, limit=limit)
    ]


def _state(contact: Contact) -> ItemState:
    return ItemState(status=contact.status, kind=contact.queue_kind, due_at=contact.queue_due_at)
