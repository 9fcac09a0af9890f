"""/agents routes (admin): accounts with their key and time zone; reassigning a contact."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.access import service as access
from app.agents import service
from app.agents.models import Agent
from app.agents.schemas import (
    AgentCreate,
    AgentCreated,
    AgentRead,
    AgentUpdate,
    Assignment,
    AssignmentRead,
)
from app.contacts import service as contacts
from app.contacts.router import IdentifierPath
from app.deps import AdminDep, ClockDep, SessionDep

router = APIRouter(tags=["agents"])


def _read(agent: Agent) -> AgentRead:
    return AgentRead(
        name=agent.name,
        display_name=agent.display_name,
        timezone=agent.timezone,
        active=agent.active,
        created_at=agent.created_at,
    )


@router.post("/agents", response_model=AgentCreated, status_code=201)
async def create_agent(
    body: AgentCreate, session: SessionDep, _: AdminDep, clock: ClockDep
) -> AgentCreated:
    """A new agent account with its API key (shown once). New contacts are shared among the
    active agents in turn."""
    now = clock.now()
    agent = await service.create(
        session, name=body.name, timezone=body.timezone, now=now, display_name=body.display_name
    )
    token = await access.create_key(session, name=body.name, role="agent", now=now)
    return AgentCreated(**_read(agent).model_dump(), api_key=token)


@router.get("/agents", response_model=list[AgentRead])
async def list_agents(session: SessionDep, _: AdminDep) -> list[AgentRead]:
    return [_read(a) for a in await service.list_all(session)]


@router.patch("/agents/{name}", response_model=AgentRead)
async def update_agent(
    name: Annotated[str, Path(examples=["alice"])],
    body: AgentUpdate,
    session: SessionDep,
    _: AdminDep,
) -> AgentRead:
    agent = await service.get(session, name)
    if body.timezone is not None:
        agent.timezone = service.check_timezone(body.timezone)
    if body.display_name is not None:
        agent.display_name = body.display_name
    if body.active is not None:
        agent.active = body.active
    await session.flush()
    return _read(agent)


@router.put("/contacts/{identifier}/agent", response_model=AssignmentRead)
async def assign(
    identifier: IdentifierPath, body: Assignment, session: SessionDep, principal: AdminDep
) -> AssignmentRead:
    """Give the contact to another agent (or none)."""
    contact = await contacts.get_for_update(session, identifier, viewer=principal)
    agent = await service.get(session, body.agent) if body.agent else None
    contact.agent_id = agent.id if agent else None
    await session.flush()
    return AssignmentRead(
        wa_id=contact.wa_id, user_id=contact.user_id, agent=agent.name if agent else None
    )
