"""Contacts (one per person, however Meta identifies them), messages and message statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, BigId, JsonDoc, UTCDateTime


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
