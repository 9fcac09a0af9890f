"""The report job: alerts open and close with their conditions and log once; the periodic task,
the CLI, and one replica at a time on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import asyncpg
import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main
from app.clock import ManualClock
from app.contacts.models import Contact
from app.log import JsonFormatter
from app.reports import job, snapshots
from app.reports.models import ReportSnapshot, TeamAlert
from tests.conftest import ADMIN, ADMIN_TOKEN, APP_SECRET, START
from tests.databases import DatabaseFactory
from tests.reports.factories import make_contact

DAY = timedelta(days=1)


async def take(app: FastAPI, **kw) -> job.service.Summary | None:
    return await job.run_once(
        app.state.sessionmaker, app.state.clock, app.state.tagging.ruleset.reports, **kw
    )


async def alerts(session: AsyncSession) -> list[TeamAlert]:
    await session.rollback()
    return list(await session.scalars(select(TeamAlert).order_by(TeamAlert.id)))


def started_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(r))
        for r in caplog.records
        if r.getMessage() == "team alert started"
    ]


async def test_an_alert_opens_once_logs_once_and_closes(
    app: FastAPI, writer: AsyncSession, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.reports")
    clock: ManualClock = app.state.clock
    # 3 of 10 red (30 % > 15 %); 5 of 10 highly active (no activity alert).
    for i in range(10):
        await make_contact(
            writer, status="red" if i < 3 else "green", activity="high" if i < 5 else "low"
        )
    await writer.commit()

    summary = await take(app, force=True)
    assert summary is not None
    assert summary.alerts_started == ["red_high"]
    (row,) = await alerts(session)
    assert (row.name, row.value, row.threshold, row.started_at, row.ended_at) == (
        "red_high",
        0.3,
        0.15,
        START,
        None,
    )
    assert row.details == {"red": 3, "total": 10}
    (line,) = started_lines(caplog)
    assert (line["level"], line["alert"], line["value"], line["threshold"]) == (
        "warning",
        "red_high",
        0.3,
        0.15,
    )

    # Still red-heavy an hour later: the same row, its value followed, no second log line.
    await make_contact(writer, status="red", activity="high")
    await writer.commit()
    clock.advance(timedelta(hours=1))
    summary = await take(app)
    assert summary is not None
    assert summary.alerts_started == []
    assert [a.name for a in summary.alerts_open] == ["red_high"]
    (row,) = await alerts(session)
    assert (row.value, row.ended_at) == (0.3636, None)
    assert len(started_lines(caplog)) == 1

    # The reds are worked: the alert ends.
    await writer.execute(update(Contact).values(status="green"))
    await writer.commit()
    clock.advance(timedelta(hours=1))
    summary = await take(app)
    assert summary is not None
    assert summary.alerts_ended == ["red_high"]
    (row,) = await alerts(session)
    assert row.ended_at == START + timedelta(hours=2)
    assert any(r.getMessage() == "team alert ended" for r in caplog.records)

    # ...and a new episode is a new row.
    await writer.execute(update(Contact).where(Contact.id <= 4).values(status="red"))
    await writer.commit()
    clock.advance(timedelta(hours=1))
    await take(app)
    rows = await alerts(session)
    assert [(a.name, a.ended_at is None) for a in rows] == [("red_high", False), ("red_high", True)]
    assert len(started_lines(caplog)) == 2


async def test_grey_rising_needs_the_snapshot_of_a_week_ago(
    app: FastAPI, writer: AsyncSession, session: AsyncSession
) -> None:
    clock: ManualClock = app.state.clock
    for _ in range(10):
        await make_contact(writer, status="grey", activity="high")
    for _ in range(20):
        await make_contact(writer, status="green", activity="high")
    await writer.commit()
    await take(app, force=True)
    for _ in range(3):
        await make_contact(writer, status="grey", activity="high")
    await writer.commit()

    clock.advance(6 * DAY)  # no snapshot from 7 days ago yet
    await take(app)
    assert await alerts(session) == []

    clock.advance(DAY)  # now there is one: 13 grey against 10 is +30 %
    summary = await take(app)
    assert summary is not None
    assert summary.alerts_started == ["grey_rising"]
    (row,) = await alerts(session)
    assert (row.value, row.threshold) == (0.3, 0.2)
    assert row.details == {"grey": 13, "grey_week_ago": 10}


async def test_the_app_takes_a_snapshot_soon_after_start(
    app: FastAPI, session: AsyncSession
) -> None:
    reports_job = job.ReportJob(
        app.state.sessionmaker,
        app.state.clock,
        app.state.tagging.ruleset.reports,
        first_after_seconds=0,
    )
    reports_job.start()
    try:
        for _ in range(200):
            await session.rollback()
            if await session.scalar(select(ReportSnapshot.id).limit(1)) is not None:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the job took no snapshot")
    finally:
        await reports_job.stop()
    await session.rollback()
    names = set(await session.scalars(select(ReportSnapshot.name)))
    assert names == {snapshots.TAGS, snapshots.FALSE_REDS}


async def cli(database_url: str, *args: str) -> Result:
    env = {
        "DATABASE_URL": database_url,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WHATSAPP_VERIFY_TOKEN": "v",
        "LOG_LEVEL": "ERROR",
    }
    return await asyncio.to_thread(
        CliRunner().invoke, main, list(args), env=env, catch_exceptions=False
    )


async def test_cli_takes_a_snapshot_at_the_given_moment(
    app: FastAPI, writer: AsyncSession, client: httpx.AsyncClient, database_url: str
) -> None:
    for i in range(4):
        await make_contact(writer, status="red" if i == 0 else "green", activity="high")
    await writer.commit()
    result = await cli(database_url, "reports", "snapshot", "--now", "2026-11-20T08:00:00Z")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["day"] == "2026-11-20"
    assert summary["computed_at"] == "2026-11-20T08:00:00+00:00"
    assert summary["total_contacts"] == 4
    assert summary["shares"] == {"activity_high": 1.0, "status_red": 0.25, "status_grey": 0.0}
    assert summary["alerts"]["started"] == ["red_high"]
    # The stored snapshot is what the reports read.
    response = await client.get("/reports/tags?from=2026-11-20&to=2026-11-20", headers=ADMIN)
    assert [d["day"] for d in response.json()["days"]] == ["2026-11-20"]


async def test_cli_refuses_a_time_without_zone(app: FastAPI, database_url: str) -> None:
    result = await cli(database_url, "reports", "snapshot", "--now", "2026-11-20T08:00:00")
    assert result.exit_code == 2
    assert "time zone" in result.output


@pytest.mark.postgres
async def test_one_replica_at_a_time_on_postgresql(
    app: FastAPI, client: httpx.AsyncClient, databases: DatabaseFactory, database_url: str
) -> None:
    if databases.backend != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): advisory locks")
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    other = await asyncpg.connect(dsn)  # another replica, in the middle of its snapshot
    try:
        await other.execute("BEGIN")
        assert await other.fetchval("SELECT pg_try_advisory_xact_lock($1)", snapshots.LOCK_KEY)
        assert await take(app, force=True) is None
        response = await client.post("/reports/snapshot", headers=ADMIN)
        assert response.status_code == 409
        await other.execute("COMMIT")
        assert await take(app, force=True) is not None
    finally:
        await other.close()
