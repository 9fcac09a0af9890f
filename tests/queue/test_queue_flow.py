"""The queue follows the rest of the system: the scheduler's plan shows, a send is a touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import ManualClock
from app.tagging import job
from app.whatsapp.client import DryRunCloudAPI
from tests.conftest import ADMIN
from tests.sending.test_worker import WA, customer_asks, register, sender


async def item_of(client: httpx.AsyncClient, day: str) -> dict | None:
    r = await client.get("/queues/today", params={"date": day}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return next((i for i in r.json()["items"] if i["wa_id"] == WA), None)


async def test_planned_follow_up_shows_and_our_send_counts_as_a_touch(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession, clock: ManualClock
) -> None:
    await register(writer, "offer_followup", body=["name"])
    await customer_asks(app, client, "how much is the stroller?", at=clock.now())

    # Planning (nothing due yet) puts the follow-up in the item.
    dry = DryRunCloudAPI()
    await sender(app, dry, clock.now()).run_once(clock.now())
    item = await item_of(client, "2026-11-23")
    assert item is not None
    assert (item["kind"], item["template"]) == ("reply", "offer_followup")
    assert item["planned_send_at"] == "2026-11-23T22:00:00Z"

    # The follow-up goes out next morning (quiet hours in Berlin); the tag job then sees the send
    # and the item becomes the red follow-up 24 h after it.
    morning = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    clock.set(morning)
    report = await sender(app, dry, morning).run_once(morning)
    assert report.sent == 1
    await job.run_once(app.state.sessionmaker, clock, app.state.tagging.ruleset)
    assert await item_of(client, "2026-11-24") is None
    follow = await item_of(client, "2026-11-25")
    assert follow is not None
    assert follow["kind"] == "follow_up"
    assert follow["due_at"] == (morning + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert follow["window_open"] is True  # the customer wrote at 10:00 yesterday
    assert follow["window_closes_at"] == "2026-11-24T10:00:00Z"

    clock.set(morning + timedelta(hours=3))
    later = await item_of(client, "2026-11-25")
    assert later is not None
    assert (later["window_open"], later["needs_template"]) == (False, True)
