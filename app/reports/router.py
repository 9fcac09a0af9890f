"""/reports and /alerts routes (admins only): read stored snapshots, never scan contacts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.contacts.models import Contact
from app.contacts.router import tags_read
from app.deps import AdminDep, ClockDep, SessionDep, TaggingDep
from app.errors import BadRequest, Conflict, NotFound
from app.reports import service, snapshots
from app.reports.models import ReportSnapshot
from app.reports.schemas import (
    AlertList,
    AlertRead,
    ConversionReport,
    FalseRedReport,
    ReviewItem,
    ReviewPage,
    SnapshotSummary,
    TagDay,
    TagHistory,
    ValueConversion,
    ValueShare,
)
from app.tagging.ruleset import Reports
from app.tagging.service import tags_of

router = APIRouter(tags=["reports"])

MAX_DAYS = 366
DIMENSIONS = snapshots.SCALAR_DIMENSIONS + snapshots.SET_DIMENSIONS

DimensionQuery = Annotated[
    str | None, Query(description=f"only this dimension: {', '.join(DIMENSIONS)}")
]


def _checked(dimension: str | None) -> str | None:
    if dimension is not None and dimension not in DIMENSIONS:
        raise BadRequest(f"dimension must be one of {', '.join(DIMENSIONS)}")
    return dimension


def _dimensions(data: dict[str, Any], only: str | None) -> dict[str, dict[str, Any]]:
    dims: dict[str, dict[str, Any]] = data.get("dimensions", {})
    return {d: values for d, values in dims.items() if only is None or d == only}


def _no_snapshot(what: str) -> NotFound:
    return NotFound(
        f"no {what} snapshot yet: the report job takes the first shortly after start, "
        "or POST /reports/snapshot takes one now"
    )


@router.get("/reports/tags", response_model=TagHistory)
async def tag_distribution(
    session: SessionDep,
    _: AdminDep,
    clock: ClockDep,
    start: Annotated[
        date | None, Query(alias="from", description="first day (UTC); default 29 days before to")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="last day; default today")] = None,
    dimension: DimensionQuery = None,
) -> TagHistory:
    """How many contacts held each tag value, day by day, from the daily snapshots (each day's
    last snapshot). Days without a snapshot are left out."""
    dimension = _checked(dimension)
    end = end or snapshots.day_of(clock.now())
    start = start or end - timedelta(days=29)
    if start > end:
        raise BadRequest("from must not be after to")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"at most {MAX_DAYS} days at a time")
    rows = await service.tag_history(session, start=start, end=end)
    days = [_tag_day(row, dimension) for row in rows]
    return TagHistory.model_validate({"from": start, "to": end, "days": days})


def _tag_day(row: ReportSnapshot, dimension: str | None) -> TagDay:
    return TagDay(
        day=row.day,
        computed_at=row.computed_at,
        total=row.data.get("total", 0),
        dimensions={
            d: {
                v: ValueShare(contacts=cell["contacts"], share=cell["share"])
                for v, cell in values.items()
            }
            for d, values in _dimensions(row.data, dimension).items()
        },
    )


@router.get("/reports/conversion", response_model=ConversionReport)
async def conversion(
    session: SessionDep, _: AdminDep, dimension: DimensionQuery = None
) -> ConversionReport:
    """Per tag value, the share of the contacts holding it (at the latest snapshot) who bought
    within the conversion window before it."""
    dimension = _checked(dimension)
    row = await service.latest(session, snapshots.TAGS)
    if row is None:
        raise _no_snapshot("tags")
    return ConversionReport(
        day=row.day,
        computed_at=row.computed_at,
        total=row.data.get("total", 0),
        conversion_window_days=row.data.get("conversion_window_days", 0),
        dimensions={
            d: sorted(
                (
                    ValueConversion(
                        value=v,
                        contacts=cell["contacts"],
                        converted=cell["converted"],
                        conversion=cell["conversion"],
                    )
                    for v, cell in values.items()
                ),
                key=lambda c: (-c.contacts, c.value),
            )
            for d, values in _dimensions(row.data, dimension).items()
        },
    )


@router.get("/reports/false-reds", response_model=FalseRedReport)
async def false_reds(session: SessionDep, _: AdminDep) -> FalseRedReport:
    """Per rule that turned contacts red in the last 30 days: how often those reds were followed
    by a purchase; a rule converting below the threshold is a false red."""
    row = await service.latest(session, snapshots.FALSE_REDS)
    if row is None:
        raise _no_snapshot("false reds")
    return FalseRedReport.model_validate(
        {**row.data, "day": row.day, "computed_at": row.computed_at}
    )


@router.get("/reports/review", response_model=ReviewPage)
async def review(
    session: SessionDep,
    _: AdminDep,
    clock: ClockDep,
    tagging: TaggingDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ReviewPage:
    """The weekly tag review: contacts red for longer than review_red_after_days with no
    purchase since, and orange for longer than review_orange_after_days; longest first."""
    now = clock.now()
    rules = tagging.ruleset.reports
    found = await service.review_page(
        session,
        now=now,
        rules=rules,
        after=service.ReviewCursor.decode(cursor) if cursor else None,
        limit=limit,
    )
    agents = await service.agent_names(session, found)
    last = found[-1] if len(found) == limit else None
    return ReviewPage(
        generated_at=now,
        red_after_days=rules.review_red_after_days,
        orange_after_days=rules.review_orange_after_days,
        items=[_review_item(c, agents, now, rules) for c in found],
        next_cursor=service.ReviewCursor(last.status_changed_at, last.id).encode()
        if last is not None and last.status_changed_at is not None
        else None,
    )


def _review_item(
    contact: Contact, agents: dict[int, str], now: datetime, rules: Reports
) -> ReviewItem:
    assert contact.status is not None
    assert contact.status_changed_at is not None
    days = (now - contact.status_changed_at).total_seconds() / 86400
    after = (
        rules.review_red_after_days if contact.status == "red" else rules.review_orange_after_days
    )
    no_purchase = " without a purchase" if contact.status == "red" else ""
    return ReviewItem(
        wa_id=contact.wa_id,
        user_id=contact.user_id,
        name=contact.name,
        agent=agents.get(contact.agent_id) if contact.agent_id else None,
        status=contact.status,
        since=contact.status_changed_at,
        days_in_status=round(days, 1),
        reason=f"{contact.status} for {days:.0f} days{no_purchase} (review after {after:g})",
        last_inbound_at=contact.last_inbound_at,
        tags=tags_read(contact, tags_of(contact)),
    )


@router.get("/alerts", response_model=AlertList)
async def alerts(session: SessionDep, _: AdminDep, clock: ClockDep) -> AlertList:
    """Team alerts: those open now, and those that ended in the last 30 days."""
    now = clock.now()
    found = await service.team_alerts(session, now=now)
    return AlertList(
        generated_at=now,
        items=[AlertRead.model_validate(service.alert_json(a)) for a in found],
    )


@router.post("/reports/snapshot", response_model=SnapshotSummary)
async def snapshot(
    session: SessionDep, _: AdminDep, clock: ClockDep, tagging: TaggingDep
) -> SnapshotSummary:
    """Take today's snapshot now (as the periodic job does) and update the team alerts."""
    summary = await service.take_snapshot(
        session, now=clock.now(), rules=tagging.ruleset.reports, force=True
    )
    if summary is None:
        raise Conflict("another replica is taking a snapshot right now; read it in a moment")
    return SnapshotSummary.model_validate(summary.as_json())
