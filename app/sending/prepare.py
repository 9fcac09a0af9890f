"""What to send for claimed follow-ups: every hard constraint checked again at the moment of
sending (the plan may be hours old), and the Cloud API request for those that pass.

prepare_batch() does one claim's worth of rows in one unit of work; the follow-ups it holds back
are settled there (back to planned with a new time, or dropped). What the answers mean is
app.sending.outcomes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, load_only

from app.contacts.models import TAG_COLUMNS, Contact
from app.contacts.preferences_note import Preferences, PreferencesError
from app.scheduling import cadence, constraints, discounts, templates
from app.scheduling.models import OutboxItem, Template
from app.tagging import service as tagging_service
from app.tagging.ruleset import Ruleset
from app.whatsapp.client import ButtonSpec, TemplateParams, TemplateSpec

log = logging.getLogger("app.sending")

CALLBACK_PREFIX = "outbox:"

# Sends older than this count for no cap (the longest rolling window is a month).

HISTORY = timedelta(days=31)

YIELD_EVERY = 20


# What the checks and the request read of a contact. Decoding the rest (the conversation
# history kept for the tag rules above all) was a good part of a send's cost.
_CONTACT_FIELDS = (
    Contact.wa_id,
    Contact.user_id,
    Contact.name,
    Contact.timezone,
    Contact.language,
    Contact.opted_out,
    Contact.last_inbound_at,
    Contact.preferences,
    *TAG_COLUMNS,
)


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


async def marketing_today(
    session: AsyncSession, now: datetime, *, leaving_out: Collection[int] = ()
) -> int:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    query = (
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.category == "marketing", OutboxItem.sent_at >= midnight)
    )
    if leaving_out:
        query = query.where(OutboxItem.id.not_in(leaving_out))
    return int(await session.scalar(query) or 0)


# Any constant names the lock; this one spells "daycap", recognisable in pg_locks.
OPERATOR_CAP_LOCK = 0x646179636170


async def _lock_operator_cap(session: AsyncSession) -> None:
    """Serialises the operator-wide daily count between workers until this transaction ends.

    Without it two workers preparing at once each count the day's sends without the other's
    batch (not yet committed) and together overshoot the cap by up to a batch. On PostgreSQL a
    transaction-scoped advisory lock; SQLite's single writer (the claim took it) already
    serialises. Taken after the contact rows, which is the order every preparer follows."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(OPERATOR_CAP_LOCK)))


async def prepare_batch(
    session: AsyncSession,
    outbox_ids: Sequence[int],
    *,
    now: datetime,
    ruleset: Ruleset,
    demo_templates: bool = False,
) -> list[SendRequest]:
    """Re-checks every constraint for claimed follow-ups; returns those to send now, oldest due
    first. The others are settled here: back to planned with a new time, or dropped.
    `demo_templates`: the sender runs dry, so `seed`'s stand-in templates may be used."""
    items = [
        item
        for item in (
            await session.scalars(
                select(OutboxItem)
                .options(defer(OutboxItem.evidence, raiseload=True))
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
                .options(load_only(*_CONTACT_FIELDS, raiseload=True))
                .where(Contact.id.in_({item.contact_id for item in items}))
                .order_by(Contact.id)
                .with_for_update()
            )
        ).all()
    }
    # The claim reserved this batch's sends already; they are counted below as they are decided.
    claimed = {item.id for item in items}
    history = await _send_history(session, list(contacts), now, leaving_out=claimed)
    policy = policy_of(ruleset)
    today = 0
    if policy.global_marketing_per_day is not None:
        await _lock_operator_cap(session)
        today = await marketing_today(session, now, leaving_out=claimed)
    rules = {r.name: r for r in ruleset.cadence}
    pair = timedelta(seconds=ruleset.sending.pair_interval_seconds)
    picked: dict[tuple[str, str | None], tuple[Template, TemplateSpec] | None] = {}
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
        recipient = recipient_of(contact)
        decision = constraints.decide(
            recipient,
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
            item.claimed_until, item.updated_at, item.sent_at = None, now, None
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
                item.id,
                contact.id,
                _address(contact),
                None,
                None,
                None,
                item.text,
                callback_of(item),
            )
        else:
            key = (item.template, contact.language)
            if key not in picked:
                found = await templates.pick(
                    session, item.template, contact.language, demo=demo_templates
                )
                picked[key] = (found, _template_spec(found)) if found is not None else None
            chosen = picked[key]
            if chosen is None:
                log.error(
                    "template not registered",
                    extra={"template": item.template, "outbox_id": item.id, "alert": True},
                )
                _finish(item, "failed", "template_not_registered", now)
                continue
            template, spec = chosen
            variables = await _variables(session, item, contact, recipient.preferences, now)
            request = SendRequest(
                item.id,
                contact.id,
                _address(contact),
                spec,
                template.language,
                _template_params(template.parameters, variables),
                None,
                callback_of(item),
            )
        # sent_at, set by the claim, stays: the send is reserved under the caps (and cleared
        # again if it fails).
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


