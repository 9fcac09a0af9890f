"""Snapshot numbers: tag distribution and conversion, false reds, one row per report and day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.reports import job, snapshots
from app.reports.models import ReportSnapshot
from tests.conftest import ADMIN, START, post_webhook, processed
from tests.payloads import text_message
from tests.reports.factories import make_contact, make_purchase, make_red

DAY = timedelta(days=1)


async def take(app: FastAPI, **kw: Any) -> job.service.Summary | None:
    return await job.run_once(
        app.state.sessionmaker, app.state.clock, app.state.tagging.ruleset.reports, **kw
    )


async def stored(session: AsyncSession, name: str) -> dict[str, Any]:
    await session.rollback()
    row = (
        await session.scalars(
            select(ReportSnapshot)
            .where(ReportSnapshot.name == name)
            .order_by(ReportSnapshot.day.desc())
        )
    ).first()
    assert row is not None
    return dict(row.data)


async def test_tag_counts_and_conversion_per_value(
    app: FastAPI, writer: AsyncSession, session: AsyncSession
) -> None:
    window = timedelta(days=30)  # reports.conversion_window_days
    bought_recently = await make_contact(
        writer,
        activity="high",
        intent="high",
        status="red",
        interests=["discount_sensitive", "novelty_seeking"],
        categories=["3c"],
    )
    at_window_start = await make_contact(
        writer, activity="high", status="green", interests=["discount_sensitive"]
    )
    just_before_window = await make_contact(writer, activity="dormant", status="grey")
    bought_in_future = await make_contact(writer, activity="dormant", status="grey")
    await make_contact(writer)  # no tags at all
    await make_purchase(writer, bought_recently, START - 5 * DAY)
    await make_purchase(writer, at_window_start, START - window)
    await make_purchase(writer, just_before_window, START - window - timedelta(seconds=1))
    await make_purchase(writer, bought_in_future, START + DAY)
    await writer.commit()

    summary = await take(app, force=True)
    assert summary is not None
    assert summary.total_contacts == 5
    data = await stored(session, snapshots.TAGS)
    dims = data["dimensions"]
    assert data["total"] == 5
    assert dims["activity"] == {
        "high": {"contacts": 2, "share": 0.4, "converted": 2, "conversion": 1.0},
        "dormant": {"contacts": 2, "share": 0.4, "converted": 0, "conversion": 0.0},
        "unset": {"contacts": 1, "share": 0.2, "converted": 0, "conversion": 0.0},
    }
    assert dims["status"]["red"] == {"contacts": 1, "share": 0.2, "converted": 1, "conversion": 1.0}
    assert dims["status"]["grey"]["contacts"] == 2
    assert dims["intent"]["high"]["contacts"] == 1
    assert dims["source"] == {
        "unknown": {"contacts": 5, "share": 1.0, "converted": 2, "conversion": 0.4}
    }
    # Set dimensions count each member; a contact may count under several values.
    assert dims["interests"] == {
        "discount_sensitive": {"contacts": 2, "share": 0.4, "converted": 2, "conversion": 1.0},
        "novelty_seeking": {"contacts": 1, "share": 0.2, "converted": 1, "conversion": 1.0},
    }
    assert dims["categories"] == {
        "3c": {"contacts": 1, "share": 0.2, "converted": 1, "conversion": 1.0}
    }
    assert set(dims) == set(snapshots.SCALAR_DIMENSIONS + snapshots.SET_DIMENSIONS)


async def test_contacts_tagged_by_the_real_webhook_are_counted(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for i, text in enumerate(["how much is the power bank?", "thanks", "is it in stock?"]):
        body = text_message(f"wamid.s{i}", text, wa_id=f"4915100000{i:03d}", at=START)
        assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    await take(app, force=True)
    dims = (await stored(session, snapshots.TAGS))["dimensions"]
    assert dims["status"]["red"]["contacts"] == 2
    assert dims["intent"]["high"]["contacts"] == 2
    assert dims["activity"]["high"]["contacts"] == 3
    assert dims["categories"]["3c"]["contacts"] >= 1


async def test_false_reds_per_rule_with_phrases(
    app: FastAPI, writer: AsyncSession, session: AsyncSession
) -> None:
    # status.high_intent: 10 reds in the month, one followed by a purchase: 10 % < 20 %.
    for i in range(10):
        contact = await make_contact(writer, status="red")
        await make_red(
            writer, contact, START - (i + 1) * DAY, phrases=["how much"] + (["discount"] * (i % 2))
        )
        if i == 0:
            await make_purchase(writer, contact, START - DAY + timedelta(hours=3))
    # status.comparison: 10 reds, 3 followed by a purchase within the window: 30 %, not false.
    for i in range(10):
        contact = await make_contact(writer, status="red")
        red_at = START - 40 * DAY + timedelta(days=i + 11)  # 11-20 days into the last 30
        await make_red(writer, contact, red_at, rule="status.comparison", phrases=["vs"])
        if i < 3:
            await make_purchase(writer, contact, red_at + timedelta(days=2))
        elif i == 3:
            await make_purchase(writer, contact, red_at - timedelta(hours=1))  # before: no
    # Fewer than false_red_min_reds: never flagged, whatever its conversion.
    rare = await make_contact(writer, status="red")
    await make_red(writer, rare, START - DAY, rule="status.rare")
    # Older than 30 days: outside the report.
    old = await make_contact(writer, status="red")
    await make_red(writer, old, START - 31 * DAY, rule="status.old")
    await writer.commit()

    summary = await take(app, force=True)
    assert summary is not None
    assert summary.false_reds == ["status.high_intent"]
    data = await stored(session, snapshots.FALSE_REDS)
    rows = {r["rule"]: r for r in data["rules"]}
    assert set(rows) == {"status.high_intent", "status.comparison", "status.rare"}
    assert rows["status.high_intent"] == {
        "rule": "status.high_intent",
        "reds": 10,
        "contacts": 10,
        "converted": 1,
        "conversion": 0.1,
        "window_open": 9,
        "false_red": True,
        "phrases": [{"phrase": "how much", "count": 10}, {"phrase": "discount", "count": 5}],
    }
    assert rows["status.comparison"]["converted"] == 3
    assert rows["status.comparison"]["conversion"] == 0.3
    assert rows["status.comparison"]["false_red"] is False
    assert rows["status.rare"]["false_red"] is False
    assert data["since"] == (START - 30 * DAY).isoformat()
    assert (data["min_reds"], data["max_conversion"]) == (10, 0.2)


async def test_a_red_from_a_price_question_is_in_the_false_red_report(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    wa = "4915112345678"
    body = text_message("wamid.price", "how much is it?", wa_id=wa, at=START)
    assert (await post_webhook(client, body)).status_code == 200
    await processed(app)
    order = {
        "order_id": "A-1",
        "amount": "20",
        "currency": "EUR",
        "purchased_at": START.isoformat(),
    }
    assert (
        await client.post(f"/contacts/{wa}/purchases", json=order, headers=ADMIN)
    ).status_code == 201
    await take(app, force=True)
    (row,) = (await stored(session, snapshots.FALSE_REDS))["rules"]
    assert (row["rule"], row["reds"], row["converted"]) == ("status.high_intent", 1, 1)
    assert row["phrases"][0]["count"] == 1


async def test_one_row_per_report_and_day(
    app: FastAPI, writer: AsyncSession, session: AsyncSession
) -> None:
    clock: ManualClock = app.state.clock
    await make_contact(writer, status="green")
    await writer.commit()
    await take(app, force=True)
    await make_contact(writer, status="green")
    await writer.commit()
    clock.advance(timedelta(hours=2))
    await take(app, force=True)
    await session.rollback()
    rows = (await session.scalars(select(ReportSnapshot).order_by(ReportSnapshot.name))).all()
    assert [(r.name, r.day) for r in rows] == [
        ("false_reds", START.date()),
        ("tags", START.date()),
    ]
    assert rows[1].data["total"] == 2
    assert rows[1].computed_at == START + timedelta(hours=2)
    clock.advance(DAY)
    await take(app, force=True)
    await session.rollback()
    days = await session.scalars(
        select(ReportSnapshot.day).where(ReportSnapshot.name == "tags").order_by("day")
    )
    assert list(days) == [START.date(), START.date() + DAY]


async def test_the_job_keeps_the_period_across_replicas(app: FastAPI) -> None:
    """Unforced, a run right after another (here or on another replica) does not scan again."""
    clock: ManualClock = app.state.clock
    assert await take(app) is not None
    clock.advance(timedelta(minutes=20))  # less than half of snapshot_every_minutes (60)
    assert await take(app) is None
    clock.advance(timedelta(minutes=15))
    assert await take(app) is not None
    assert await take(app, force=True) is not None
