"""INSERT … ON CONFLICT for whichever database the session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def insert_ignore(bind: AsyncSession | AsyncConnection, table: Any) -> Any:
    """Both dialects support a target-less DO NOTHING, which covers every unique constraint."""
    return insert_for(bind, table).on_conflict_do_nothing()


def insert_for(bind: AsyncSession | AsyncConnection, table: Any) -> Any:
    """The dialect's INSERT, which has on_conflict_do_nothing / on_conflict_do_update."""
    dialect = bind.get_bind().dialect.name if isinstance(bind, AsyncSession) else bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)
