"""Reports: take a snapshot (compute, store, open and close team alerts) and read reports back.

Reads touch report_snapshot and team_alert only, except the review list, which walks the
(status, status_changed_at) index of contact for two colours.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact, Purchase
from app.errors import BadRequest
from app.reports import alerts, snapshots
from app.reports.models import ReportSnapshot, TeamAlert
from app.tagging.ruleset import Reports

log = logging.getLogger(__name__)

# Ended alerts stay listed this long, so a morning look shows what happened overnight and last week.
ENDED_ALERTS_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class Summary:
    """What one snapshot run found; printed by the CLI and returned by POST /reports/snapshot."""

    day: date
    computed_at: datetime
    total_contacts: int
    shares: dict[str, float]
    false_reds: list[str]
    alerts_open: list[TeamAlert]
    alerts_started: list[str] = field(default_factory=list)
    alerts_ended: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "computed_at": self.computed_at.isoformat(),
            "total_contacts": self.total_contacts,
            "shares": self.shares,
            "false_reds": self.false_reds,
            "alerts": {
                "open": [alert_json(a) for a in self.alerts_open],
                "started": self.alerts_started,
                "ended": self.alerts_ended,
            },
        }


def alert_json(alert: TeamAlert) -> dict[str, Any]:
    return {
        "name": alert.name,
        "value": alert.value,
        "threshold": alert.threshold,
        "details": alert.details or {},
        "started_at": alert.started_at.isoformat(),
        "ended_at": alert.ended_at.isoformat() if alert.ended_at else None,
        "open": alert.ended_at is None,
    }


async def take_snapshot(
    session: AsyncSession, *, now: datetime, rules: Reports, force: bool = False
) -> Summary | None:
    """Compute today's snapshots and update the team alerts, in the caller's transaction.

    None when another replica is computing (PostgreSQL), or, unless forced, when a snapshot is
    younger than half the period: with several replicas the period is kept by whichever comes
    first, and the others do not repeat the scan."""
    if not await snapshots.try_lock(session):
        return None
    if not force:
        last = await snapshots.last_computed_at(session)
        fresh = timedelta(minutes=rules.snapshot_every_minutes / 2)
        if last is not None and timedelta(0) <= now - last < fresh:
            return None
    day = snapshots.day_of(now)
    tags = await snapshots.tag_distribution(session, now=now, rules=rules)
    reds = await snapshots.false_reds(session, now=now, rules=rules)
    await snapshots.store(session, name=snapshots.TAGS, day=day, data=tags, now=now)
    await snapshots.store(session, name=snapshots.FALSE_REDS, day=day, data=reds, now=now)
    week_ago = await snapshots.stored(session, snapshots.TAGS, day - timedelta(days=7))
    counts = alerts.TagCounts.of(tags)
    holding = alerts.conditions(counts, alerts.TagCounts.of(week_ago) if week_ago else None, rules)
    started, ended, open_rows = await sync_alerts(session, holding, now=now)
    return Summary(
        day=day,
        computed_at=now,
        total_contacts=counts.total,
        shares={
            "activity_high": round(counts.high_activity / counts.total, 4) if counts.total else 0.0,
            "status_red": round(counts.red / counts.total, 4) if counts.total else 0.0,
            "status_grey": round(counts.grey / counts.total, 4) if counts.total else 0.0,
        },
        false_reds=[r["rule"] for r in reds["rules"] if r["false_red"]],
        alerts_open=open_rows,
        alerts_started=started,
        alerts_ended=ended,
    )


async def sync_alerts(
    session: AsyncSession, holding: list[alerts.Condition], *, now: datetime
) -> tuple[list[str], list[str], list[TeamAlert]]:
    """Open a row for each condition that starts, close the rows of those that stopped; an open
    row follows its condition's latest value. Returns (started, ended, open rows)."""
    open_rows: dict[str, TeamAlert] = {}
    ended: list[str] = []
    for row in await session.scalars(
        select(TeamAlert).where(TeamAlert.ended_at.is_(None)).order_by(TeamAlert.id)
    ):
        if row.name in open_rows:
            # A duplicate cannot arise while runs are serialised; should one exist, heal it.
            row.ended_at = now
        else:
            open_rows[row.name] = row
    started: list[str] = []
    for condition in holding:
        current = open_rows.get(condition.name)
        if current is not None:
            current.value = condition.value
            current.threshold = condition.threshold
            current.details = condition.details
            continue
        open_rows[condition.name] = TeamAlert(
            name=condition.name,
            value=condition.value,
            threshold=condition.threshold,
            details=condition.details,
            started_at=now,
        )
        session.add(open_rows[condition.name])
        started.append(condition.name)
        # `name` is the logger's own field on a log record, so the alert travels as `alert`.
        log.warning(
            "team alert started",
            extra={
                "alert": condition.name,
                "value": condition.value,
                "threshold": condition.threshold,
            },
        )
    names = {c.name for c in holding}
    for name, row in list(open_rows.items()):
        if name not in names:
            row.ended_at = now
            ended.append(name)
            del open_rows[name]
            log.info("team alert ended", extra={"alert": name, "value": row.value})
    await session.flush()
    return started, ended, sorted(open_rows.values(), key=lambda a: a.started_at)


