"""GET /reports/review: red too long without a purchase, orange too long; longest first, paged."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import service as access
from app.agents import service as agents
from app.reports import service
from app.tagging.ruleset import defaults
from tests.conftest import ADMIN, START
from tests.databases import DatabaseFactory
from tests.reports.factories import make_contact, make_purchase

DAY = timedelta(days=1)


async def walk(client: httpx.AsyncClient, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        params: dict = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/reports/review", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["name"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_review_list_order_filters_and_paging(
    app: FastAPI, client: httpx.AsyncClient, writer: AsyncSession
) -> None:
    await access.create_key(writer, name="alice", role="agent", now=START)
    alice = await agents.get(writer, "alice")

    async def at(name: str, status: str, days: float, **over):
        return await make_contact(
            writer, name=name, status=status, status_changed_at=START - days * DAY, **over
        )

    # Defaults: red for more than 3 days without a purchase since; orange for more than 14.
    await at("red 10d", "red", 10, agent_id=alice.id)
    bought_after = await at("red 10d, bought since", "red", 10)
    await make_purchase(writer, bought_after, START - 2 * DAY)
    bought_before = await at("red 5d, bought before", "red", 5)
    await make_purchase(writer, bought_before, START - 8 * DAY)
    await at("red 2d", "red", 2)
    await at("red exactly 3d", "red", 3)
    await at("orange 20d", "orange", 20)
    for name in ("orange 15d a", "orange 15d b", "orange 15d c"):  # one moment: ids break ties
        await at(name, "orange", 15)
    await at("orange 10d", "orange", 10)
    await at("green 100d", "green", 100)
    await at("grey 100d", "grey", 100)
    await writer.commit()

    expected = [
        "orange 20d",
        "orange 15d a",
        "orange 15d b",
        "orange 15d c",
        "red 10d",
        "red 5d, bought before",
    ]
    whole = await client.get("/reports/review", headers=ADMIN)
    body = whole.json()
    assert [i["name"] for i in body["items"]] == expected
    assert body["next_cursor"] is None
    assert (body["red_after_days"], body["orange_after_days"]) == (3, 14)
    red = body["items"][4]
    assert red["agent"] == "alice"
    assert red["status"] == "red"
    assert red["since"] == "2026-11-13T10:00:00Z"
    assert red["days_in_status"] == 10.0
    assert red["reason"] == "red for 10 days without a purchase (review after 3)"
    assert body["items"][0]["reason"] == "orange for 20 days (review after 14)"

    for limit in (1, 2, 3, 6):
        pages = await walk(client, limit)
        assert [name for page in pages for name in page] == expected
        assert all(len(page) == limit for page in pages[:-1])


async def test_a_foreign_cursor_is_400(app: FastAPI, client: httpx.AsyncClient) -> None:
    for cursor in ("not-a-cursor", "MjAyNi0xMS0yM1QxMDowMDowMHwx"):  # the second: no time zone
        response = await client.get("/reports/review", params={"cursor": cursor}, headers=ADMIN)
        assert response.status_code == 400


@pytest.mark.postgres
async def test_review_reads_contacts_through_the_status_index(
    app: FastAPI, session: AsyncSession, databases: DatabaseFactory
) -> None:
    if databases.backend != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): EXPLAIN of its planner")
    rules = defaults().reports
    after = service.ReviewCursor(START - 20 * DAY, 7)
    for status, cutoff in service.review_cutoffs(START, rules).items():
        stmt = service.review_query(status, cutoff, after=after, limit=50)
        sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        # A table of a few rows is cheapest to read whole; with that option off, the planner
        # shows whether the query can be answered from the index at all.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(await session.scalars(text(f"EXPLAIN {sql}")))
        assert "ix_contact_status_since" in plan, plan
        assert "Seq Scan on contact" not in plan, plan
