"""The only writer of tags: reads a contact's tags and facts, runs the pure rules, stores the
result and one tag event per change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact
from app.contacts.models import Purchase as PurchaseRow
from app.errors import BadRequest
from app.queue import items as queue_items
from app.tagging import rules
from app.tagging.intent import Detector, Signals
from app.tagging.models import TagEvent
from app.tagging.ruleset import Ruleset

# Replies that come from tapping something we sent (buttons, lists): "clicked" for the lifecycle.
CLICK_TYPES = frozenset({"button", "interactive"})
MANUAL_DIMENSIONS = (*rules.DIMENSIONS, "language")


@dataclass(frozen=True)
class Tagging:
    """What tagging needs besides the database: the operator's rules and the detector."""

    ruleset: Ruleset
    detector: Detector


class HasTags(Protocol):
    """A contact, or a plain row of its tag columns (the planner reads rows for speed)."""

    activity: str | None
    intent: str | None
    status: str | None
    lifecycle: str | None
    engagement: str | None
    spend_tier: str | None
    purchase_frequency: str | None
    interests: Any
    categories: Any
    windows: Any


def tags_of(contact: HasTags) -> rules.Tags:
    return rules.Tags(
        activity=contact.activity,
        intent=contact.intent,
        status=contact.status,
        lifecycle=contact.lifecycle,
        engagement=contact.engagement,
        spend_tier=contact.spend_tier,
        purchase_frequency=contact.purchase_frequency,
        interests=frozenset(contact.interests or ()),
        categories=frozenset(contact.categories or ()),
        windows=frozenset(contact.windows or ()),
    )


def facts_of(contact: Contact, purchases: Sequence[rules.Purchase]) -> rules.Facts:
    return rules.Facts(
        first_seen_at=contact.first_seen_at,
        last_inbound_at=contact.last_inbound_at,
        last_read_at=contact.last_read_at,
        last_outbound_at=contact.last_outbound_at,
        status_changed_at=contact.status_changed_at,
        red_streak=contact.red_streak or 0,
        offer_reads=contact.offer_reads or 0,
        recent_inbound=tuple(_parse(t) for t in contact.recent_inbound or ()),
        recent_reads=tuple(_parse(t) for t in contact.recent_reads or ()),
        purchases=tuple(purchases),
        asked=bool(contact.asked),
        clicked=bool(contact.clicked),
        timezone=contact.timezone,
        locks={k: (_parse(v) if v else None) for k, v in (contact.tag_locks or {}).items()},
    )


async def purchases_of(session: AsyncSession, contact: Contact) -> list[rules.Purchase]:
    rows = await session.scalars(
        select(PurchaseRow)
        .where(PurchaseRow.contact_id == contact.id)
        .order_by(PurchaseRow.purchased_at)
    )
    return [
        rules.Purchase(
            at=row.purchased_at,
            amount=float(row.amount),
            categories=frozenset(
                str(i["category"])
                for i in row.items or ()
                if isinstance(i, dict) and i.get("category")
            ),
        )
        for row in rows
    ]


async def evaluate(
    session: AsyncSession,
    contact: Contact,
    *,
    now: datetime,
    ruleset: Ruleset,
    event: rules.Event | None = None,
    trigger: str = "event",
) -> rules.Evaluation:
    """Runs the rules for one contact and stores tags, facts and events."""
    # Only buyers have purchases to load; everyone else evaluates without a query.
    needs_purchases = contact.spend_tier is not None or isinstance(event, rules.Purchased)
    # A Purchased event is evaluated before its row is added: observe() folds it into the facts.
    purchases = await purchases_of(session, contact) if needs_purchases else []
    result = rules.evaluate(tags_of(contact), facts_of(contact, purchases), now, ruleset, event)
    _store(contact, result, now, ruleset)
    _record(session, contact, result.changes, now, trigger)
    await session.flush()
    return result


def view(
    contact: Contact, purchases: Sequence[rules.Purchase], *, now: datetime, ruleset: Ruleset
) -> rules.Tags:
    """The tags as they are at `now`, time rules applied: reads are never older than the clock."""
    return rules.evaluate(tags_of(contact), facts_of(contact, purchases), now, ruleset).tags


async def on_inbound(
    session: AsyncSession,
    contact: Contact,
    *,
    message_id: int,
    kind: str,
    text: str | None,
    at: datetime,
    now: datetime,
    tagging: Tagging,
) -> Signals | None:
    signals = tagging.detector.detect(text, contact.language) if text else None
    if signals is not None:
        _apply_preferences_signals(session, contact, signals, message_id, at, now)
    event = rules.Inbound(
        message_id=message_id, at=at, signals=signals, clicked=kind in CLICK_TYPES
    )
    await evaluate(session, contact, now=now, ruleset=tagging.ruleset, event=event)
    return signals


async def on_read(
    session: AsyncSession,
    contact: Contact,
    *,
    wamid: str,
    at: datetime,
    now: datetime,
    ruleset: Ruleset,
) -> None:
    await evaluate(session, contact, now=now, ruleset=ruleset, event=rules.Read(wamid=wamid, at=at))


