"""Outbox transitions: what to send for a claimed follow-up, and what its result means.

prepare() runs every hard constraint again at the moment of sending (the plan may be hours old);
record_*() apply a send result, a Cloud API error or a status webhook to the outbox row.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Message, MessageStatus
from app.contacts.preferences_note import Preferences, PreferencesError
from app.scheduling import cadence, constraints, discounts, templates
from app.scheduling.models import OutboxItem
from app.tagging import service as tagging_service
from app.tagging.models import TagEvent
from app.tagging.ruleset import Ruleset
from app.whatsapp.client import ButtonSpec, TemplateParams, TemplateSpec
from app.whatsapp.errors import CloudAPIError, Disposition, backoff_seconds

log = logging.getLogger("app.sending")

CALLBACK_PREFIX = "outbox:"
DONE_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 9}


@dataclass(frozen=True)
class SendRequest:
    outbox_id: int
    to: str
    template: TemplateSpec | None
    language: str | None
    params: TemplateParams | None
    text: str | None
    callback_data: str


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
            OutboxItem.sent_at >= now - timedelta(days=31),
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
    """Re-checks every constraint for a claimed follow-up; None when it is not to be sent now."""
    item = await session.get(OutboxItem, outbox_id)
    if item is None or item.state != "sending":
        return None
    # Locking the contact serialises concurrent sends to one person across workers, so the caps
    # below count every send that got this far (each reserves its slot by setting sent_at).
    contact = await session.get(Contact, item.contact_id, with_for_update=True)
    if contact is None:
        return _finish(item, "dropped", "contact_gone", now)
    rule = next((r for r in ruleset.cadence if r.name == item.rule), None)
    if rule is not None and not cadence.matches(rule, tagging_service.tags_of(contact)):
        return _finish(item, "cancelled", "rule_no_longer_applies", now)
    policy = policy_of(ruleset)
    today = (
        await marketing_today(session, now) if policy.global_marketing_per_day is not None else 0
    )
    decision = constraints.decide(
        recipient_of(contact),
        constraints.PlannedSend(
            category=item.category, free_form=item.template is None, due_at=item.due_at
        ),
        marketing_sent=await marketing_sent(session, contact.id, now),
        global_marketing_today=today,
        now=now,
        policy=policy,
    )
    if decision.action == "wait":
        assert decision.at is not None
        item.state, item.not_before, item.reason = "planned", decision.at, decision.reason
        item.claimed_until, item.updated_at = None, now
        item.attempts = max(0, item.attempts - 1)  # waiting for a window is not a failed attempt
        return None
    if decision.action == "drop":
        return _finish(item, "dropped", decision.reason, now)
    if decision.action == "needs_template" and item.template is None:
        return _finish(item, "dropped", decision.reason, now)
    item.sent_at = now  # reserves the slot under the caps; cleared again if the send fails
    if item.template is None:
        assert item.text is not None
        return SendRequest(item.id, _address(contact), None, None, None, item.text, _callback(item))
    template = await templates.pick(session, item.template, contact.language)
    if template is None:
        item.sent_at = None
        log.error(
            "template not registered",
            extra={"template": item.template, "outbox_id": item.id, "alert": True},
        )
        return _finish(item, "failed", "template_not_registered", now)
    variables = await _variables(session, item, contact, now)
    spec, params = _template_call(
        template.name, template.language, template.category, template.parameters, variables
    )
    return SendRequest(
        item.id, _address(contact), spec, template.language, params, None, _callback(item)
    )


async def record_sent(
    session: AsyncSession, request: SendRequest, *, wamid: str, now: datetime, ruleset: Ruleset
) -> None:
    item = await session.get(OutboxItem, request.outbox_id)
    if item is None:
        return
    item.state, item.wamid, item.sent_at = "sent", wamid, now
    item.claimed_until, item.updated_at, item.reason = None, now, None
    contact = await session.get(Contact, item.contact_id)
    payload: dict[str, Any] = {
        "template": request.template.name if request.template else None,
        "language": request.language,
    }
    if request.params is not None:
        payload["body"] = list(request.params.body)
    session.add(
        Message(
            wamid=wamid,
            contact_id=item.contact_id,
            direction="out",
            type="template" if request.template else "text",
            text=request.text,
            payload=payload,
            sent_at=now,
            status="sent",
        )
    )
    await session.flush()
    # Statuses may have arrived before we recorded the send (they race the API's answer).
    for status in await session.scalars(select(MessageStatus).where(MessageStatus.wamid == wamid)):
        await apply_status(session, item, status.status, status.error_code, now)
    if contact is not None:
        contact.last_outbound_at = now
        await tagging_service.evaluate(session, contact, now=now, ruleset=ruleset, trigger="time")


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
            item.error_code, item.reason = error_code, f"error_{error_code}"
            if error_code == 131050:
                await stop_marketing(session, item.contact_id, now, rule="opt_out.error_131050")
    await session.flush()


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


def _finish(item: OutboxItem, state: str, reason: str, now: datetime) -> SendRequest | None:
    """Settles the item without a send; returns None so prepare() can `return _finish(...)`."""
    item.state, item.reason, item.claimed_until, item.updated_at = state, reason, None, now
    return None


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