async def tag_history(session: AsyncSession, *, start: date, end: date) -> list[ReportSnapshot]:
    return list(
        await session.scalars(
            select(ReportSnapshot)
            .where(
                ReportSnapshot.name == snapshots.TAGS,
                ReportSnapshot.day >= start,
                ReportSnapshot.day <= end,
            )
            .order_by(ReportSnapshot.day)
        )
    )


async def latest(session: AsyncSession, name: str) -> ReportSnapshot | None:
    return await session.scalar(
        select(ReportSnapshot)
        .where(ReportSnapshot.name == name)
        .order_by(ReportSnapshot.day.desc())
        .limit(1)
    )


async def team_alerts(session: AsyncSession, *, now: datetime) -> list[TeamAlert]:
    """Open alerts first (newest first), then those that ended in the last 30 days."""
    rows = await session.scalars(
        select(TeamAlert)
        .where(or_(TeamAlert.ended_at.is_(None), TeamAlert.ended_at >= now - ENDED_ALERTS_KEPT))
        .order_by(TeamAlert.started_at.desc(), TeamAlert.id.desc())
    )
    found = list(rows)
    return [a for a in found if a.ended_at is None] + [a for a in found if a.ended_at is not None]


@dataclass(frozen=True)
class ReviewCursor:
    since: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.since.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ReviewCursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            since, ident = raw.split("|")
            parsed = datetime.fromisoformat(since)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest("cursor is not one this service gave out") from exc
        if parsed.tzinfo is None:
            raise BadRequest("cursor is not one this service gave out")
        return cls(parsed, int(ident))


def review_cutoffs(now: datetime, rules: Reports) -> dict[str, datetime]:
    """A contact is due for review when it has held its colour since before this moment."""
    return {
        "red": now - timedelta(days=rules.review_red_after_days),
        "orange": now - timedelta(days=rules.review_orange_after_days),
    }


def review_query(
    status: str, cutoff: datetime, *, after: ReviewCursor | None, limit: int
) -> Select[Contact]:
    """Contacts in `status` since before `cutoff`, longest first: a range scan of the (status,
    status_changed_at) index, never the whole table."""
    since = Contact.status_changed_at
    stmt = select(Contact).where(Contact.status == status, since < cutoff)
    if after is not None:
        # The leading `>=` is what the index can range over; the OR only breaks ties.
        stmt = stmt.where(since >= after.since, or_(since > after.since, Contact.id > after.id))
    if status == "red":
        stmt = stmt.where(
            ~exists().where(Purchase.contact_id == Contact.id, Purchase.purchased_at >= since)
        )
    return stmt.order_by(since, Contact.id).limit(limit)


async def review_page(
    session: AsyncSession,
    *,
    now: datetime,
    rules: Reports,
    after: ReviewCursor | None,
    limit: int,
) -> list[Contact]:
    """The weekly tag review, longest in its colour first: red for too long without a purchase
    since it turned red, and orange for too long. At most `limit` rows per colour, merged here."""
    found: list[Contact] = []
    for status, cutoff in review_cutoffs(now, rules).items():
        stmt = review_query(status, cutoff, after=after, limit=limit)
        found.extend(await session.scalars(stmt))
    found.sort(key=lambda c: (c.status_changed_at, c.id))
    return found[:limit]


async def agent_names(session: AsyncSession, contacts: list[Contact]) -> dict[int, str]:
    ids = {c.agent_id for c in contacts if c.agent_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))
    return dict(rows.all())
