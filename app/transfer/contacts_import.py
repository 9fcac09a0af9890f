"""Contacts from CSV: every row is checked first, then all are stored in one transaction, or none.

New contacts get source `import`, country and time zone from the number unless given, and an
agent from the file or in turn. Existing contacts keep their source and what they already have:
an import only fills empty fields, and can opt a contact out but never back in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row as SqlRow
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact
from app.contacts.phone import facts_for
from app.tagging.models import TagEvent
from app.transfer import cells, csv_export
from app.transfer.table import Problem, Rejected, Row, read

COLUMNS = ("wa_id", "user_id", "name", "language", "country", "timezone", "agent", "opted_out")
# The rest of our own export's columns: an exported file imports as it is.
IGNORED = tuple(c for c in csv_export.COLUMNS if c not in COLUMNS)
FILLED = ("wa_id", "user_id", "name", "language", "country", "timezone")
PARSERS: dict[str, Callable[[str], Any]] = {
    "wa_id": cells.wa_id,
    "user_id": cells.user_id,
    "name": lambda v: cells.text(v, limit=1000),
    "language": cells.language,
    "country": cells.country,
    "timezone": cells.timezone,
    "opted_out": cells.boolean,
}
# Bound parameters per lookup query: well under SQLite's and asyncpg's limits.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Entry:
    """One valid row."""

    line: int
    wa_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    language: str | None = None
    country: str | None = None
    timezone: str | None = None
    agent_id: int | None = None
    opted_out: bool = False


@dataclass(frozen=True)
class ContactsImported:
    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int


@dataclass
class _Plan:
    creates: list[Entry] = field(default_factory=list)
    updates: list[tuple[Entry, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0


async def run(
    session: AsyncSession, text: str, *, now: datetime, dry_run: bool, by: str
) -> ContactsImported:
    """Raises Rejected, listing every problem by line, when any row is wrong."""
    table = read(text, columns=COLUMNS, one_of=("wa_id", "user_id"), ignored=IGNORED)
    problems = table.problems
    team = {a.name: a for a in (await session.scalars(select(Agent).order_by(Agent.name))).all()}
    entries = _entries(table.rows, team, problems)
    known = await _known(session, entries, lock=not dry_run)
    plan = _plan(entries, known, problems, now=now)
    if problems:
        raise Rejected(problems)
    if not dry_run:
        await _store(session, plan, team.values(), now=now, by=by)
    return ContactsImported(
        dry_run=dry_run,
        rows=len(table.rows),
        created=len(plan.creates),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
    )


def _entries(rows: Sequence[Row], team: dict[str, Agent], problems: list[Problem]) -> list[Entry]:
    entries = []
    first_line: dict[tuple[str, str], int] = {}
    for row in rows:
        values: dict[str, Any] = {}
        valid = True
        for column, parse in PARSERS.items():
            raw = row.get(column)
            if raw is None:
                continue
            try:
                values[column] = parse(raw)
            except cells.CellError as exc:
                problems.append(Problem(row.line, str(exc), column))
                valid = False
        agent_name = row.get("agent")
        if agent_name is not None:
            agent = team.get(agent_name)
            if agent is None:
                problems.append(Problem(row.line, _unknown_agent(agent_name, team), "agent"))
                valid = False
            else:
                values["agent_id"] = agent.id
        if row.get("wa_id") is None and row.get("user_id") is None:
            problems.append(Problem(row.line, "a contact needs a wa_id or a user_id"))
            valid = False
        for key in ("wa_id", "user_id"):
            if key in values:
                seen = first_line.setdefault((key, values[key]), row.line)
                if seen != row.line:
                    problems.append(
                        Problem(row.line, f"{values[key]} is on line {seen} already", key)
                    )
                    valid = False
        if valid:
            entries.append(Entry(line=row.line, **values))
    return entries


def _unknown_agent(name: str, team: dict[str, Agent]) -> str:
    names = sorted(team)
    listed = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
    return f"unknown agent {name!r}; " + (
        f"the agents are: {listed}" if names else "there are no agents yet (app apikey create)"
    )


@dataclass(frozen=True)
class _Known:
    by_wa_id: dict[str, SqlRow[Any]]
    by_user_id: dict[str, SqlRow[Any]]


async def _known(session: AsyncSession, entries: Sequence[Entry], *, lock: bool) -> _Known:
    """The stored contacts the rows name, locked when they are about to change."""
    wa_ids = [e.wa_id for e in entries if e.wa_id]
    user_ids = [e.user_id for e in entries if e.user_id]
    columns = (
        Contact.id,
        *(getattr(Contact, f) for f in FILLED),
        Contact.agent_id,
        Contact.opted_out,
    )
    by_wa_id: dict[str, SqlRow[Any]] = {}
    by_user_id: dict[str, SqlRow[Any]] = {}
    for chunk_wa, chunk_user in _chunks(wa_ids, user_ids):
        stmt = (
            select(*columns)
            .where(or_(Contact.wa_id.in_(chunk_wa), Contact.user_id.in_(chunk_user)))
            .order_by(Contact.id)
        )
        for row in (await session.execute(stmt.with_for_update() if lock else stmt)).all():
            if row.wa_id:
                by_wa_id[row.wa_id] = row
            if row.user_id:
                by_user_id[row.user_id] = row
    return _Known(by_wa_id, by_user_id)


def _chunks(a: list[str], b: list[str]) -> Iterable[tuple[list[str], list[str]]]:
    for start in range(0, max(len(a), len(b)), LOOKUP_CHUNK):
        yield a[start : start + LOOKUP_CHUNK], b[start : start + LOOKUP_CHUNK]


def _plan(
    entries: Sequence[Entry], known: _Known, problems: list[Problem], *, now: datetime
) -> _Plan:
    plan = _Plan()
    line_of_contact: dict[int, int] = {}
    for entry in entries:
        by_wa = known.by_wa_id.get(entry.wa_id) if entry.wa_id else None
        by_user = known.by_user_id.get(entry.user_id) if entry.user_id else None
        if by_wa is None and by_user is None:
            plan.creates.append(entry)
            continue
        if by_wa is not None and by_user is not None and by_wa.id != by_user.id:
            problems.append(
                Problem(
                    entry.line,
                    f"wa_id {entry.wa_id} and user_id {entry.user_id} belong to two different "
                    "contacts",
                )
            )
            continue
        contact = by_wa or by_user
        assert contact is not None
        conflict = _identity_conflict(entry, contact)
        if conflict:
            problems.append(Problem(entry.line, conflict))
            continue
        seen = line_of_contact.setdefault(contact.id, entry.line)
        if seen != entry.line:
            problems.append(Problem(entry.line, f"the same contact as line {seen}"))
            continue
        changes = _changes(entry, contact, now=now)
        if changes:
            plan.updates.append((entry, {"id": contact.id, **changes}))
        else:
            plan.unchanged += 1
    return plan


def _identity_conflict(entry: Entry, contact: SqlRow[Any]) -> str | None:
    """Ids are never overwritten: a number or user id that moved is WhatsApp's to tell us."""
    if entry.user_id and contact.user_id and contact.user_id != entry.user_id:
        return f"wa_id {entry.wa_id} belongs to the contact with user_id {contact.user_id}"
    if entry.wa_id and contact.wa_id and contact.wa_id != entry.wa_id:
        return f"user_id {entry.user_id} belongs to the contact with wa_id {contact.wa_id}"
    return None


