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
from app.errors import BadRequest, NotFound

ROLES = ("admin", "agent")
KEY_PREFIX = "wfu_"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_key(session: AsyncSession, *, name: str, role: str, now: datetime) -> str:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if (await session.scalars(select(ApiKey).where(ApiKey.name == name))).first() is not None:
        raise BadRequest(f"an API key named {name!r} exists already")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, role=role, key_sha256=_digest(token), created_at=now))
    await session.flush()
    return token


async def revoke_key(session: AsyncSession, *, name: str, now: datetime) -> None:
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
    key = (
        await session.scalars(
            select(ApiKey).where(ApiKey.key_sha256 == _digest(token), ApiKey.revoked_at.is_(None))
        )
    ).first()
    return Principal(name=key.name, role=key.role) if key else None
