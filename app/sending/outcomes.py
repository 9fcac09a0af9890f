"""Outbox transitions: what to send for a claimed follow-up, and what its result means.

prepare_batch() runs every hard constraint again at the moment of sending (the plan may be hours
old); record_batch() and record_*() apply send results, Cloud API errors and status webhooks to
the outbox rows. The batch forms do one claim's worth of rows in one unit of work.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Message, MessageStatus
from app.contacts.preferences_note import Preferences, PreferencesError
from app.db.base import UTCDateTime
from app.scheduling import cadence, constraints, discounts, templates
from app.scheduling.models import OutboxItem, Template
from app.tagging import service as tagging_service
from app.tagging.models import TagEvent
from app.tagging.ruleset import Ruleset
from app.whatsapp.client import ButtonSpec, TemplateParams, TemplateSpec
from app.whatsapp.errors import CloudAPIError, Disposition, backoff_seconds, classify

log = logging.getLogger("app.sending")

CALLBACK_PREFIX = "outbox:"
DONE_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 9}
# Sends older than this count for no cap (the longest rolling window is a month).
HISTORY = timedelta(days=31)
YIELD_EVERY = 20


@dataclass(frozen=True)
class SendRequest:
    outbox_id: int
    contact_id: int
    to: str
    template: TemplateSpec | None
    language: str | None
    params: TemplateParams | None
    text: str | None
    callback_data: str


@dataclass(frozen=True)
class SendOutcome:
    """What the Cloud API answered to one request: a wamid, or an error."""

    request: SendRequest
    wamid: str | None = None
    error: CloudAPIError | None = None


def policy_of(ruleset: Ruleset) -> constraints.Policy:
    s = ruleset.sending
    return constraints.Policy(
        marketing_per_week=s.marketing_per_week,
        marketing_per_month=s.marketing_per_month,
        high_spender_per_week=s.high_spender_per_week,
        passive_per_month=s.passive_per_month,
        global_marketing_per_day=s.global_marketing_per_day,
    )


def recipient_of(contact: Contact) -> constraints.Recipient:
    try:
        prefs = Preferences.from_dict(contact.preferences or {})
    except PreferencesError:
        prefs = Preferences()
    return constraints.Recipient(
        timezone=contact.timezone,
        preferences=prefs,
        opted_out=contact.opted_out,
        last_inbound_at=contact.last_inbound_at,
        spend_tier=contact.spend_tier,
        learned_windows=frozenset(contact.windows or ()),
    )


async def marketing_sent(session: AsyncSession, contact_id: int, now: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(OutboxItem.sent_at).where(
            OutboxItem.contact_id == contact_id,
            OutboxItem.category == "marketing",
            OutboxItem.sent_at.is_not(None),
            OutboxItem.sent_at >= now - HISTORY,
        )
    )
    return [t for t in rows if t is not None]


async def marketing_today(session: AsyncSession, now: datetime) -> int:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.category == "marketing", OutboxItem.sent_at >= midnight)
        )
        or 0
    )


async def prepare(
    session: AsyncSession, outbox_id: int, *, now: datetime, ruleset: Ruleset
) -> SendRequest | None:
    """prepare_batch() for one claimed follow-up."""
    requests = await prepare_batch(session, [outbox_id], now=now, ruleset=ruleset)
    return requests[0] if requests else None


async def prepare_batch(
    session: AsyncSession, outbox_ids: Sequence[int], *, now: datetime, ruleset: Ruleset
) -> list[SendRequest]:
    """Re-checks every constraint for claimed follow-ups; returns those to send now, oldest due
    first. The others are settled here: back to planned with a new time, or dropped."""
    items = [
        item
        for item in (
            await session.scalars(
                select(OutboxItem)
                .where(OutboxItem.id.in_(outbox_ids))
                .order_by(OutboxItem.not_before, OutboxItem.id)
            )
        ).all()
        if item.state == "sending"
    ]
    if not items:
        return []
    # Locking the contacts serialises sends to one person across workers, so the caps below
    # count every send that got this far (each reserves its slot by setting sent_at). Id order:
    # two batches that share contacts cannot deadlock.
    contacts = {
        c.id: c
        for c in (
            await session.scalars(
                select(Contact)
                .where(Contact.id.in_({item.contact_id for item in items}))
                .order_by(Contact.id)
                .with_for_update()
            )
        ).all()
    }
    history = await _send_history(session, list(contacts), now)
    policy = policy_of(ruleset)
    today = (
        await marketing_today(session, now) if policy.global_marketing_per_day is not None else 0
    )
    rules = {r.name: r for r in ruleset.cadence}
    pair = timedelta(seconds=ruleset.sending.pair_interval_seconds)
    picked: dict[tuple[str, str | None], Template | None] = {}
    requests: list[SendRequest] = []
    for n, item in enumerate(items, 1):
        if n % YIELD_EVERY == 0:
            # The worker paces sends on this event loop; a long stretch without an await would
            # make them late (and their slots lapse).
            await asyncio.sleep(0)
        contact = contacts.get(item.contact_id)
        if contact is None:
            _finish(item, "dropped", "contact_gone", now)
            continue
        rule = rules.get(item.rule)
        if rule is not None and not cadence.matches(rule, tagging_service.tags_of(contact)):
            _finish(item, "cancelled", "rule_no_longer_applies", now)
            continue
        sent = history[contact.id]
        decision = constraints.decide(
            recipient_of(contact),
            constraints.PlannedSend(
                category=item.category, free_form=item.template is None, due_at=item.due_at
            ),
            marketing_sent=[at for category, at in sent if category == "marketing"],
            global_marketing_today=today,
            now=now,
            policy=policy,
        )
        last = max((at for _, at in sent), default=None)
        going = decision.action in ("send", "needs_template")
        if going and pair and last is not None and now < last + pair:
            # Meta's pair rate, checked here rather than in each worker's memory so that it also
            # holds between workers and between passes.
            decision = constraints.Decision("wait", last + pair, "pair_rate")
        if decision.action == "wait":
            assert decision.at is not None
            item.state, item.not_before, item.reason = "planned", decision.at, decision.reason
            item.claimed_until, item.updated_at = None, now
            # Waiting for a window (or the pair rate) is not a failed attempt.
            item.attempts = max(0, item.attempts - 1)
            continue
        if decision.action == "drop":
            _finish(item, "dropped", decision.reason, now)
            continue
        if decision.action == "needs_template" and item.template is None:
            _finish(item, "dropped", decision.reason, now)
            continue
        if item.template is None:
            assert item.text is not None
            request = SendRequest(
                item.id, contact.id, _address(contact), None, None, None, item.text, _callback(item)
            )
        else:
            key = (item.template, contact.language)
            if key not in picked:
                picked[key] = await templates.pick(session, item.template, contact.language)
            template = picked[key]
            if template is None:
                log.error(
                    "template not registered",
                    extra={"template": item.template, "outbox_id": item.id, "alert": True},
                )
                _finish(item, "failed", "template_not_registered", now)
                continue
            variables = await _variables(session, item, contact, now)
            spec, params = _template_call(
                template.name,
                template.language,
                template.category,
                template.parameters,
                variables,
            )
            request = SendRequest(
                item.id,
                contact.id,
                _address(contact),
                spec,
                template.language,
                params,
                None,
                _callback(item),
            )
        item.sent_at = now  # reserves the slot under the caps; cleared again if the send fails
        sent.append((item.category, now))
        if item.category == "marketing":
            today += 1
        requests.append(request)
    await session.flush()
    return requests


async def release(session: AsyncSession, outbox_ids: Sequence[int], *, now: datetime) -> None:
    """Prepared sends never handed to the Cloud API (the pass stopped): back to the plan."""
    if not outbox_ids:
        return
    rows = await session.scalars(
        select(OutboxItem).where(OutboxItem.id.in_(outbox_ids), OutboxItem.state == "sending")
    )
    for item in rows:
        item.state, item.sent_at, item.claimed_until = "planned", None, None
        item.reason, item.updated_at = "released_unsent", now
        item.attempts = max(0, item.attempts - 1)
    await session.flush()


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
        await session.execute(
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
        # Locked in id order, as prepare_batch() locks them, so the two cannot deadlock.
        locked = (
            select(Contact.id)
            .where(Contact.id.in_({r.request.contact_id for r in sent}))
            .order_by(Contact.id)
            .with_for_update()
        )
        # The send moved a fact the time rules read (the grey and unread rules); the tag job
        # re-evaluates the contact from here rather than every send running the rules inline.
        await session.execute(
            update(Contact)
            .where(Contact.id.in_(locked.scalar_subquery()))
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
                .where(MessageStatus.callback_data == _callback(item))
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


def _finish(item: OutboxItem, state: str, reason: str, now: datetime) -> None:
    """Settles the item without a send."""
    item.state, item.reason, item.claimed_until, item.updated_at = state, reason, None, now


async def _send_history(
    session: AsyncSession, contact_ids: Sequence[int], now: datetime
) -> defaultdict[int, list[tuple[str, datetime]]]:
    """Each contact's recent sends (category, when), reserved ones included."""
    history: defaultdict[int, list[tuple[str, datetime]]] = defaultdict(list)
    rows = await session.execute(
        select(OutboxItem.contact_id, OutboxItem.category, OutboxItem.sent_at).where(
            OutboxItem.contact_id.in_(contact_ids),
            OutboxItem.sent_at.is_not(None),
            OutboxItem.sent_at >= now - HISTORY,
        )
    )
    for contact_id, category, sent_at in rows:
        if sent_at is not None:
            history[contact_id].append((category, sent_at))
    return history


