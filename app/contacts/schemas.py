"""API shapes for /contacts routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TagsRead(BaseModel):
    activity: str | None = None
    intent: str | None = None
    status: str | None = None
    lifecycle: str | None = None
    engagement: str | None = None
    source: str | None = None
    spend_tier: str | None = None
    purchase_frequency: str | None = None
    interests: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class ContactRead(BaseModel):
    wa_id: str | None
    user_id: str | None
    name: str | None
    username: str | None
    phone_e164: str | None
    country: str | None
    timezone: str | None
    area: str | None
    language: str | None
    opted_out: bool
    first_seen_at: datetime
    last_inbound_at: datetime | None
    tags: TagsRead
    preferences: dict[str, Any] = Field(default_factory=dict)


class StatusRead(BaseModel):
    status: str
    at: datetime
    error_code: int | None


class MessageRead(BaseModel):
    wamid: str
    direction: str
    type: str
    text: str | None
    sent_at: datetime
    status: str | None
    context_wamid: str | None
    statuses: list[StatusRead]
    payload: Any


class MessagePage(BaseModel):
    items: list[MessageRead]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")
