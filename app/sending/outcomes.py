"""What a send's result means for the outbox: Cloud API answers, errors and status webhooks.

record_batch() applies one group of answers in one unit of work; record_error(), apply_status()
and on_status_webhook() settle single rows; reconcile_expired() settles sends whose worker never
came back. What to send in the first place is app.sending.prepare.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Message, MessageStatus
from app.db.base import UTCDateTime
from app.scheduling.models import OutboxItem
from app.sending.prepare import (
    CALLBACK_PREFIX,
    SendRequest,
    callback_of,
    marketing_sent,
    policy_of,
    recipient_of,
)
from app.tagging.models import TagEvent
from app.tagging.ruleset import Ruleset
from app.whatsapp.errors import CloudAPIError, Disposition, backoff_seconds, classify

log = logging.getLogger("app.sending")

# Kept importable from here: app.cli's dry-run plan reads the checks through this module.
__all__ = [
    "DONE_RANK",
    "SendOutcome",
    "apply_status",
    "marketing_sent",
    "on_status_webhook",
    "policy_of",
    "recipient_of",
    "reconcile_expired",
    "record_batch",
    "record_error",
    "stop_marketing",
]

DONE_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 9}


@dataclass(frozen=True)
class SendOutcome:
    """What the Cloud API answered to one request: a wamid, or an error."""

    request: SendRequest
    wamid: str | None = None
    error: CloudAPIError | None = None


async def record_batch(
    session: AsyncSession,
    results: Sequence[SendOutcome],
    *,
    now: datetime,
    ruleset: Ruleset,
    rng: random.Random,
) -> None:
    """Applies the Cloud API's answers to a batch of sends: the outbox rows, the conversation and
    the contacts' last outbound time, a few statements for the whole batch."""
    sent = [r for r in results if r.error is None and r.wamid]
    if sent:
        # A plain executemany on the connection: the ORM's bulk form would fail the whole batch
        # over one row deleted meanwhile (its contact was erased), which is no reason to.
        connection = await session.connection()
        await connection.execute(
            update(OutboxItem)
            .where(OutboxItem.id == bindparam("outbox_id"))
            .values(
                state="sent",
                wamid=bindparam("sent_wamid"),
                sent_at=now,
                claimed_until=None,
                updated_at=now,
                reason=None,
            ),
            [{"outbox_id": r.request.outbox_id, "sent_wamid": r.wamid} for r in sent],
        )
        await connection.execute(
            insert(Message),
            [
                {
                    "wamid": r.wamid,
                    "contact_id": r.request.contact_id,
                    "direction": "out",
                    "type": "template" if r.request.template else "text",
                    "text": r.request.text,
                    "payload": _message_payload(r.request),
                    "sent_at": now,
                    "status": "sent",
                }
                for r in sent
            ],
        )
        # Locked in id order, as prepare_batch() locks them, so the two cannot deadlock. A
        # statement of its own: as a subquery of the UPDATE, PostgreSQL joined it against a
        # sequential scan of every contact.
        contact_ids = sorted({r.request.contact_id for r in sent})
        await session.execute(
            select(Contact.id)
            .where(Contact.id.in_(contact_ids))
            .order_by(Contact.id)
            .with_for_update()
        )
        # The send moved a fact the time rules read (the grey and unread rules); the tag job
        # re-evaluates the contact from here rather than every send running the rules inline.
        await session.execute(
            update(Contact)
            .where(Contact.id.in_(contact_ids))
            .values(
                last_outbound_at=now,
                tags_due_at=case(
                    (
                        or_(Contact.tags_due_at.is_(None), Contact.tags_due_at > now),
                        literal(now, UTCDateTime()),
                    ),
                    else_=Contact.tags_due_at,
                ),
            )
            .execution_options(synchronize_session=False)
        )
        # Statuses may have arrived before we recorded the send (they race the API's answer).
        early = (
            await session.scalars(
                select(MessageStatus)
                .where(MessageStatus.wamid.in_([r.wamid for r in sent]))
                .order_by(MessageStatus.id)
            )
        ).all()
        by_wamid = {r.wamid: r.request.outbox_id for r in sent}
        for status in early:
            item = await session.get(OutboxItem, by_wamid[status.wamid])
            if item is not None:
                await apply_status(session, item, status.status, status.error_code, now)
            # The conversation shows the highest state too, not the "sent" just written.
            await session.execute(
                update(Message)
                .where(Message.wamid == status.wamid, Message.direction == "out")
                .where(
                    Message.status.in_(
                        [s for s, r in DONE_RANK.items() if r < DONE_RANK.get(status.status, 0)]
                    )
                )
                .values(status=status.status)
            )
    for result in results:
        if result.error is not None:
            await record_error(
                session, result.request, result.error, now=now, ruleset=ruleset, rng=rng
            )


