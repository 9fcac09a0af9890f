"""Pure: which follow-up a contact is due next, from its tags and the cadence rules.

One plan per contact (SPEC "Follow-up cadence"): of the rules whose conditions match, the highest
priority with a slot not yet planned wins. Each slot has a stable plan key, so planning again is
idempotent and a follow-up is never planned twice.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.tagging.rules import Tags
from app.tagging.ruleset import CadenceRule, Discount

MAX_LATENESS = timedelta(hours=24)


@dataclass(frozen=True)
class ContactView:
    contact_id: int
    tags: Tags
    first_seen_at: datetime
    last_inbound_at: datetime | None = None
    last_purchase_at: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    rule: str
    priority: int
    plan_key: str
    due_at: datetime
    template: str
    category: str
    discount: Discount | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def matches(rule: CadenceRule, tags: Tags) -> bool:
    for dimension, wanted in rule.when.items():
        value = tags.get(dimension) if hasattr(tags, dimension) else None
        if isinstance(value, frozenset):
            if wanted not in value:
                return False
        elif value != wanted:
            return False
    return True


def next_followup(
    view: ContactView, rules: Sequence[CadenceRule], planned: Collection[str], now: datetime
) -> FollowUp | None:
    """The follow-up to plan for this contact now, or None. `planned`: plan keys already taken."""
    for rule in sorted(rules, key=lambda r: -r.priority):
        if not matches(rule, view.tags):
            continue
        anchor = _anchor(view, rule)
        if anchor is None:
            continue
        found = _next_slot(view.contact_id, rule, anchor, planned, now)
        if found is not None:
            return found
    return None


def _next_slot(
    contact_id: int, rule: CadenceRule, anchor: datetime, planned: Collection[str], now: datetime
) -> FollowUp | None:
    evidence = {
        "rule": rule.name,
        "when": dict(rule.when),
        "anchor": rule.anchor,
        "anchor_at": anchor.isoformat(),
    }
    if rule.once:
        key = f"{contact_id}:{rule.name}" + (f":{rule.discount.offer}" if rule.discount else "")
        due = anchor + timedelta(hours=rule.offsets_hours[0] if rule.offsets_hours else 0)
        # Long past (an old tag when the service starts): wait for the contact's next message.
        if key in planned or now - due > MAX_LATENESS:
            return None
        return _followup(
            rule,
            key,
            due,
            evidence,
        )
    stamp = anchor.strftime("%Y%m%dT%H%M%S")
    if rule.offsets_hours:
        for slot, offset in enumerate(rule.offsets_hours):
            key = f"{contact_id}:{rule.name}:{stamp}:{slot}"
            due = anchor + timedelta(hours=offset)
            # A step of a sequence that is long past (the service was off, the contact was
            # imported) is skipped: a "12 h after your question" message a month later is noise.
            if key not in planned and now - due <= MAX_LATENESS:
                return _followup(rule, key, due, {**evidence, "slot": slot})
        return None
    assert rule.every_days is not None
    period = timedelta(days=rule.every_days)
    # The latest slot already due, or the first one when none is due yet; older missed slots are
    # not sent late in a burst.
    slot = max(1, math.floor((now - anchor) / period))
    for candidate in (slot, slot + 1):
        key = f"{contact_id}:{rule.name}:{stamp}:{candidate}"
        if key not in planned:
            return _followup(
                rule, key, anchor + candidate * period, {**evidence, "slot": candidate}
            )
    return None


def _followup(rule: CadenceRule, key: str, due: datetime, evidence: dict[str, Any]) -> FollowUp:
    return FollowUp(
        rule=rule.name,
        priority=rule.priority,
        plan_key=key,
        due_at=due,
        template=rule.template,
        category=rule.category,
        discount=rule.discount,
        evidence=evidence,
    )


def _anchor(view: ContactView, rule: CadenceRule) -> datetime | None:
    if rule.anchor == "last_inbound":
        return view.last_inbound_at
    if rule.anchor == "last_purchase":
        return view.last_purchase_at
    return view.first_seen_at
