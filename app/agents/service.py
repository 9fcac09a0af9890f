"""Agent accounts and who works which contact: round-robin on first contact, reassignable."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import ApiKey
from app.agents.models import Agent
from app.errors import BadRequest, NotFound


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin"
        ) from exc
    return name


async def create(
    session: AsyncSession,
    *,
    name: str,
    timezone: str,
    now: datetime,
    display_name: str | None = None,
) -> Agent:
    if await find(session, name) is not None:
        raise BadRequest(f"an agent named {name!r} exists already")
    agent = Agent(
        name=name,
        display_name=display_name,
        timezone=check_timezone(timezone),
        active=True,
        created_at=now,
    )
    session.add(agent)
    await session.flush()
    return agent


async def find(session: AsyncSession, name: str) -> Agent | None:
    return (await session.scalars(select(Agent).where(Agent.name == name))).first()


async def get(session: AsyncSession, name: str) -> Agent:
    agent = await find(session, name)
    if agent is None:
        raise NotFound(f"no agent {name!r}")
    return agent


async def list_all(session: AsyncSession) -> list[Agent]:
    return list((await session.scalars(select(Agent).order_by(Agent.name))).all())


async def next_in_turn(session: AsyncSession, *, now: datetime) -> Agent | None:
    """The active agent served longest ago, moved to the back of the line. Only agents with a
    working key take part: one whose key was revoked could not open the contacts it got.

    Replicas assigning at the same moment skip each other's locked agent, so concurrent new
    contacts spread over the team instead of queueing on one row.
    """
    in_turn = (
        select(Agent)
        .where(
            Agent.active,
            exists().where(ApiKey.agent_id == Agent.id, ApiKey.revoked_at.is_(None)),
        )
        .order_by(Agent.last_assigned_at.asc().nulls_first(), Agent.id)
        .limit(1)
    )
    agent = (await session.scalars(in_turn.with_for_update(skip_locked=True))).first()
    if agent is None:
        if session.get_bind().dialect.name != "postgresql":
            # No row locks to skip (SQLite): there is no agent. Every message of a contact
            # without one asks, so a team without agents pays one query, not two.
            return None
        # Every active agent is locked by a concurrent assignment (or there is none): share the
        # first in line without waiting; the cursor moves on with the next assignment.
        return (await session.scalars(in_turn)).first()
    agent.last_assigned_at = now
    return agent