async def record_error(
    session: AsyncSession,
    request: SendRequest,
    error: CloudAPIError,
    *,
    now: datetime,
    ruleset: Ruleset,
    rng: random.Random,
) -> None:
    item = await session.get(OutboxItem, request.outbox_id)
    if item is None:
        return
    item.error_code, item.last_error = error.code, f"{type(error).__name__}: {error}"[:2000]
    item.claimed_until, item.updated_at = None, now
    disposition = error.disposition
    if not error.outcome_unknown:
        item.sent_at = None  # not sent: give the slot back to the caps
    if error.outcome_unknown:
        # The request may have reached Meta: wait for a status webhook rather than send twice.
        item.state, item.reason = "unknown", "outcome_unknown"
    elif disposition in (Disposition.RETRY, Disposition.RETRY_PAIR, Disposition.RETRY_LATER):
        if item.attempts >= ruleset.sending.max_attempts:
            item.state, item.reason = "failed", "too_many_attempts"
        else:
            item.state, item.reason = "planned", f"retry_{error.code}"
            item.not_before = now + timedelta(
                seconds=backoff_seconds(error, item.attempts, rng=rng)
            )
    elif disposition == Disposition.TEMPLATE and request.template is None and item.template:
        item.text, item.state, item.not_before, item.reason = (
            None,
            "planned",
            now,
            "window_closed_use_template",
        )
    elif disposition == Disposition.SUPPRESS:
        item.state, item.reason = "suppressed", f"error_{error.code}"
        if error.code == 131050:
            await stop_marketing(session, item.contact_id, now, rule="opt_out.error_131050")
    elif disposition == Disposition.DROP:
        item.state, item.reason = "dropped", f"error_{error.code}"
    else:
        item.state, item.reason = "failed", f"error_{error.code}"
    if disposition == Disposition.ALERT:
        log.error(
            "operator alert from the Cloud API",
            extra={"code": error.code, "outbox_id": item.id, "alert": True},
        )
    await session.flush()


async def apply_status(
    session: AsyncSession, item: OutboxItem, state: str, error_code: int | None, now: datetime
) -> None:
    """A status webhook for a message we sent: the outbox keeps its highest state."""
    if state not in DONE_RANK:
        return
    current = DONE_RANK.get(item.state, 0)
    if item.state in ("sending", "unknown", "planned") or DONE_RANK[state] > current:
        item.state, item.updated_at = state, now
        item.claimed_until = None
        item.sent_at = item.sent_at or now
        if state == "failed":
            await _failed_later(session, item, error_code, now)
    await session.flush()


async def _failed_later(
    session: AsyncSession, item: OutboxItem, error_code: int | None, now: datetime
) -> None:
    """A failure reported by a status webhook after Meta accepted the send: classified with the
    same table as errors from the call itself."""
    item.error_code, item.reason = error_code, f"error_{error_code}"
    _, disposition = classify(error_code, 400)
    if disposition == Disposition.TEMPLATE and item.text is not None and item.template:
        # Free-form text that missed the 24-hour window: the template goes out instead.
        item.text, item.state, item.not_before, item.sent_at = None, "planned", now, None
        item.wamid, item.reason = None, "window_closed_use_template"
    elif disposition == Disposition.SUPPRESS:
        item.state = "suppressed"
        if error_code == 131050:
            await stop_marketing(session, item.contact_id, now, rule="opt_out.error_131050")
    elif disposition == Disposition.ALERT:
        log.error(
            "operator alert from a status webhook",
            extra={"code": error_code, "outbox_id": item.id, "alert": True},
        )


async def on_status_webhook(
    session: AsyncSession,
    *,
    wamid: str,
    state: str,
    error_code: int | None,
    callback_data: str | None,
    now: datetime,
) -> None:
    item: OutboxItem | None = None
    if callback_data and callback_data.startswith(CALLBACK_PREFIX):
        try:
            item = await session.get(OutboxItem, int(callback_data.removeprefix(CALLBACK_PREFIX)))
        except ValueError:
            item = None
    if item is None:
        item = (await session.scalars(select(OutboxItem).where(OutboxItem.wamid == wamid))).first()
    if item is None:
        return
    if item.wamid is None:
        item.wamid = wamid
    await apply_status(session, item, state, error_code, now)


async def reconcile_expired(
    session: AsyncSession, items: list[OutboxItem], *, now: datetime
) -> None:
    """Leases that ran out: settle from the status webhooks if any came, else mark unknown."""
    for item in items:
        status = (
            await session.scalars(
                select(MessageStatus)
                .where(MessageStatus.callback_data == callback_of(item))
                .order_by(MessageStatus.status_at.desc())
            )
        ).first()
        if status is not None:
            item.wamid = status.wamid
            await apply_status(session, item, status.status, status.error_code, now)
        else:
            item.state, item.reason, item.claimed_until, item.updated_at = (
                "unknown",
                "lease_expired",
                None,
                now,
            )
    await session.flush()


async def stop_marketing(
    session: AsyncSession, contact_id: int, now: datetime, *, rule: str
) -> None:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.opted_out:
        return
    session.add(
        TagEvent(
            contact_id=contact_id,
            dimension="opted_out",
            old_value=False,
            new_value=True,
            rule=rule,
            evidence={},
            trigger="event",
            at=now,
        )
    )
    contact.opted_out, contact.opt_out_changed_at = True, now


def _message_payload(request: SendRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "template": request.template.name if request.template else None,
        "language": request.language,
    }
    if request.params is not None:
        payload["body"] = list(request.params.body)
    return payload
