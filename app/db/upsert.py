"""INSERT … ON CONFLICT DO NOTHING for whichever database the session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def insert_ignore(bind: AsyncSession | AsyncConnection, table: Any) -> Any:
    """Both dialects support a target-less DO NOTHING, which covers every unique constraint."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, AsyncSession) else bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()
