"""Contacts with their tags as CSV, streamed page by page (keyset on id): a million contacts
never sit in memory, and no long transaction holds the database while a client reads slowly."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.models import Agent
from app.contacts.models import Contact
from app.db.engine import READ_ONLY
from app.tagging import rules
from app.transfer import cells

PAGE_SIZE = 1000
SET_SEPARATOR = "|"
BOM = "\ufeff"
FACTS = (
    "wa_id",
    "user_id",
    "name",
    "country",
    "timezone",
    "language",
    "source",
    "opted_out",
    "agent",
    "first_seen_at",
    "last_inbound_at",
)
COLUMNS = (*FACTS, *rules.DIMENSIONS)


@dataclass(frozen=True)
class Scope:
    """Which contacts: one agent's (None: everyone's) and, when given, only these colours."""

    agent_id: int | None = None
    statuses: tuple[str, ...] = ()


def _query(scope: Scope) -> Select[Any]:
    # The id first (the page cursor), then COLUMNS in order.
    stmt = select(
        Contact.id,
        *(Agent.name if c == "agent" else getattr(Contact, c) for c in COLUMNS),
    ).outerjoin(Agent, Agent.id == Contact.agent_id)
    if scope.agent_id is not None:
        stmt = stmt.where(Contact.agent_id == scope.agent_id)
    if scope.statuses:
        stmt = stmt.where(Contact.status.in_(scope.statuses))
    return stmt.order_by(Contact.id).limit(PAGE_SIZE)


async def chunks(
    maker: async_sessionmaker[AsyncSession], scope: Scope, *, bom: bool = False
) -> AsyncIterator[bytes]:
    """The file: the header, then one chunk per page of contacts."""
    yield _lines([COLUMNS], prefix=BOM if bom else "")
    stmt = _query(scope)
    after = 0
    while True:
        # One short read per page; a page's rows are already past when the next one is read.
        async with maker() as session:
            await session.connection(execution_options={READ_ONLY: True})
            rows = (await session.execute(stmt.where(Contact.id > after))).all()
        if not rows:
            return
        yield _lines([_cells(row[1:]) for row in rows])
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1].id


def _cells(values: Sequence[Any]) -> list[str]:
    """One contact's cells, in COLUMNS order. Hot: it runs for every contact of the file."""
    out = []
    for value in values:
        if value is None:
            out.append("")
        elif isinstance(value, str):
            out.append(cells.escape(value))
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, datetime):
            out.append(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        elif isinstance(value, list):  # the set dimensions, stored as JSON lists
            out.append(cells.escape(SET_SEPARATOR.join(sorted(value))))
        else:
            out.append(str(value))
    return out


def _lines(rows: Sequence[Sequence[str]], *, prefix: str = "") -> bytes:
    buffer = io.StringIO()
    buffer.write(prefix)
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
