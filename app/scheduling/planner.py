"""Planning: turns each contact's tags into at most one pending follow-up in the outbox.

Runs in batches over all contacts (keyset pagination); every write is keyed on the plan key, so
running it twice, or on several workers at once, plans nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import TAG_COLUMNS, Contact, Purchase
from app.db.upsert import insert_ignore
from app.scheduling import cadence
from app.scheduling.models import OutboxItem
from app.tagging.ruleset import Ruleset
from app.tagging.service import tags_of


@dataclass(frozen=True)
class Planned:
    contact_id: int
    wa_id: str | None
    user_id: str | None
    followup: cadence.FollowUp

    def as_json(self) -> dict[str, Any]:
        f = self.followup
        return {
            "wa_id": self.wa_id,
            "user_id": self.user_id,
            "rule": f.rule,
            "priority": f.priority,
            "plan_key": f.plan_key,
            "due_at": f.due_at.isoformat(),
            "template": f.template,
            "category": f.category,
            "offer": f.discount.offer if f.discount else None,
            "evidence": f.evidence,
        }


@dataclass
class PlanReport:
    contacts: int = 0
    planned: int = 0
    superseded: int = 0
    cancelled: int = 0


async def plan(
    session: AsyncSession,
    *,
    now: datetime,
    ruleset: Ruleset,
    dry_run: bool = False,
    batch: int = 1000,
    after_id: int = 0,
    limit: int | None = None,
) -> tuple[PlanReport, list[Planned]]:
    """Plans every contact (or `limit` of them after `after_id`). With dry_run nothing is written
    and the follow-ups that would be planned are returned."""
    report = PlanReport()
    out: list[Planned] = []
    last = after_id
    while limit is None or report.contacts < limit:
        size = batch if limit is None else min(batch, limit - report.contacts)
        # Plain rows of the columns planning reads: full ORM objects cost about twice as much.
        query = select(*PLAN_COLUMNS).where(Contact.id > last).order_by(Contact.id).limit(size)
        contacts: list[Row[Any]] = list((await session.execute(query)).all())
        if not contacts:
            break
        last = contacts[-1].id
        report.contacts += len(contacts)
        planned = await _plan_batch(
            session, contacts, now=now, ruleset=ruleset, dry_run=dry_run, report=report
        )
        if dry_run:
            out.extend(planned)
        if len(contacts) < size:
            break
    return report, out


PLAN_COLUMNS = (
    Contact.id,
    Contact.wa_id,
    Contact.user_id,
    Contact.opted_out,
    Contact.first_seen_at,
    Contact.last_inbound_at,
    *TAG_COLUMNS,
)


async def _plan_batch(
    session: AsyncSession,
    contacts: Sequence[Row[Any]],
    *,
    now: datetime,
    ruleset: Ruleset,
    dry_run: bool,
    report: PlanReport,
) -> list[Planned]:
    ids = [c.id for c in contacts]
    taken: dict[int, set[str]] = {i: set() for i in ids}
    pending: dict[int, OutboxItem] = {}
    cancel: list[int] = []
    # Every slot ever planned stays taken, cancelled ones too: a superseded slot is skipped, not
    # planned again later.
    rows = await session.scalars(select(OutboxItem).where(OutboxItem.contact_id.in_(ids)))
    for row in rows:
        if row.state == "planned":
            other = pending.get(row.contact_id)
            if other is not None:
                # Two planners raced across a period boundary: one plan per contact, keep the
                # more urgent (then the older) one.
                keep, extra = sorted((other, row), key=lambda r: (-r.priority, r.id))
                cancel.append(extra.id)
                report.superseded += 1
                row = keep
            pending[row.contact_id] = row
        else:
            taken[row.contact_id].add(row.plan_key)
    buyers = [c.id for c in contacts if c.spend_tier is not None]
    last_purchase: dict[int, datetime] = {}
    if buyers:
        found = await session.execute(
            select(Purchase.contact_id, func.max(Purchase.purchased_at))
            .where(Purchase.contact_id.in_(buyers))
            .group_by(Purchase.contact_id)
        )
        last_purchase = {row[0]: row[1] for row in found}

    inserts: list[dict[str, Any]] = []
    result: list[Planned] = []
    rules_by_name = {r.name: r for r in ruleset.cadence}
    for contact in contacts:
        tags = tags_of(contact)
        view = cadence.ContactView(
            contact_id=contact.id,
            tags=tags,
            first_seen_at=contact.first_seen_at,
            last_inbound_at=contact.last_inbound_at,
            last_purchase_at=last_purchase.get(contact.id),
        )
        desired = (
            None
            if contact.opted_out
            else cadence.next_followup(view, ruleset.cadence, taken[contact.id], now)
        )
        current = pending.get(contact.id)
        if desired is None:
            rule = rules_by_name.get(current.rule) if current else None
            if current is not None and (
                rule is None or contact.opted_out or not cadence.matches(rule, tags)
            ):
                cancel.append(current.id)
                report.cancelled += 1
            continue
        if current is not None:
            if current.plan_key == desired.plan_key or current.priority > desired.priority:
                continue
            cancel.append(current.id)  # a more urgent rule, or a new sequence, replaces it
            report.superseded += 1
        result.append(Planned(contact.id, contact.wa_id, contact.user_id, desired))
        inserts.append(
            {
                "contact_id": contact.id,
                "plan_key": desired.plan_key,
                "rule": desired.rule,
                "priority": desired.priority,
                "evidence": desired.evidence,
                "category": desired.category,
                "template": desired.template,
                "offer": desired.discount.offer if desired.discount else None,
                "offer_valid_hours": desired.discount.valid_hours if desired.discount else None,
                "due_at": desired.due_at,
                "not_before": desired.due_at,
                "state": "planned",
                "attempts": 0,
                "planned_at": now,
                "updated_at": now,
            }
        )
    report.planned += len(inserts)
    if dry_run:
        return result
    if cancel:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(cancel), OutboxItem.state == "planned")
            .values(state="cancelled", reason="superseded_or_no_longer_applies", updated_at=now)
        )
    if inserts:
        # Core insert on the table: the driver's executemany, without the ORM's per-row bookkeeping.
        await session.execute(insert_ignore(session, OutboxItem.__table__), inserts)
    await session.flush()
    return result
