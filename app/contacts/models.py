"""Contacts (one per person, however Meta identifies them), messages and message statuses."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import EMPTY_LIST, EMPTY_OBJECT, Base, BigId, JsonDoc, UTCDateTime


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Business-scoped user id (2026): the stable key when present. wa_id (phone digits) may be
    # absent for username users, and changes when the user changes number.
    user_id: Mapped[str | None] = mapped_column(String(256), unique=True, default=None)
    wa_id: Mapped[str | None] = mapped_column(String(256), unique=True, default=None)
    parent_user_id: Mapped[str | None] = mapped_column(String(256), default=None)
    username: Mapped[str | None] = mapped_column(Text, default=None)
    name: Mapped[str | None] = mapped_column(Text, default=None)
    phone_e164: Mapped[str | None] = mapped_column(String(32), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    calling_code: Mapped[int | None] = mapped_column(Integer, default=None)
    area: Mapped[str | None] = mapped_column(String(128), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    source: Mapped[str] = mapped_column(String(32), default="unknown")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # Stop/resume events arrive out of order; the latest by Meta's timestamp wins.
    opt_out_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    preferences: Mapped[Any] = mapped_column(JsonDoc, default=dict, server_default=EMPTY_OBJECT)

    # Tags (written only by app.tagging.service; see docs/tagging.md).
    activity: Mapped[str | None] = mapped_column(String(32), default=None)
    intent: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str | None] = mapped_column(String(32), default=None)
    lifecycle: Mapped[str | None] = mapped_column(String(32), default=None)
    engagement: Mapped[str | None] = mapped_column(String(32), default=None)
    spend_tier: Mapped[str | None] = mapped_column(String(32), default=None)
    purchase_frequency: Mapped[str | None] = mapped_column(String(32), default=None)
    interests: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    categories: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    windows: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    tag_locks: Mapped[Any] = mapped_column(
        JsonDoc, default=dict, server_default=EMPTY_OBJECT
    )  # dimension -> ISO until | null

    # Facts the tag rules read besides the tags themselves.
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    red_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    offer_reads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    recent_inbound: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    recent_reads: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    asked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    clicked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When a time rule may next change a tag; the periodic job picks contacts by it.
    tags_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)

    # The agent who works the contact (round-robin on first contact, reassignable).
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), default=None
    )
    # The contact's queue item, kept with its tags (app.queue.priority): the queue is an index
    # range scan per colour, whatever the number of contacts. rank 0 red .. 4 grey; null: no item.
    queue_rank: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    queue_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    queue_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    queue_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    queue_snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_contact_queue_agent", "agent_id", "queue_rank", "queue_due_at", "id"),
        Index("ix_contact_queue_all", "queue_rank", "queue_due_at", "id"),
        Index("ix_contact_status_since", "status", "status_changed_at"),
    )


class Message(Base):
    """An inbound message from a contact, or an outbound one we sent."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(512), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), default=None
    )
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[Any] = mapped_column(JsonDoc)
    context_wamid: Mapped[str | None] = mapped_column(String(512), default=None)
    phone_number_id: Mapped[str | None] = mapped_column(String(256), default=None)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Highest delivery state seen for outbound messages (sent < delivered < read; failed is final).
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    inbound_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_event.id", ondelete="SET NULL"), default=None
    )

    __table_args__ = (Index("ix_message_contact_id_desc", "contact_id", "id"),)


class MessageStatus(Base):
    """A status webhook for one of our messages; kept even when the message is not known (yet)."""

    __tablename__ = "message_status"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    wamid: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(32))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipient_id: Mapped[str | None] = mapped_column(String(256), default=None)
    recipient_user_id: Mapped[str | None] = mapped_column(String(256), default=None)
    error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    callback_data: Mapped[str | None] = mapped_column(String(512), default=None)
    payload: Mapped[Any] = mapped_column(JsonDoc)
    inbound_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_event.id", ondelete="SET NULL"), default=None
    )

    # Meta's dedupe key for statuses is the message id together with the state.
    __table_args__ = (UniqueConstraint("wamid", "status"),)


class Purchase(Base):
    """An order, recorded once per order_id; feeds spend, frequency, lifecycle and conversion."""

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str] = mapped_column(String(128), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    items: Mapped[Any] = mapped_column(JsonDoc, default=list, server_default=EMPTY_LIST)
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The tag columns, for queries that read a contact's tags without the rest of its row (the
# planner, the sender's checks): what app.tagging.service.tags_of() needs.
TAG_COLUMNS = (
    Contact.activity,
    Contact.intent,
    Contact.status,
    Contact.lifecycle,
    Contact.engagement,
    Contact.spend_tier,
    Contact.purchase_frequency,
    Contact.interests,
    Contact.categories,
    Contact.windows,
)
