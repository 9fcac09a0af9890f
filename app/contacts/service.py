"""Contacts: one record per person however Meta identifies them, plus their conversation."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import service as access
from app.access.service import Principal
from app.agents import service as agents
from app.contacts.models import Contact, Message, MessageStatus, Purchase
from app.contacts.phone import facts_for
from app.contacts.preferences_note import Preferences, PreferencesError, parse_note
from app.contacts.schemas import PreferencesUpdate, PurchaseCreate
from app.db.upsert import insert_ignore
from app.errors import BadRequest, Conflict, NotFound
from app.scheduling import discounts
from app.scheduling.models import DiscountCode, OutboxItem
from app.tagging import rules
from app.tagging import service as tagging_service
from app.tagging.models import TagEvent
from app.tagging.service import Tagging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """What one webhook says about a person. Any field may be missing."""

    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    name: str | None = None

    @property
    def known(self) -> bool:
        return bool(self.wa_id or self.user_id)


async def find(session: AsyncSession, identifier: str) -> Contact | None:
    """By wa_id (digits, '+' allowed) or business-scoped user_id, the two ids Meta gives out."""
    ident = identifier.strip()
    digits = ident.removeprefix("+")
    stmt = select(Contact).where(or_(Contact.wa_id == digits, Contact.user_id == ident))
    return (await session.scalars(stmt.limit(1))).first()


async def get(
    session: AsyncSession, identifier: str, *, viewer: Principal | None = None
) -> Contact:
    """The contact, if it exists and `viewer` (when given) may see it."""
    contact = await find(session, identifier)
    if contact is None:
        raise NotFound(f"no contact {identifier!r}")
    if viewer is not None:
        access.ensure_may_see(viewer, contact.agent_id)
    return contact


async def resolve(
    session: AsyncSession, identity: Identity, *, seen_at: datetime, now: datetime | None = None
) -> Contact:
    """The contact for `identity`, created or linked as needed, and given an agent in turn if it
    has none (new, or unassigned since the team was set up).

    user_id wins when both ids point at different records (the phone number was reused or the two
    ids arrived separately before): the two records are merged into the user_id one.
    """
    by_user = await _one(session, Contact.user_id, identity.user_id)
    by_phone = await _one(session, Contact.wa_id, identity.wa_id)
    if (
        by_user is None
        and by_phone is not None
        and identity.user_id
        and by_phone.user_id not in (None, identity.user_id)
    ):
        # The number now belongs to someone else (a new business-scoped id): the old owner keeps
        # its history but loses the number; the new owner starts afresh.
        log.info("phone number reused", extra={"contact": by_phone.id})
        by_phone.wa_id = None
        await session.flush()
        by_phone = None
    if by_user is None and by_phone is None:
        await session.execute(
            insert_ignore(session, Contact).values(
                user_id=identity.user_id,
                wa_id=identity.wa_id,
                first_seen_at=seen_at,
                source="unknown",
                opted_out=False,
            )
        )
        # A concurrent replica may have inserted the same person first; read whichever row won.
        by_user = await _one(session, Contact.user_id, identity.user_id)
        by_phone = await _one(session, Contact.wa_id, identity.wa_id)
    if by_user is not None and by_phone is not None and by_user.id != by_phone.id:
        await _merge(session, keep=by_user, drop=by_phone)
        by_phone = None
    contact = by_user or by_phone
    assert contact is not None
    if identity.wa_id and contact.wa_id != identity.wa_id and by_phone is None:
        contact.wa_id = identity.wa_id
    if identity.user_id and contact.user_id is None:
        contact.user_id = identity.user_id
    for attr in ("parent_user_id", "username", "name"):
        value = getattr(identity, attr)
        if value and getattr(contact, attr) != value:
            setattr(contact, attr, value)
    _apply_number_facts(contact)
    if contact.agent_id is None:
        agent = await agents.next_in_turn(session, now=now or seen_at)
        contact.agent_id = agent.id if agent is not None else None
    await session.flush()
    return contact


async def change_number(session: AsyncSession, contact: Contact, new_wa_id: str) -> None:
    """A `user_changed_number` system message: the person keeps their history under the new number."""
    holder = await _one(session, Contact.wa_id, new_wa_id)
    if holder is not None and holder.id != contact.id:
        await _merge(session, keep=contact, drop=holder)
    contact.wa_id = new_wa_id
    contact.timezone = contact.country = None
    _apply_number_facts(contact, override=True)
    await session.flush()


async def change_user_id(session: AsyncSession, contact: Contact, new_user_id: str) -> None:
    holder = await _one(session, Contact.user_id, new_user_id)
    if holder is not None and holder.id != contact.id:
        await _merge(session, keep=contact, drop=holder)
    contact.user_id = new_user_id
    await session.flush()


async def messages_of(
    session: AsyncSession, contact: Contact, *, limit: int, before_id: int | None
) -> list[tuple[Message, list[MessageStatus]]]:
    stmt = select(Message).where(Message.contact_id == contact.id)
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    rows = list((await session.scalars(stmt.order_by(Message.id.desc()).limit(limit))).all())
    outbound = [m.wamid for m in rows if m.direction == "out"]
    statuses: dict[str, list[MessageStatus]] = {}
    if outbound:
        found = await session.scalars(
            select(MessageStatus)
            .where(MessageStatus.wamid.in_(outbound))
            .order_by(MessageStatus.status_at, MessageStatus.id)
        )
        for status in found:
            statuses.setdefault(status.wamid, []).append(status)
    return [(m, statuses.get(m.wamid, [])) for m in rows]


async def _one(session: AsyncSession, column: object, value: str | None) -> Contact | None:
    """The contact holding this id, locked: replicas processing the same person take turns
    instead of overwriting each other's tags and facts (SQLite serialises writers anyway)."""
    if not value:
        return None
    stmt = (
        select(Contact)
        .where(column == value)  # type: ignore[arg-type]
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).first()


