"""Tables of what Meta posted: the raw inbox, rejected bodies, and non-message updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, JsonDoc, UTCDateTime


class InboundEvent(Base):
    """One signed webhook body, byte for byte, stored before Meta gets its 200."""

    __tablename__ = "inbound_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Meta retries the identical body; the hash makes a retry a no-op across replicas.
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        # The processor only ever looks for unprocessed rows; keep that index tiny.
        Index(
            "ix_inbound_event_pending",
            "id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )


class RejectedWebhook(Base):
    """A correctly signed body we could not parse: answered 400 but kept, so nothing is lost."""

    __tablename__ = "rejected_webhook"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookUpdate(Base):
    """Any change that is not an inbound message or a status: user_preferences, template status,
    account updates, top-level errors, fields Meta adds later. Kept whole for later use."""

    __tablename__ = "webhook_update"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inbound_event_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_event.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(128), index=True)
    waba_id: Mapped[str | None] = mapped_column(String(64), default=None)
    value: Mapped[Any] = mapped_column(JsonDoc)
    event_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("inbound_event_id", "position"),)
