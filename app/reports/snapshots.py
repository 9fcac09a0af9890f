"""The snapshot computation: the one place that scans the contact table, once per period.

Report requests read the stored rows only, so they cost the same at ten thousand contacts or a
million. docs/reports.md defines every number.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, case, func, literal, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact, Purchase
from app.db.base import JsonDoc
from app.db.upsert import insert_for
from app.reports.models import ReportSnapshot
from app.tagging import rules as tag_rules
from app.tagging.models import TagEvent
from app.tagging.ruleset import Reports

TAGS = "tags"
FALSE_REDS = "false_reds"

SCALAR_DIMENSIONS = (*tag_rules.SCALAR_DIMENSIONS, "source")
SET_DIMENSIONS = ("interests", "categories")  # learned windows are not a segment
# Contacts without a value in a single-valued dimension ("none" is a value of intent).
UNSET = "unset"
# Seeds: analyse the red triggers monthly.
FALSE_RED_LOOKBACK = timedelta(days=30)
TOP_PHRASES = 5
# Any constant names the lock; this one spells "reports" so it is recognisable in pg_locks.
LOCK_KEY = 0x7265706F727473


def day_of(now: datetime) -> date:
    return now.date()  # the clock gives UTC, so this is the UTC day


async def try_lock(session: AsyncSession) -> bool:
    """Whether this transaction may compute. On PostgreSQL one replica at a time, the others skip;
    the lock goes with the transaction. SQLite's write lock (BEGIN IMMEDIATE) already serialises."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY))))


async def last_computed_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(ReportSnapshot.computed_at)
        .where(ReportSnapshot.name == TAGS)
        .order_by(ReportSnapshot.day.desc())
        .limit(1)
    )


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def tag_distribution(
    session: AsyncSession, *, now: datetime, rules: Reports
) -> dict[str, Any]:
    """Per dimension and value: contacts holding the tag now, and how many of them bought in the
    conversion window before now."""
    since = now - timedelta(days=rules.conversion_window_days)
    buyers = select(Purchase.contact_id).where(
        Purchase.purchased_at >= since, Purchase.purchased_at <= now
    )
    # An uncorrelated IN: both databases build the set of buyers once, not a probe per contact.
    converted = func.sum(case((Contact.id.in_(buyers), 1), else_=0))
    columns = [getattr(Contact, d) for d in SCALAR_DIMENSIONS]
    # One pass for all single-valued dimensions: a row per combination of values, summed below.
    combos = await session.execute(select(*columns, func.count(), converted).group_by(*columns))
    dims: dict[str, dict[str, list[int]]] = {
        d: defaultdict(lambda: [0, 0]) for d in SCALAR_DIMENSIONS + SET_DIMENSIONS
    }
    total = 0
    for row in combos:
        n, bought = int(row[-2]), int(row[-1] or 0)
        total += n
        for dimension, value in zip(SCALAR_DIMENSIONS, row[:-2], strict=True):
            cell = dims[dimension][value or UNSET]
            cell[0] += n
            cell[1] += bought
    for dimension, value, n, bought in await session.execute(_set_members(session, converted)):
        dims[dimension][value] = [int(n), int(bought or 0)]
    return {
        "total": total,
        "conversion_window_days": rules.conversion_window_days,
        "dimensions": {
            dimension: {
                value: {
                    "contacts": n,
                    "share": _rate(n, total),
                    "converted": bought,
                    "conversion": _rate(bought, n),
                }
                for value, (n, bought) in sorted(values.items())
            }
            for dimension, values in dims.items()
        },
    }


def _set_members(session: AsyncSession, converted: Any) -> Any:
    """(dimension, value, contacts, converted) for each member of the set-valued dimensions."""
    postgres = session.get_bind().dialect.name == "postgresql"
    parts: list[Select[Any]] = []
    for dimension in SET_DIMENSIONS:
        column = getattr(Contact, dimension)
        members = (
            func.jsonb_array_elements_text(column) if postgres else func.json_each(column)
        ).table_valued("value")
        parts.append(
            select(literal(dimension).label("dimension"), members.c.value, func.count(), converted)
            .select_from(Contact)
            .join(members, true())
            .group_by(members.c.value)
        )
    return union_all(*parts)


