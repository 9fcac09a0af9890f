"""Agent accounts. Each has its own API key (app.access) and works in its own time zone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, UTCDateTime


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(Text, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # An inactive agent (on leave, gone) keeps its contacts but gets no new ones.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Round-robin cursor: the next new contact goes to the active agent served longest ago.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