async def get_for_update(
    session: AsyncSession, identifier: str, *, viewer: Principal | None = None
) -> Contact:
    """Like get(), for routes that change the contact: the row stays locked until commit."""
    contact = await get(session, identifier, viewer=viewer)
    await session.refresh(contact, with_for_update=True)
    return contact


async def _merge(session: AsyncSession, *, keep: Contact, drop: Contact) -> None:
    """Two records turned out to be one person: everything `drop` has moves to `keep`."""
    log.info("merging contacts", extra={"keep": keep.id, "drop": drop.id})
    for model in (Message, Purchase, TagEvent, OutboxItem, DiscountCode):
        await session.execute(
            update(model).where(model.contact_id == drop.id).values(contact_id=keep.id)
        )
    for attr in (
        "wa_id",
        "user_id",
        "name",
        "username",
        "parent_user_id",
        "language",
        "timezone",
        "country",
    ):
        if getattr(keep, attr) is None and getattr(drop, attr) is not None:
            value = getattr(drop, attr)
            if attr in ("wa_id", "user_id"):
                setattr(drop, attr, None)
                await session.flush()
            setattr(keep, attr, value)
    keep.first_seen_at = min(keep.first_seen_at, drop.first_seen_at)
    for attr in ("last_inbound_at", "last_read_at", "last_outbound_at"):
        theirs = getattr(drop, attr)
        if theirs is not None and (getattr(keep, attr) is None or getattr(keep, attr) < theirs):
            setattr(keep, attr, theirs)
    if keep.source == "unknown":
        keep.source = drop.source
    # Opt-out: the newer decision wins; when unknown, staying opted out is the safe side.
    if drop.opted_out != keep.opted_out:
        newer_drop = drop.opt_out_changed_at is not None and (
            keep.opt_out_changed_at is None or drop.opt_out_changed_at > keep.opt_out_changed_at
        )
        if newer_drop or (keep.opt_out_changed_at is None and drop.opted_out):
            keep.opted_out, keep.opt_out_changed_at = drop.opted_out, drop.opt_out_changed_at
    for attr in rules.SET_DIMENSIONS:
        setattr(keep, attr, sorted(set(getattr(keep, attr) or ()) | set(getattr(drop, attr) or ())))
    for attr in rules.SCALAR_DIMENSIONS:
        if getattr(keep, attr) is None:
            setattr(keep, attr, getattr(drop, attr))
    keep.tag_locks = {**(drop.tag_locks or {}), **(keep.tag_locks or {})}
    keep.preferences = keep.preferences or drop.preferences or {}
    keep.red_streak = max(keep.red_streak or 0, drop.red_streak or 0)
    keep.asked, keep.clicked = keep.asked or drop.asked, keep.clicked or drop.clicked
    keep.recent_inbound = sorted({*(keep.recent_inbound or ()), *(drop.recent_inbound or ())})[-16:]
    keep.recent_reads = sorted({*(keep.recent_reads or ()), *(drop.recent_reads or ())})[-16:]
    keep.tags_due_at = (
        None
        if keep.tags_due_at is None and drop.tags_due_at is None
        else min(t for t in (keep.tags_due_at, drop.tags_due_at) if t is not None)
    )
    await session.delete(drop)
    await session.flush()


