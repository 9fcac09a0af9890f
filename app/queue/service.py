"""Today's queue: a page of contacts by colour and due time, explained; done and snooze."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact, Message
from app.errors import BadRequest
from app.queue import items
from app.queue.models import QueueAction
from app.queue.priority import COLOURS, RANKS
from app.scheduling.models import OutboxItem
from app.tagging import rules
from app.tagging.models import TagEvent
from app.tagging.ruleset import Queue

SCALAR_TAGS = (*rules.SCALAR_DIMENSIONS, "source", "country", "language", "timezone")
SET_TAGS = rules.SET_DIMENSIONS


@dataclass(frozen=True)
class Cursor:
    rank: int
    due_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.rank}|{self.due_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            rank, due, ident = raw.split("|")
            return cls(int(rank), datetime.fromisoformat(due), int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest("cursor is not one this service gave out") from exc


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The local day [start, end) as aware datetimes (23 or 25 hours long on DST days)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def parse_statuses(values: Sequence[str]) -> list[str]:
    colours = [c.strip() for v in values for c in v.split(",") if c.strip()]
    unknown = [c for c in colours if c not in RANKS]
    if unknown:
        raise BadRequest(f"unknown status {unknown}; one of: {', '.join(COLOURS)}")
    return colours or list(COLOURS)


def parse_tag(value: str) -> tuple[str, str]:
    """`dimension:value`, or a bare value that belongs to exactly one tag dimension."""
    if ":" in value:
        dimension, _, tag = value.partition(":")
        if dimension not in SCALAR_TAGS + SET_TAGS or not tag:
            raise BadRequest(
                f"tag must be dimension:value with a dimension among "
                f"{', '.join(SCALAR_TAGS + SET_TAGS)}"
            )
        return dimension, tag
    owners = [d for d, allowed in rules.VALUES.items() if value in allowed]
    if len(owners) != 1:
        raise BadRequest(
            f"tag {value!r} is {'ambiguous' if owners else 'unknown'}: write dimension:value, "
            "e.g. interests:discount_sensitive or categories:3c"
        )
    return owners[0], value


def _tag_clause(session: AsyncSession, dimension: str, value: str) -> ColumnElement[bool]:
    if dimension in SCALAR_TAGS:
        column: Any = getattr(Contact, dimension)
        return column == value  # type: ignore[no-any-return]
    column = getattr(Contact, dimension)
    if session.get_bind().dialect.name == "postgresql":
        # JSONB containment (@>): the column is declared as portable JSON, so say it is JSONB.
        return type_coerce(column, JSONB).contains([value])
    members = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(members).where(members.c.value == value))


async def page(
    session: AsyncSession,
    *,
    agent_id: int | None,
    until: datetime,
    statuses: Sequence[str],
    tag: tuple[str, str] | None,
    after: Cursor | None,
    limit: int,
) -> list[Contact]:
    """Contacts due before `until`, by colour then due time. One index range scan per colour
    (the (agent, rank, due) index), so a page costs the same at ten thousand or a million."""
    found: list[Contact] = []
    for rank in sorted(RANKS[s] for s in statuses):
        if after is not None and rank < after.rank:
            continue
        stmt = select(Contact).where(Contact.queue_rank == rank, Contact.queue_due_at < until)
        if agent_id is not None:
            stmt = stmt.where(Contact.agent_id == agent_id)
        if after is not None and rank == after.rank:
            stmt = stmt.where(
                tuple_(Contact.queue_due_at, Contact.id) > tuple_(after.due_at, after.id)
            )
        if tag is not None:
            stmt = stmt.where(_tag_clause(session, *tag))
        stmt = stmt.order_by(Contact.queue_due_at, Contact.id).limit(limit - len(found))
        found.extend((await session.scalars(stmt)).all())
        if len(found) >= limit:
            break
    return found


@dataclass(frozen=True)
class Context:
    """What explains a page's items, loaded in a few queries for the whole page."""

    status_events: dict[int, TagEvent]
    intent_events: dict[int, TagEvent]
    last_inbound: dict[int, Message]
    planned: dict[int, OutboxItem]
    agents: dict[int, str]


async def _latest_events(
    session: AsyncSession, ids: Sequence[int], dimension: str
) -> dict[int, TagEvent]:
    newest = (
        select(func.max(TagEvent.id))
        .where(TagEvent.contact_id.in_(ids), TagEvent.dimension == dimension)
        .group_by(TagEvent.contact_id)
    )
    rows = await session.scalars(select(TagEvent).where(TagEvent.id.in_(newest)))
    return {e.contact_id: e for e in rows}


async def context_for(session: AsyncSession, contacts: Sequence[Contact]) -> Context:
    ids = [c.id for c in contacts]
    if not ids:
        return Context({}, {}, {}, {}, {})
    newest_in = (
        select(func.max(Message.id))
        .where(Message.contact_id.in_(ids), Message.direction == "in")
        .group_by(Message.contact_id)
    )
    inbound = {
        m.contact_id: m
        for m in await session.scalars(select(Message).where(Message.id.in_(newest_in)))
        if m.contact_id is not None
    }
    planned: dict[int, OutboxItem] = {}
    for row in await session.scalars(
        select(OutboxItem)
        .where(OutboxItem.contact_id.in_(ids), OutboxItem.state == "planned")
        .order_by(OutboxItem.not_before.desc())
    ):
        planned[row.contact_id] = row  # ascending overwrite: the earliest planned send wins
    agent_ids = {c.agent_id for c in contacts if c.agent_id is not None}
    agents: dict[int, str] = {}
    if agent_ids:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
        agents = {int(row.id): str(row.name) for row in rows}
    return Context(
        status_events=await _latest_events(session, ids, "status"),
        intent_events=await _latest_events(session, ids, "intent"),
        last_inbound=inbound,
        planned=planned,
        agents=agents,
    )


async def record(
    session: AsyncSession,
    contact: Contact,
    *,
    action: str,
    by: str,
    now: datetime,
    rules: Queue,
    snoozed_until: datetime | None = None,
    note: str | None = None,
) -> None:
    """Done moves the contact's last touch to now (the next item is the colour's follow-up);
    snoozed hides the item until the given time. Either way the action is kept."""
    session.add(
        QueueAction(
            contact_id=contact.id,
            action=action,
            by=by,
            status=contact.status,
            kind=contact.queue_kind,
            due_at=contact.queue_due_at,
            snoozed_until=snoozed_until,
            note=note,
            at=now,
        )
    )
    if action == "done":
        contact.queue_done_at = now
        contact.queue_snoozed_until = None
    else:
        if snoozed_until is None or snoozed_until <= now:
            raise BadRequest("snooze until a time in the future")
        contact.queue_snoozed_until = snoozed_until
    items.refresh(contact, rules)
    await session.flush()


async def actions_of(session: AsyncSession, contact: Contact, *, limit: int) -> list[QueueAction]:
    stmt = (
        select(QueueAction)
        .where(QueueAction.contact_id == contact.id)
        .order_by(QueueAction.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
