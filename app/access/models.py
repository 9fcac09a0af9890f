"""Named API keys, stored as SHA-256 hashes (the keys are random, so a slow hash adds nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, UTCDateTime


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # "admin" | "agent"
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Agent keys belong to an agent account (its contacts, its time zone); admin keys to none.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), default=None, index=True
    )
