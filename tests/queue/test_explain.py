"""The queue reads through its indexes, whatever the number of contacts: EXPLAIN of the exact SQL
that GET /queues/today sends (captured from the app's engine during real requests), on a seeded
database of a few thousand contacts after ANALYZE. The speed itself is bench/queue_today.py's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import ManualClock
from app.seed import seed
from tests.conftest import ADMIN

CONTACTS = 3000

# (case, who asks, query, the index its page statements must range over). One seeded database
# serves them all: seeding costs more than the checks.
CASES = [
    ("agent", "agent", {}, "ix_contact_queue_agent"),
    ("agent, next page", "agent", {"page": 2}, "ix_contact_queue_agent"),
    ("all agents", "admin", {}, "ix_contact_queue_all"),
    ("all agents, next page", "admin", {"page": 2}, "ix_contact_queue_all"),
    ("status filter", "agent", {"status": "orange,green"}, "ix_contact_queue_agent"),
    ("set tag", "agent", {"tag": "interests:discount_sensitive"}, "ix_contact_queue_agent"),
    ("scalar tag", "admin", {"tag": "country:DE"}, "ix_contact_queue_all"),
]


@pytest.fixture
async def agent_key(app: FastAPI, clock: ManualClock) -> str:
    engine: AsyncEngine = app.state.engine
    done = await seed(engine, CONTACTS, now=clock.now(), agents=3)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE")
    assert done.agents[0].api_key is not None
    return done.agents[0].api_key


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs sent to the database meanwhile, as sent: SQL and driver parameters."""
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append((sql, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)


async def queue_statements(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], query: dict[str, Any]
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(page statements, all statements) of one request; page 2 follows page 1's cursor."""
    params = {k: v for k, v in query.items() if k != "page"}
    if query.get("page") == 2:
        first = await client.get("/queues/today", params=params, headers=headers)
        assert first.status_code == 200, first.text
        params["cursor"] = first.json()["next_cursor"]
        assert params["cursor"], "a seeded queue has more than one page"
    with captured(app.state.engine) as statements:
        r = await client.get("/queues/today", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"], "the seeded queue has work today"
    page = [(sql, p) for sql, p in statements if "FROM contact" in sql and "queue_rank" in sql]
    assert page, "the request read the queue"
    return page, statements


async def explain(engine: AsyncEngine, sql: str, parameters: Any) -> Any:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET enable_seqscan = on")
            plan = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, parameters)).scalar()
            return json.loads(plan) if isinstance(plan, str) else plan
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
        return [str(row[-1]) for row in rows]


def pg_nodes(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, list):
        for entry in plan:
            yield from pg_nodes(entry)
    elif isinstance(plan, dict):
        if "Node Type" in plan:
            yield plan
        for key in ("Plan", "Plans"):
            if key in plan:
                yield from pg_nodes(plan[key])


async def test_queue_statements_range_over_the_queue_index(
    app: FastAPI, client: httpx.AsyncClient, agent_key: str
) -> None:
    for case, who, query, index in CASES:
        headers = {"Authorization": f"Bearer {agent_key}"} if who == "agent" else ADMIN
        page, everything = await queue_statements(app, client, headers, query)
        for sql, parameters in page:
            check_page(case, index, await explain(app.state.engine, sql, parameters))
        # The explanations loaded for the page do not scan the contacts either.
        for sql, parameters in everything:
            check_no_contact_scan(case, sql, await explain(app.state.engine, sql, parameters))


def check_page(case: str, index: str, plan: Any) -> None:
    if isinstance(plan, list) and all(isinstance(line, str) for line in plan):  # SQLite
        assert any(line.startswith(f"SEARCH contact USING INDEX {index} ") for line in plan), (
            case,
            plan,
        )
        assert not any(line.startswith("SCAN contact") for line in plan), (case, plan)
        assert not any("TEMP B-TREE" in line for line in plan), (case, plan)
        return
    # An index scan, or on so few rows a bitmap scan of the same index and a sort of what it
    # found; at scale the planner takes the index in order and stops at the LIMIT (the benchmark
    # shows it). Either way a range of the queue index, never the table.
    used = {n["Index Name"] for n in pg_nodes(plan) if "Index Name" in n}
    assert used == {index}, (case, used, json.dumps(plan, indent=1))
    check_no_contact_scan(case, "", plan)


def check_no_contact_scan(case: str, sql: str, plan: Any) -> None:
    if isinstance(plan, list) and all(isinstance(line, str) for line in plan):  # SQLite
        full = [line for line in plan if line.startswith("SCAN contact") and "INDEX" not in line]
        assert not full, (case, sql, plan)
        return
    scans = [
        n
        for n in pg_nodes(plan)
        if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "contact"
    ]
    assert not scans, (case, sql, json.dumps(plan, indent=1))