def _finish(item: OutboxItem, state: str, reason: str, now: datetime) -> None:
    """Settles the item without a send."""
    item.state, item.reason, item.claimed_until, item.updated_at = state, reason, None, now
    item.sent_at = None


async def _send_history(
    session: AsyncSession, contact_ids: Sequence[int], now: datetime, *, leaving_out: set[int]
) -> defaultdict[int, list[tuple[str, datetime]]]:
    """Each contact's recent sends (category, when), reserved ones included, but for the
    follow-ups in `leaving_out`. A reserved send not yet answered ("sending") counts as going
    out now: it may still be waiting for its slot, and the pair rate runs from when it leaves."""
    history: defaultdict[int, list[tuple[str, datetime]]] = defaultdict(list)
    rows = await session.execute(
        select(
            OutboxItem.id,
            OutboxItem.contact_id,
            OutboxItem.category,
            OutboxItem.sent_at,
            OutboxItem.state,
        ).where(
            OutboxItem.contact_id.in_(contact_ids),
            OutboxItem.sent_at.is_not(None),
            OutboxItem.sent_at >= now - HISTORY,
        )
    )
    for outbox_id, contact_id, category, sent_at, state in rows:
        if sent_at is not None and outbox_id not in leaving_out:
            history[contact_id].append(
                (category, max(sent_at, now) if state == "sending" else sent_at)
            )
    return history


def callback_of(item: OutboxItem) -> str:
    """The biz_opaque_callback_data that ties Meta's status webhooks back to the follow-up."""
    return f"{CALLBACK_PREFIX}{item.id}"


def _address(contact: Contact) -> str:
    return contact.wa_id or contact.user_id or ""


async def _variables(
    session: AsyncSession, item: OutboxItem, contact: Contact, prefs: Preferences, now: datetime
) -> dict[str, str]:
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


def _template_spec(template: Template) -> TemplateSpec:
    """The registered template as the client checks it; the same for every send of it."""
    parameters: dict[str, Any] = template.parameters
    header = parameters.get("header", [])
    return TemplateSpec(
        name=template.name,
        language=template.language,
        category=template.category,  # type: ignore[arg-type]
        header_params=len(header),
        header_format="text" if header else None,
        body_params=len(parameters.get("body", [])),
        buttons=tuple(
            ButtonSpec(kind=b["kind"], index=int(b["index"]), params=len(b.get("params", [])))
            for b in parameters.get("buttons", [])
        ),
    )


def _template_params(parameters: dict[str, Any], variables: dict[str, str]) -> TemplateParams:
    return TemplateParams(
        header=tuple(variables.get(v, "") for v in parameters.get("header", [])),
        body=tuple(variables.get(v, "") for v in parameters.get("body", [])),
        buttons={
            int(b["index"]): tuple(variables.get(v, "") for v in b.get("params", []))
            for b in parameters.get("buttons", [])
        },
    )
