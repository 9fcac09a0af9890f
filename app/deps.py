"""FastAPI dependencies: the request's session, clock and caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import service as access
from app.access.service import Principal
from app.clock import Clock
from app.db.session import get_session
from app.errors import Forbidden, Unauthorized
from app.tagging.service import Tagging

# scope="function": the commit happens before the response is sent, not after.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False, description="ADMIN_TOKEN or an API key from `app apikey create`"
)


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_tagging(request: Request) -> Tagging:
    tagging: Tagging = request.app.state.tagging
    return tagging


TaggingDep = Annotated[Tagging, Depends(get_tagging)]


async def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <token>")
    admin = request.app.state.settings.admin_token
    principal = await access.authenticate(
        session, credentials.credentials, admin_token=admin.get_secret_value() if admin else None
    )
    if principal is None:
        raise Unauthorized("unknown or revoked token")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


AgentDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
