"""Planned follow-ups (the outbox), registered templates and discount codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import EMPTY_OBJECT, Base, BigId, JsonDoc, UTCDateTime

# planned -> sending -> sent -> delivered -> read; or failed / suppressed / dropped / cancelled;
# "unknown": the request may have reached Meta but we never saw the answer: reconciled from status
# webhooks, never resent blindly.
OUTBOX_STATES = (
    "planned",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "suppressed",
    "dropped",
    "cancelled",
    "unknown",
)
PENDING = ("planned", "sending")


class OutboxItem(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    # contact:rule:anchor:slot — replanning is a no-op, and a slot is planned once, ever.
    plan_key: Mapped[str] = mapped_column(String(256), unique=True)
    rule: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[Any] = mapped_column(JsonDoc, default=dict, server_default=EMPTY_OBJECT)
    category: Mapped[str] = mapped_column(String(16))  # marketing | utility | service
    template: Mapped[str | None] = mapped_column(String(128), default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)  # free-form, only inside 24 h
    offer: Mapped[str | None] = mapped_column(String(64), default=None)
    offer_valid_hours: Mapped[float | None] = mapped_column(default=None)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="planned")
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    wamid: Mapped[str | None] = mapped_column(String(512), default=None, index=True)
    error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The claim query: due planned rows, oldest first; a partial index keeps it small.
        Index(
            "ix_outbox_due",
            "not_before",
            postgresql_where=sql("state = 'planned'"),
            sqlite_where=sql("state = 'planned'"),
        ),
        Index("ix_outbox_contact_state", "contact_id", "state"),
        Index("ix_outbox_contact_sent", "contact_id", "sent_at"),
    )


class Template(Base):
    """A message template approved by Meta, registered with its parameters' names in order."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    # {"header": [...], "body": ["name", "code"], "buttons": [{"kind": "copy_code", "index": 0, "params": ["code"]}]}
    parameters: Mapped[Any] = mapped_column(JsonDoc, default=dict, server_default=EMPTY_OBJECT)
    status: Mapped[str] = mapped_column(String(32), default="APPROVED")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("name", "language"),)


class DiscountCode(Base):
    """A code from a pool (imported or generated); given to one contact for one offer, never reused."""

    __tablename__ = "discount_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    offer: Mapped[str] = mapped_column(String(64), index=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), default=None
    )
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    order_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # One code per contact and offer.
        Index(
            "uq_discount_code_contact_offer",
            "contact_id",
            "offer",
            unique=True,
            postgresql_where=sql("contact_id IS NOT NULL"),
            sqlite_where=sql("contact_id IS NOT NULL"),
        ),
    )
