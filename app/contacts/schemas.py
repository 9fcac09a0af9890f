"""API shapes for /contacts routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# A red contact that asked for a price: the tags every example in the API shows.
TAGS_EXAMPLE: dict[str, Any] = {
    "activity": "high",
    "intent": "high",
    "status": "red",
    "lifecycle": "high_potential",
    "engagement": None,
    "source": "ctwa_ad",
    "spend_tier": None,
    "purchase_frequency": None,
    "interests": ["discount_sensitive"],
    "categories": ["3c", "high_capacity"],
    "windows": [],
}


class TagsRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TAGS_EXAMPLE]})

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
    windows: list[str] = Field(
        default_factory=list, description="learned reading slots, e.g. active_wed_evening"
    )


class ContactRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "wa_id": "4915112345678",
                    "user_id": None,
                    "name": "Jonas",
                    "username": None,
                    "phone_e164": "+4915112345678",
                    "country": "DE",
                    "calling_code": 49,
                    "timezone": "Europe/Berlin",
                    "area": "Germany",
                    "language": "de",
                    "opted_out": False,
                    "first_seen_at": "2026-11-20T18:12:00Z",
                    "last_inbound_at": "2026-11-23T07:40:00Z",
                    "tags": TAGS_EXAMPLE,
                    "locked": {"interests": "2026-12-31T00:00:00Z"},
                    "preferences": {
                        "salutation": None,
                        "windows": [
                            {
                                "days": ["mon", "tue", "wed", "thu", "fri"],
                                "start": "09:00",
                                "end": "18:00",
                            }
                        ],
                        "quiet_hours": {"start": "22:00", "end": "08:00"},
                        "format": "text",
                        "max_per_week": 2,
                        "passive": False,
                        "note": "prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week",
                    },
                }
            ]
        }
    )

    wa_id: str | None
    user_id: str | None
    name: str | None
    username: str | None
    phone_e164: str | None
    country: str | None
    calling_code: int | None = Field(description="the number's country calling code, e.g. 49")
    timezone: str | None
    area: str | None = Field(
        description="the number's region, e.g. 'New York, NY', when the numbering plan says"
    )
    language: str | None
    opted_out: bool
    first_seen_at: datetime
    last_inbound_at: datetime | None
    tags: TagsRead
    locked: dict[str, datetime | None] = Field(
        default_factory=dict, description="hand-set dimensions: until when (null: until unlocked)"
    )
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "wamid": "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjVCMkE3RjU0QTk2QTk0NDc4QgA=",
                            "direction": "out",
                            "type": "template",
                            "text": None,
                            "sent_at": "2026-11-23T08:10:00Z",
                            "status": "read",
                            "context_wamid": None,
                            "statuses": [
                                {
                                    "status": "sent",
                                    "at": "2026-11-23T08:10:01Z",
                                    "error_code": None,
                                },
                                {
                                    "status": "delivered",
                                    "at": "2026-11-23T08:10:03Z",
                                    "error_code": None,
                                },
                                {
                                    "status": "read",
                                    "at": "2026-11-23T08:14:20Z",
                                    "error_code": None,
                                },
                            ],
                            "payload": {"template": "offer_followup", "language": "de"},
                        },
                        {
                            "wamid": "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjA=",
                            "direction": "in",
                            "type": "text",
                            "text": "Wie viel kostet die Powerbank?",
                            "sent_at": "2026-11-23T07:40:00Z",
                            "status": None,
                            "context_wamid": None,
                            "statuses": [],
                            "payload": {
                                "from": "4915112345678",
                                "id": "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjA=",
                                "timestamp": "1795419600",
                                "type": "text",
                                "text": {"body": "Wie viel kostet die Powerbank?"},
                            },
                        },
                    ],
                    "next_before": 812,
                }
            ]
        }
    )

    items: list[MessageRead]
    next_before: int | None = Field(description="pass as `before` for the next (older) page")


class PurchaseItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku: str = Field(min_length=1, max_length=128)
    category: str | None = Field(default=None, max_length=64)
    quantity: int = Field(default=1, ge=1)


class PurchaseCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "SO-10042",
                    "amount": "129.90",
                    "currency": "EUR",
                    "items": [{"sku": "PB-20000", "category": "3c"}],
                    "purchased_at": "2026-11-23T09:30:00Z",
                }
            ]
        }
    )

    order_id: str = Field(min_length=1, max_length=128, description="makes the call idempotent")
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(pattern="^[A-Za-z]{3}$", description="ISO 4217")
    items: list[PurchaseItem] = Field(default_factory=list)
    purchased_at: AwareDatetime
    discount_code: str | None = Field(
        default=None, max_length=64, description="a code we sent: marks it redeemed"
    )


class PurchaseRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "SO-10042",
                    "amount": "129.90",
                    "currency": "EUR",
                    "items": [{"sku": "PB-20000", "category": "3c", "quantity": 1}],
                    "purchased_at": "2026-11-23T09:30:00Z",
                    "created": True,
                }
            ]
        }
    )

    order_id: str
    amount: Decimal
    currency: str
    items: list[dict[str, Any]]
    purchased_at: datetime
    created: bool = Field(description="false when this order_id was recorded before")


class WindowIn(BaseModel):
    days: list[str] = Field(description="mon … sun", examples=[["mon", "tue", "wed", "thu", "fri"]])
    start: str = Field(examples=["09:00"])
    end: str = Field(examples=["18:00"], description="end <= start: the window crosses midnight")


class QuietHoursIn(BaseModel):
    start: str = Field(examples=["22:00"])
    end: str = Field(examples=["08:00"])


class PreferencesUpdate(BaseModel):
    """Only the fields sent change. `note` (the seeds' one-line format) is read first, then the
    other fields apply on top."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "note": "Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week"
                },
                {"quiet_hours": {"start": "21:00", "end": "07:00"}, "passive": True},
            ]
        },
    )

    note: str | None = Field(default=None, max_length=1000)
    salutation: str | None = None
    windows: list[WindowIn] | None = None
    quiet_hours: QuietHoursIn | None = None
    format: str | None = None
    max_per_week: int | None = None
    passive: bool | None = None


class PreferencesRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "preferences": {
                        "salutation": "Mr. Wang",
                        "windows": [
                            {
                                "days": ["mon", "tue", "wed", "thu", "fri"],
                                "start": "09:00",
                                "end": "18:00",
                            }
                        ],
                        "quiet_hours": {"start": "22:00", "end": "08:00"},
                        "format": "text",
                        "max_per_week": 2,
                        "passive": False,
                    },
                    "note": "Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week",
                }
            ]
        }
    )

    preferences: dict[str, Any]
    note: str = Field(description="the same preferences in the one-line note format")