def _apply_number_facts(contact: Contact, *, override: bool = False) -> None:
    facts = facts_for(contact.wa_id)
    if facts is None:
        return
    contact.phone_e164 = facts.e164
    contact.calling_code = facts.calling_code
    contact.area = facts.area
    # Country and zone may have been set by an operator; the number only fills gaps.
    if override or contact.country is None:
        contact.country = facts.country
    if override or contact.timezone is None:
        contact.timezone = facts.timezone


async def record_purchase(
    session: AsyncSession,
    contact: Contact,
    order: PurchaseCreate,
    *,
    now: datetime,
    tagging: Tagging,
) -> tuple[Purchase, bool]:
    """Idempotent by order_id: a repeat returns the stored order and changes nothing."""
    existing = (
        await session.scalars(select(Purchase).where(Purchase.order_id == order.order_id))
    ).first()
    if existing is not None:
        if existing.contact_id != contact.id:
            raise Conflict(f"order {order.order_id!r} belongs to another contact")
        return existing, False
    if order.discount_code:
        await discounts.redeem(
            session,
            code=order.discount_code,
            contact_id=contact.id,
            order_id=order.order_id,
            now=order.purchased_at,
        )
    categories = frozenset(i.category for i in order.items if i.category)
    # Evaluated before the row is added: the event itself brings the purchase into the facts.
    await tagging_service.evaluate(
        session,
        contact,
        now=now,
        ruleset=tagging.ruleset,
        event=rules.Purchased(order.order_id, order.purchased_at, float(order.amount), categories),
    )
    row = Purchase(
        contact_id=contact.id,
        order_id=order.order_id,
        amount=order.amount,
        currency=order.currency.upper(),
        items=[i.model_dump(mode="json") for i in order.items],
        purchased_at=order.purchased_at,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return row, True


async def update_preferences(
    session: AsyncSession, contact: Contact, change: PreferencesUpdate
) -> Preferences:
    """Merge a PATCH into the stored preferences; any invalid value is a 400 naming it."""
    try:
        prefs = Preferences.from_dict(contact.preferences or {})
        if change.note is not None:
            prefs = parse_note(change.note, prefs)
        fields = change.model_dump(exclude_unset=True, exclude={"note"}, mode="json")
        if fields:
            prefs = Preferences.from_dict({**prefs.to_dict(), **fields})
    except PreferencesError as exc:
        raise BadRequest(str(exc)) from exc
    contact.preferences = prefs.to_dict()
    await session.flush()
    return prefs
