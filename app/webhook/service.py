"""Turns stored webhook bodies into contacts, messages, statuses and updates (idempotently).

Every write is keyed on Meta's ids (unique constraints), so processing the same body twice, on
two replicas, or again after a crash changes nothing the second time.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import service as contacts
from app.contacts.models import Contact, Message, MessageStatus
from app.db.upsert import insert_ignore
from app.scheduling import templates
from app.sending import outcomes as sending_outcomes
from app.tagging import service as tagging_service
from app.tagging.service import Tagging
from app.webhook.models import InboundEvent, WebhookUpdate
from app.whatsapp.payloads import (
    ChangeValue,
    ContactRef,
    InboundMessage,
    StatusUpdate,
    extract_text,
    parse_timestamp,
    synthetic_id,
)

log = logging.getLogger(__name__)

# Delivery states only move forward; a late "delivered" never hides a "read". failed is final.
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 9}


@dataclass
class Outcome:
    """What one body contained; new_messages feeds tagging."""

    messages: int = 0
    duplicates: int = 0
    statuses: int = 0
    updates: int = 0
    new_messages: list[int] = field(default_factory=list)
    # Context for tagging the new messages and reads as they are stored.
    now: datetime | None = None
    tagging: Tagging | None = None


async def process_event(
    session: AsyncSession, event: InboundEvent, *, now: datetime, tagging: Tagging | None = None
) -> Outcome:
    outcome = Outcome(now=now, tagging=tagging)
    doc = json.loads(event.body)
    entries = doc.get("entry") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        await _store_update(session, event, "-", "unrecognized", None, doc, event.received_at)
        outcome.updates += 1
    else:
        for ei, entry in enumerate(entries):
            await _entry(session, event, ei, entry, outcome)
    event.processed_at = now
    event.last_error = None
    await session.flush()
    return outcome


async def _entry(
    session: AsyncSession, event: InboundEvent, ei: int, entry: Any, outcome: Outcome
) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
        await _store_update(session, event, f"{ei}", "unrecognized", None, entry, event.received_at)
        outcome.updates += 1
        return
    waba_id = entry.get("id") if isinstance(entry.get("id"), str | int) else None
    when = parse_timestamp(entry.get("time"), event.received_at)
    for ci, change in enumerate(entry["changes"]):
        position = f"{ei}.{ci}"
        change = change if isinstance(change, dict) else {"value": change}
        name = str(change.get("field") or "unknown")
        value = change.get("value")
        if name == "messages" and isinstance(value, dict):
            await _messages_change(session, event, position, value, waba_id, outcome)
            continue
        await _store_update(session, event, position, name, waba_id, value, when)
        outcome.updates += 1
        if name == "user_preferences" and isinstance(value, dict):
            await _user_preferences(session, value, event.received_at)
        elif name == "message_template_status_update" and isinstance(value, dict):
            await templates.apply_status_update(session, value, event.received_at)


async def _messages_change(
    session: AsyncSession,
    event: InboundEvent,
    position: str,
    raw: dict[str, Any],
    waba_id: Any,
    outcome: Outcome,
) -> None:
    try:
        value = ChangeValue.model_validate(raw)
    except ValidationError:
        await _store_update(
            session, event, position, "messages.unrecognized", waba_id, raw, event.received_at
        )
        outcome.updates += 1
        return
    phone_number_id = _str((value.metadata or {}).get("phone_number_id"))
    refs = value.contacts or []
    for mi, item in enumerate(value.messages or []):
        await _message(session, event, item, refs, phone_number_id, outcome, f"{position}.m{mi}")
    for item in value.statuses or []:
        await _status(session, event, item, outcome)
    if value.errors:
        await _store_update(
            session,
            event,
            position,
            "messages.errors",
            waba_id,
            {"errors": value.errors},
            event.received_at,
        )
        outcome.updates += 1


async def _message(
    session: AsyncSession,
    event: InboundEvent,
    item: dict[str, Any],
    refs: list[ContactRef],
    phone_number_id: str | None,
    outcome: Outcome,
    position: str,
) -> None:
    try:
        msg = InboundMessage.model_validate(item)
    except ValidationError:
        await _store_update(
            session, event, position, "messages.unrecognized", None, item, event.received_at
        )
        outcome.updates += 1
        return
    sent_at = parse_timestamp(msg.timestamp, event.received_at)
    identity = _sender(msg, refs)
    contact = (
        await contacts.resolve(session, identity, seen_at=sent_at, now=outcome.now)
        if identity.known
        else None
    )
    kind = msg.kind()
    body = msg.body()
    context = msg.context or {}
    wamid = msg.id or synthetic_id("nowamid", item)
    message_id = (
        await session.execute(
            insert_ignore(session, Message)
            .values(
                wamid=wamid,
                contact_id=contact.id if contact else None,
                direction="in",
                type=kind[:32],
                text=extract_text(kind, body),
                payload=item,
                context_wamid=_str(context.get("id")),
                phone_number_id=phone_number_id,
                sent_at=sent_at,
                inbound_event_id=event.id,
            )
            .returning(Message.id)
        )
    ).scalar_one_or_none()
    outcome.messages += 1
    if message_id is None:
        outcome.duplicates += 1
        return
    outcome.new_messages.append(message_id)
    if contact is None:
        return
    if contact.last_inbound_at is None or contact.last_inbound_at < sent_at:
        contact.last_inbound_at = sent_at
        # A snooze hides the work an agent had seen, not a message that came after it. (A
        # system notice, such as a number change, is no message from the customer.)
        if contact.queue_snoozed_until is not None and kind != "system":
            contact.queue_snoozed_until = None
    if msg.referral and contact.source == "unknown":
        contact.source = "ctwa_ad"
    if kind == "system" and isinstance(body, dict):
        await _system(session, contact, body)
    await session.flush()
    if outcome.tagging is not None and outcome.now is not None and kind != "system":
        await tagging_service.on_inbound(
            session,
            contact,
            message_id=message_id,
            kind=kind,
            text=extract_text(kind, body),
            at=sent_at,
            now=outcome.now,
            tagging=outcome.tagging,
        )


async def _system(session: AsyncSession, contact: Contact, body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind == "user_changed_number":
        new_wa_id = _str(body.get("wa_id") or body.get("new_wa_id"))
        if new_wa_id:
            await contacts.change_number(session, contact, new_wa_id)
    elif kind == "user_changed_user_id":
        new_user_id = _str(body.get("user_id") or body.get("new_user_id"))
        if new_user_id:
            await contacts.change_user_id(session, contact, new_user_id)


async def _status(
    session: AsyncSession, event: InboundEvent, item: dict[str, Any], outcome: Outcome
) -> None:
    try:
        status = StatusUpdate.model_validate(item)
    except ValidationError:
        status = StatusUpdate()
    wamid = status.id or synthetic_id("nowamid", item)
    state = (status.status or "unknown")[:32]
    errors = status.errors or []
    code = errors[0].get("code") if errors and isinstance(errors[0], dict) else None
    status_at = parse_timestamp(status.timestamp, event.received_at)
    inserted = (
        await session.execute(
            insert_ignore(session, MessageStatus)
            .values(
                wamid=wamid,
                status=state,
                status_at=status_at,
                recipient_id=status.recipient_id,
                recipient_user_id=status.recipient_user_id,
                error_code=code if isinstance(code, int) else None,
                callback_data=(status.biz_opaque_callback_data or "")[:512] or None,
                payload=item,
                inbound_event_id=event.id,
            )
            .returning(MessageStatus.id)
        )
    ).scalar_one_or_none()
    outcome.statuses += 1
    if inserted is None:
        return
    if outcome.now is not None:
        await sending_outcomes.on_status_webhook(
            session,
            wamid=wamid,
            state=state,
            error_code=code if isinstance(code, int) else None,
            callback_data=status.biz_opaque_callback_data,
            now=outcome.now,
        )
    if state == "read" and outcome.tagging is not None and outcome.now is not None:
        contact = await _recipient(session, wamid, status)
        if contact is not None:
            await tagging_service.on_read(
                session,
                contact,
                wamid=wamid,
                at=status_at,
                now=outcome.now,
                ruleset=outcome.tagging.ruleset,
            )
    rank = STATUS_RANK.get(state, 0)
    if rank:
        lower = [s for s, r in STATUS_RANK.items() if r < rank]
        await session.execute(
            update(Message)
            .where(Message.wamid == wamid, Message.direction == "out")
            .where((Message.status.is_(None)) | (Message.status.in_(lower)))
            .values(status=state)
        )


async def _user_preferences(
    session: AsyncSession, value: dict[str, Any], received: datetime
) -> None:
    """Marketing stop/resume from WhatsApp's own menu: the latest one by Meta's time wins."""
    for pref in value.get("user_preferences") or []:
        if not isinstance(pref, dict) or pref.get("category") not in (None, "marketing_messages"):
            continue
        choice = str(pref.get("value") or "").lower()
        if choice not in ("stop", "resume", "signup"):
            continue
        identity = contacts.Identity(
            wa_id=_str(pref.get("wa_id")), user_id=_str(pref.get("user_id"))
        )
        if not identity.known:
            continue
        when = parse_timestamp(pref.get("timestamp"), received)
        contact = await contacts.resolve(session, identity, seen_at=when)
        if contact.opt_out_changed_at is None or contact.opt_out_changed_at <= when:
            contact.opted_out = choice == "stop"
            contact.opt_out_changed_at = when
    await session.flush()


async def _recipient(session: AsyncSession, wamid: str, status: StatusUpdate) -> Contact | None:
    """Who read our message: the contact we sent it to, else whoever the status names."""
    contact_id = (
        await session.scalars(
            select(Message.contact_id).where(Message.wamid == wamid, Message.direction == "out")
        )
    ).first()
    if contact_id is not None:
        return await session.get(Contact, contact_id, with_for_update=True, populate_existing=True)
    for identifier in (status.recipient_user_id, status.recipient_id):
        if identifier:
            found = await contacts.find(session, identifier)
            if found is not None:
                await session.refresh(found, with_for_update=True)
                return found
    return None


def _sender(msg: InboundMessage, refs: list[ContactRef]) -> contacts.Identity:
    match = next(
        (
            r
            for r in refs
            if (msg.sender and r.wa_id == msg.sender)
            or (msg.from_user_id and r.user_id == msg.from_user_id)
        ),
        None,
    )
    # A lone contacts block belongs to the lone sender when the message names nobody itself.
    if match is None and len(refs) == 1 and not msg.sender and not msg.from_user_id:
        match = refs[0]
    profile = match.profile if match else None
    return contacts.Identity(
        wa_id=msg.sender or (match.wa_id if match else None),
        user_id=msg.from_user_id or (match.user_id if match else None),
        parent_user_id=msg.from_parent_user_id or (match.parent_user_id if match else None),
        username=profile.username if profile else None,
        name=profile.name if profile else None,
    )


async def _store_update(
    session: AsyncSession,
    event: InboundEvent,
    position: str,
    name: str,
    waba_id: Any,
    value: Any,
    when: datetime,
) -> None:
    await session.execute(
        insert_ignore(session, WebhookUpdate).values(
            inbound_event_id=event.id,
            position=position,
            field=name[:128],
            waba_id=_str(waba_id, 64),
            value=value if value is not None else {},
            event_at=when,
        )
    )


def _str(value: Any, limit: int = 256) -> str | None:
    """An id from the payload, or None: over-long values are garbage, and storing them would fail
    the whole body on PostgreSQL's length checks."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text if 0 < len(text) <= limit else None
