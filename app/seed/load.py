"""Writes a synthetic data set: agent accounts with their API keys, then contacts with their
messages, tag events and orders in batches: on PostgreSQL COPY from one process per core (telling
the stories costs more than storing them), on SQLite multi-row INSERTs in one transaction.

Contact and message ids are given, not drawn from the sequences, so that messages and tag events
can name them in the same batch; the sequences are moved past them at the end. Meant for a quiet
database (demo or benchmark): concurrent writers could take the same ids meanwhile. On PostgreSQL
each process commits its own share: after a failure, start again on an empty database.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import operator
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.access import service as access
from app.agents import service as agents_service
from app.contacts.models import Contact, Message, Purchase
from app.db.base import Base
from app.db.engine import create_sessionmaker
from app.db.session import session_scope
from app.seed import plots, samples
from app.seed.story import MESSAGE_SLOTS, Rows, Teller
from app.tagging.models import TagEvent
from app.tagging.ruleset import Ruleset, defaults

BATCH = 10_000
# Fresh statistics for what was loaded: with none, the planner guesses the new rows' spread and
# can take a plan that reads a million index entries for a page (seen on tag_event).
ANALYZED = ("contact", "message", "tag_event", "purchase", "agent")

# (attribute of Rows, table), in the order the foreign keys need.
TABLES: tuple[tuple[str, Table], ...] = tuple(
    (attr, Base.metadata.tables[model.__tablename__])
    for attr, model in (
        ("contacts", Contact),
        ("messages", Message),
        ("tag_events", TagEvent),
        ("purchases", Purchase),
    )
)


@dataclass(frozen=True)
class AgentKey:
    name: str
    timezone: str
    api_key: str | None  # None: the account was there already, and its key was shown back then


@dataclass(frozen=True)
class Seeded:
    contacts: int
    messages: int
    tag_events: int
    purchases: int
    agents: tuple[AgentKey, ...]


@dataclass(frozen=True)
class Plan:
    """What every batch of a run shares; sent to the worker processes as it is."""

    now: datetime
    ruleset: Ruleset
    seed: int
    first_id: int
    message_base: int
    agent_ids: tuple[int, ...]

    def rows(self, teller: Teller, index: int, count: int) -> Rows:
        return plots.batch(
            teller,
            seed=self.seed,
            index=index,
            count=count,
            first_id=self.first_id + index,
            message_base=self.message_base,
            agent_ids=self.agent_ids,
        )


async def seed(
    engine: AsyncEngine,
    n: int,
    *,
    now: datetime,
    seed: int = 7,
    agents: int = 5,
    batch: int = BATCH,
    ruleset: Ruleset | None = None,
    workers: int | None = None,
) -> Seeded:
    """n synthetic contacts as of `now`, shared round-robin among `agents` agent accounts (made
    if new). The same seed on an empty database gives the same data, whatever the workers."""
    keys, agent_ids = await _agents(engine, agents, now)
    async with engine.connect() as conn:
        first_id = (await conn.scalar(select(func.max(Contact.id))) or 0) + 1
        last_message = await conn.scalar(select(func.max(Message.id))) or 0
    plan = Plan(
        now=now,
        ruleset=ruleset or defaults(),
        seed=seed,
        first_id=first_id,
        message_base=last_message + 1 - first_id * MESSAGE_SLOTS,
        agent_ids=tuple(agent_ids),
    )
    shares = [(index, min(batch, n - index)) for index in range(0, n, batch)]
    if engine.dialect.name == "postgresql":
        dsn = make_url(engine.url).set(drivername="postgresql")
        counts = await _copy_all(dsn.render_as_string(hide_password=False), plan, shares, workers)
    else:
        counts = await _insert(engine, plan, shares)
    contacts, messages, tag_events, purchases = counts
    return Seeded(contacts, messages, tag_events, purchases, agents=tuple(keys))


async def _agents(
    engine: AsyncEngine, count: int, now: datetime
) -> tuple[list[AgentKey], list[int]]:
    keys: list[AgentKey] = []
    ids: list[int] = []
    async with session_scope(create_sessionmaker(engine)) as session:
        for i in range(count):
            name, zone = samples.AGENTS[i % len(samples.AGENTS)]
            if i >= len(samples.AGENTS):
                name = f"{name}{i // len(samples.AGENTS) + 1}"
            token = None
            if await agents_service.find(session, name) is None:
                token = await access.create_key(
                    session, name=name, role="agent", now=now, timezone=zone
                )
            agent = await agents_service.get(session, name)
            keys.append(AgentKey(name, agent.timezone, token))
            ids.append(agent.id)
    return keys, ids


async def _copy_all(
    dsn: str, plan: Plan, shares: list[tuple[int, int]], workers: int | None
) -> list[int]:
    import asyncpg  # PostgreSQL only; COPY is an order of magnitude faster than INSERTs

    workers = min(workers or os.cpu_count() or 1, len(shares))
    if workers <= 1:
        counts = await _copy(dsn, plan, shares)
    else:
        loop = asyncio.get_running_loop()
        # spawn: a fork would copy this process's event loop and connections into the children.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, _copy_in_process, dsn, plan, shares[k::workers])
                    for k in range(workers)
                )
            )
        counts = [sum(column) for column in zip(*parts, strict=True)]
    conn = await asyncpg.connect(dsn)
    try:
        for name in ("contact", "message"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))"
            )
        await conn.execute(f"ANALYZE {', '.join(ANALYZED)}")
    finally:
        await conn.close()
    return counts


def _copy_in_process(dsn: str, plan: Plan, shares: list[tuple[int, int]]) -> list[int]:
    return asyncio.run(_copy(dsn, plan, shares))


async def _copy(dsn: str, plan: Plan, shares: list[tuple[int, int]]) -> list[int]:
    """Tells and COPYs the given batches through one connection, in one transaction."""
    import asyncpg

    teller = Teller(plan.now, plan.ruleset)
    counts = [0] * len(TABLES)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for index, count in shares:
                rows = plan.rows(teller, index, count)
                for i, (attr, table) in enumerate(TABLES):
                    records: list[dict[str, Any]] = getattr(rows, attr)
                    if records:
                        columns = list(records[0])
                        await conn.copy_records_to_table(
                            table.name, records=_tuples(table, columns, records), columns=columns
                        )
                        counts[i] += len(records)
    finally:
        await conn.close()
    return counts


def _tuples(
    table: Table, columns: Sequence[str], records: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    # asyncpg takes JSON documents as text; None becomes JSON null, as the ORM stores it.
    documents = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    values = operator.itemgetter(*columns)
    dumps = json.dumps
    out = []
    for record in records:
        row = list(values(record))
        for i in documents:
            row[i] = dumps(row[i])
        out.append(tuple(row))
    return out


async def _insert(engine: AsyncEngine, plan: Plan, shares: list[tuple[int, int]]) -> list[int]:
    teller = Teller(plan.now, plan.ruleset)
    counts = [0] * len(TABLES)
    async with engine.begin() as conn:
        for index, count in shares:
            rows = plan.rows(teller, index, count)
            for i, (attr, table) in enumerate(TABLES):
                records = getattr(rows, attr)
                if records:
                    await conn.execute(insert(table), records)
                    counts[i] += len(records)
        for name in ANALYZED:  # SQLite analyses one table per statement
            await conn.exec_driver_sql(f"ANALYZE {name}")
    return counts
