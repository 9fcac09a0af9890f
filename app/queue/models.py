"""What agents did with queue items: done and snoozed, recorded for the team and the reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, UTCDateTime


class QueueAction(Base):
    __tablename__ = "queue_action"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))  # done | snoozed
    by: Mapped[str] = mapped_column(String(128))  # the caller's key name
    # The item as it was when acted on: which colour, what kind, when it was due.
    status: Mapped[str | None] = mapped_column(String(32), default=None)
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_queue_action_contact_id_desc", "contact_id", "id"),)