def _callback(item: OutboxItem) -> str:
    return f"{CALLBACK_PREFIX}{item.id}"


def _address(contact: Contact) -> str:
    return contact.wa_id or contact.user_id or ""


async def _variables(
    session: AsyncSession, item: OutboxItem, contact: Contact, now: datetime
) -> dict[str, str]:
    prefs = recipient_of(contact).preferences
    values = {
        "name": prefs.salutation or contact.name or "",
        "wa_id": contact.wa_id or "",
        "offer": item.offer or "",
    }
    if item.offer:
        code = await discounts.assign(
            session,
            contact_id=contact.id,
            offer=item.offer,
            valid_hours=item.offer_valid_hours or 48,
            now=now,
        )
        values["code"] = code.code
        zone = ZoneInfo(contact.timezone) if contact.timezone else ZoneInfo("UTC")
        values["valid_until"] = (
            (code.valid_until or now).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        )
    return values


def _template_call(
    name: str, language: str, category: str, parameters: dict[str, Any], variables: dict[str, str]
) -> tuple[TemplateSpec, TemplateParams]:
    header = [variables.get(v, "") for v in parameters.get("header", [])]
    body = [variables.get(v, "") for v in parameters.get("body", [])]
    buttons = tuple(
        ButtonSpec(kind=b["kind"], index=int(b["index"]), params=len(b.get("params", [])))
        for b in parameters.get("buttons", [])
    )
    spec = TemplateSpec(
        name=name,
        language=language,
        category=category,  # type: ignore[arg-type]
        header_params=len(header),
        header_format="text" if header else None,
        body_params=len(body),
        buttons=buttons,
    )
    params = TemplateParams(
        header=tuple(header),
        body=tuple(body),
        buttons={
            int(b["index"]): tuple(variables.get(v, "") for v in b.get("params", []))
            for b in parameters.get("buttons", [])
        },
    )
    return spec, params