async def run_due(
    session: AsyncSession, *, now: datetime, ruleset: Ruleset, limit: int = 500
) -> int:
    """The periodic job: applies time rules to contacts whose next change is due. Replicas skip
    each other's rows (SKIP LOCKED), so it may run everywhere at once."""
    contacts = list(
        (
            await session.scalars(
                select(Contact)
                .where(Contact.tags_due_at <= now)
                .order_by(Contact.tags_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    for contact in contacts:
        await evaluate(session, contact, now=now, ruleset=ruleset, trigger="time")
    return len(contacts)


async def set_manual(
    session: AsyncSession,
    contact: Contact,
    *,
    dimension: str,
    value: Any,
    until: datetime | None,
    by: str,
    now: datetime,
    ruleset: Ruleset,
) -> None:
    """An agent's tag: stored as given and locked against the rules until `until` or unlocked."""
    clean = validate_manual(dimension, value)
    if until is not None and until <= now:
        raise BadRequest("locked_until must be in the future")
    old: Any
    if dimension == "language":
        old, contact.language = contact.language, clean
    else:
        old = _jsonable(getattr(contact, dimension))
        setattr(contact, dimension, clean)
    contact.tag_locks = {
        **(contact.tag_locks or {}),
        dimension: until.isoformat() if until else None,
    }
    if until is not None and (contact.tags_due_at is None or until < contact.tags_due_at):
        contact.tags_due_at = until  # the rules take the dimension back when the lock ends
    if dimension == "status" and clean != old:
        contact.status_changed_at = now
    queue_items.refresh(contact, ruleset.queue)
    session.add(
        TagEvent(
            contact_id=contact.id,
            dimension=dimension,
            old_value=old,
            new_value=clean,
            rule="manual",
            evidence={"by": by, "locked_until": until.isoformat() if until else None},
            trigger="manual",
            at=now,
        )
    )
    await session.flush()


async def unlock(
    session: AsyncSession, contact: Contact, *, dimension: str, now: datetime, ruleset: Ruleset
) -> None:
    locks = dict(contact.tag_locks or {})
    if locks.pop(dimension, "absent") == "absent":
        raise BadRequest(f"{dimension} is not locked")
    contact.tag_locks = locks
    await evaluate(session, contact, now=now, ruleset=ruleset, trigger="time")


def validate_manual(dimension: str, value: Any) -> Any:
    if dimension not in MANUAL_DIMENSIONS:
        raise BadRequest(f"unknown dimension {dimension!r}; one of: {', '.join(MANUAL_DIMENSIONS)}")
    if dimension in rules.SET_DIMENSIONS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise BadRequest(f"{dimension} takes a list of strings")
        allowed = rules.VALUES.get(dimension)
        bad = [v for v in value if allowed and v not in allowed]
        if bad:
            raise BadRequest(f"unknown {dimension} {bad}; one of: {', '.join(allowed or ())}")
        return sorted(set(value))
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{dimension} takes a string or null")
    allowed = rules.VALUES.get(dimension)
    if value is not None and allowed and value not in allowed:
        raise BadRequest(f"unknown {dimension} {value!r}; one of: {', '.join(allowed)}")
    return value


async def events_of(
    session: AsyncSession, contact: Contact, *, limit: int, before_id: int | None
) -> list[TagEvent]:
    stmt = select(TagEvent).where(TagEvent.contact_id == contact.id)
    if before_id is not None:
        stmt = stmt.where(TagEvent.id < before_id)
    return list((await session.scalars(stmt.order_by(TagEvent.id.desc()).limit(limit))).all())


def _apply_preferences_signals(
    session: AsyncSession,
    contact: Contact,
    signals: Signals,
    message_id: int,
    at: datetime,
    now: datetime,
) -> None:
    """STOP and its equivalents stop all marketing until the contact opts in again."""
    if signals.language and "language" not in (contact.tag_locks or {}):
        contact.language = signals.language
    wanted: bool | None = True if signals.opt_out else False if signals.opt_in else None
    if wanted is None:
        return
    # Meta's message time orders STOP and START, as for the menu's stop/resume: webhooks arrive
    # out of order, and a late older message must not undo a newer choice.
    if contact.opt_out_changed_at is not None and at < contact.opt_out_changed_at:
        return
    if wanted == contact.opted_out:
        contact.opt_out_changed_at = at  # a repeated choice is still the newest word on it
        return
    phrases = sorted({m.phrase for m in signals.evidence if m.signal in ("opt_out", "opt_in")})
    session.add(
        TagEvent(
            contact_id=contact.id,
            dimension="opted_out",
            old_value=contact.opted_out,
            new_value=wanted,
            rule="opt_out.message" if wanted else "opt_in.message",
            evidence={"message_id": message_id, "phrases": phrases},
            trigger="event",
            at=now,
        )
    )
    contact.opted_out = wanted
    contact.opt_out_changed_at = at


def _store(contact: Contact, result: rules.Evaluation, now: datetime, ruleset: Ruleset) -> None:
    for f in fields(rules.Tags):
        value = result.tags.get(f.name)
        setattr(contact, f.name, sorted(value) if isinstance(value, frozenset) else value)
    facts = result.facts
    contact.last_inbound_at = facts.last_inbound_at
    contact.last_read_at = facts.last_read_at
    contact.status_changed_at = facts.status_changed_at
    contact.red_streak = facts.red_streak
    contact.offer_reads = facts.offer_reads
    contact.recent_inbound = [t.isoformat() for t in facts.recent_inbound]
    contact.recent_reads = [t.isoformat() for t in facts.recent_reads]
    contact.asked = facts.asked
    contact.clicked = facts.clicked
    contact.tags_due_at = rules.next_due(facts, now, ruleset)
    queue_items.refresh(contact, ruleset.queue)


def _record(
    session: AsyncSession,
    contact: Contact,
    changes: Sequence[rules.Change],
    now: datetime,
    trigger: str,
) -> None:
    for change in changes:
        session.add(
            TagEvent(
                contact_id=contact.id,
                dimension=change.dimension,
                old_value=_jsonable(change.old),
                new_value=_jsonable(change.new),
                rule=change.rule,
                evidence=dict(change.evidence),
                trigger=trigger,
                at=now,
            )
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