async def false_reds(session: AsyncSession, *, now: datetime, rules: Reports) -> dict[str, Any]:
    """Per rule that turned contacts red in the last 30 days: how many of those reds were followed
    by a purchase of the contact within the conversion window, and the phrases that fired."""
    since = now - FALSE_RED_LOOKBACK
    window = timedelta(days=rules.conversion_window_days)
    reds = (
        select(TagEvent.contact_id, TagEvent.rule, TagEvent.evidence, TagEvent.at)
        .where(
            TagEvent.dimension == "status",
            TagEvent.new_value == bindparam("red", "red", type_=JsonDoc),
            TagEvent.at >= since,
            TagEvent.at <= now,
        )
        .order_by(TagEvent.id)
    )
    events = (await session.execute(reds)).all()
    bought: dict[int, list[datetime]] = defaultdict(list)
    if events:
        red_contacts = reds.with_only_columns(TagEvent.contact_id).order_by(None).distinct()
        purchases = await session.execute(
            select(Purchase.contact_id, Purchase.purchased_at)
            .where(
                Purchase.contact_id.in_(red_contacts),
                Purchase.purchased_at >= since,
                Purchase.purchased_at <= now,
            )
            .order_by(Purchase.purchased_at)
        )
        for contact_id, at in purchases:
            bought[contact_id].append(at)

    per_rule: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "reds": 0,
            "contacts": set(),
            "converted": 0,
            "window_open": 0,
            "phrases": Counter(),
        }
    )
    for contact_id, rule, evidence, at in events:
        entry = per_rule[rule]
        entry["reds"] += 1
        entry["contacts"].add(contact_id)
        if _bought_within(bought.get(contact_id, ()), at, min(at + window, now)):
            entry["converted"] += 1
        elif at + window > now:
            entry["window_open"] += 1  # not (yet) converted, but its window is still running
        entry["phrases"].update(_phrases(evidence))

    return {
        "since": since.isoformat(),
        "conversion_window_days": rules.conversion_window_days,
        "min_reds": rules.false_red_min_reds,
        "max_conversion": rules.false_red_max_conversion,
        "rules": sorted(
            (_rule_row(rule, entry, rules) for rule, entry in per_rule.items()),
            key=lambda r: (-r["reds"], r["rule"]),
        ),
    }


def _bought_within(times: Sequence[datetime], start: datetime, end: datetime) -> bool:
    i = bisect.bisect_left(times, start)
    return i < len(times) and times[i] <= end


def _phrases(evidence: Any) -> list[str]:
    found = evidence.get("phrases") if isinstance(evidence, Mapping) else None
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else []


def _rule_row(rule: str, entry: Mapping[str, Any], rules: Reports) -> dict[str, Any]:
    reds, converted = entry["reds"], entry["converted"]
    return {
        "rule": rule,
        "reds": reds,
        "contacts": len(entry["contacts"]),
        "converted": converted,
        "conversion": _rate(converted, reds),
        "window_open": entry["window_open"],
        "false_red": reds >= rules.false_red_min_reds
        and converted / reds < rules.false_red_max_conversion,
        "phrases": [
            {"phrase": phrase, "count": n}
            for phrase, n in entry["phrases"].most_common(TOP_PHRASES)
        ],
    }


async def store(
    session: AsyncSession, *, name: str, day: date, data: dict[str, Any], now: datetime
) -> None:
    """One row per report and day: later runs of the same day replace it."""
    stmt = insert_for(session, ReportSnapshot).values(
        name=name, day=day, data=data, computed_at=now
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name", "day"],
            set_={"data": stmt.excluded.data, "computed_at": stmt.excluded.computed_at},
        )
    )


async def stored(session: AsyncSession, name: str, day: date) -> dict[str, Any] | None:
    data = await session.scalar(
        select(ReportSnapshot.data).where(ReportSnapshot.name == name, ReportSnapshot.day == day)
    )
    return dict(data) if data is not None else None
