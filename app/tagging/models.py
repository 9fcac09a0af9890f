"""The tag event log: every tag change with its rule, evidence and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, JsonDoc, UTCDateTime


class TagEvent(Base):
    __tablename__ = "tag_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    new_value: Mapped[Any] = mapped_column(JsonDoc, nullable=True)
    rule: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[Any] = mapped_column(JsonDoc, default=dict)
    # manual (an agent), event (a message, read or purchase) or time (the periodic job)
    trigger: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_tag_event_contact_id_desc", "contact_id", "id"),
        # The reports' monthly look at what turned contacts red reads by dimension and time.
        Index("ix_tag_event_dimension_at", "dimension", "at"),
    )