def _changes(entry: Entry, contact: SqlRow[Any], *, now: datetime) -> dict[str, Any]:
    changes = {
        f: getattr(entry, f)
        for f in FILLED
        if getattr(entry, f) is not None and getattr(contact, f) is None
    }
    if "wa_id" in changes:
        # A number arrives for a user_id-only contact: the number's facts fill the gaps too.
        for column, value in _number_columns(changes["wa_id"]).items():
            if column not in ("country", "timezone") or (
                getattr(contact, column) is None and column not in changes
            ):
                changes[column] = value
    if entry.agent_id is not None and contact.agent_id is None:
        changes["agent_id"] = entry.agent_id
    if entry.opted_out and not contact.opted_out:
        changes["opted_out"] = True
        changes["opt_out_changed_at"] = now
    return changes


def _number_columns(wa_id: str | None) -> dict[str, Any]:
    facts = facts_for(wa_id)
    if facts is None:
        return {}
    return {
        "phone_e164": facts.e164,
        "calling_code": facts.calling_code,
        "area": facts.area,
        "country": facts.country,
        "timezone": facts.timezone,
    }


async def _store(
    session: AsyncSession, plan: _Plan, team: Iterable[Agent], *, now: datetime, by: str
) -> None:
    rotation = _rotation(team)
    rows = []
    turn = 0
    for entry in plan.creates:
        agent_id = entry.agent_id
        if agent_id is None and rotation:
            agent = rotation[turn % len(rotation)]
            turn += 1
            agent.last_assigned_at = now
            agent_id = agent.id
        rows.append(_new_contact(entry, agent_id, now=now))
    if rows:
        await session.execute(insert(Contact), rows)
    for group in _by_keys(changes for _, changes in plan.updates):
        await session.execute(update(Contact), group)
    opted_out = [
        (entry, changes["id"]) for entry, changes in plan.updates if "opted_out" in changes
    ]
    if opted_out:
        await session.execute(
            insert(TagEvent),
            [
                {
                    "contact_id": contact_id,
                    "dimension": "opted_out",
                    "old_value": False,
                    "new_value": True,
                    "rule": "opt_out.import",
                    "evidence": {"by": by, "line": entry.line},
                    "trigger": "manual",
                    "at": now,
                }
                for entry, contact_id in opted_out
            ],
        )
    await session.flush()


def _rotation(team: Iterable[Agent]) -> list[Agent]:
    """Active agents, the one served longest ago first: the order agents.next_in_turn hands out.
    next_in_turn itself would give every new contact to one agent, as all share the same `now`."""
    active = [a for a in team if a.active]
    return sorted(active, key=lambda a: (a.last_assigned_at is not None, a.last_assigned_at, a.id))


def _new_contact(entry: Entry, agent_id: int | None, *, now: datetime) -> dict[str, Any]:
    number = _number_columns(entry.wa_id)
    return {
        "wa_id": entry.wa_id,
        "user_id": entry.user_id,
        "name": entry.name,
        "language": entry.language,
        "phone_e164": number.get("phone_e164"),
        "calling_code": number.get("calling_code"),
        "area": number.get("area"),
        "country": entry.country or number.get("country"),
        "timezone": entry.timezone or number.get("timezone"),
        "source": "import",
        "opted_out": entry.opted_out,
        "opt_out_changed_at": now if entry.opted_out else None,
        "first_seen_at": now,
        "agent_id": agent_id,
    }


def _by_keys(changes: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Updates grouped by the columns they set: one executemany per group."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(frozenset(change), []).append(change)
    return list(groups.values())
