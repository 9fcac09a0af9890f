"""API keys: create (the plain key is shown once), revoke, list, and authenticate a bearer token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.models import ApiKey
from app.agents import service as agents
from app.agents.models import Agent
from app.errors import BadRequest, Forbidden, NotFound

ROLES = ("admin", "agent")
KEY_PREFIX = "wfu_"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    agent_id: int | None = None  # set for agent keys: the account whose contacts they see
    timezone: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def ensure_may_see(principal: Principal, agent_id: int | None) -> None:
    """Admins see every contact; an agent only the contacts assigned to it."""
    if principal.is_admin:
        return
    if principal.agent_id is None or agent_id != principal.agent_id:
        raise Forbidden("this contact is not assigned to you")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_key(
    session: AsyncSession, *, name: str, role: str, now: datetime, timezone: str = "UTC"
) -> str:
    """A new key. An agent key belongs to the agent account of the same name, created if new.

    A revoked key's name can be given a new key (a lost or leaked key is replaced this way):
    the new one takes the revoked one's place. The key row is locked while it is replaced, so
    two replacements at once cannot both hand out a key."""
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    key = (
        await session.scalars(select(ApiKey).where(ApiKey.name == name).with_for_update())
    ).first()
    if key is not None and key.revoked_at is None:
        raise BadRequest(f"an API key named {name!r} exists already; revoke it first to replace it")
    agent_id = None
    if role == "agent":
        agent = await agents.find(session, name) or await agents.create(
            session, name=name, timezone=timezone, now=now
        )
        agent_id = agent.id
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    if key is None:
        key = ApiKey(name=name, role=role, key_sha256=_digest(token), created_at=now)
        session.add(key)
    key.role, key.key_sha256, key.created_at, key.revoked_at = role, _digest(token), now, None
    key.agent_id = agent_id
    await session.flush()
    return token


async def revoke_key(session: AsyncSession, *, name: str, now: datetime) -> None:
    """The key stops working at once. An agent without a working key gets no new contacts
    (agents.next_in_turn); it keeps the ones it has, for an admin to reassign."""
    key = (await session.scalars(select(ApiKey).where(ApiKey.name == name))).first()
    if key is None:
        raise NotFound(f"no API key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = now
    await session.flush()


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.name))).all())


async def authenticate(
    session: AsyncSession, token: str, *, admin_token: str | None
) -> Principal | None:
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(name="admin", role="admin")
    row = (
        await session.execute(
            select(ApiKey.name, ApiKey.role, Agent.id, Agent.timezone)
            .outerjoin(Agent, Agent.id == ApiKey.agent_id)
            .where(ApiKey.key_sha256 == _digest(token), ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    name, role, agent_id, timezone = row
    return Principal(name=name, role=role, agent_id=agent_id, timezone=timezone)
