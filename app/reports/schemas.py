"""API shapes for /reports and /alerts routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.contacts.schemas import TagsRead

_ALERT_EXAMPLE: JsonDict = {
    "name": "red_high",
    "value": 0.18,
    "threshold": 0.15,
    "details": {"red": 1800, "total": 10000},
    "started_at": "2026-11-23T06:00:00Z",
    "ended_at": None,
    "open": True,
}


class ValueShare(BaseModel):
    contacts: int
    share: float = Field(description="of all contacts")


class TagDay(BaseModel):
    day: date
    computed_at: datetime = Field(description="the day's last snapshot")
    total: int
    dimensions: dict[str, dict[str, ValueShare]] = Field(
        description="dimension -> value -> contacts; `unset` counts contacts without a value in "
        "a single-valued dimension; set dimensions count each member (a contact may have several)"
    )


class TagHistory(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-11-22",
                    "to": "2026-11-23",
                    "days": [
                        {
                            "day": "2026-11-22",
                            "computed_at": "2026-11-22T23:10:00Z",
                            "total": 10000,
                            "dimensions": {
                                "status": {
                                    "red": {"contacts": 1200, "share": 0.12},
                                    "grey": {"contacts": 2100, "share": 0.21},
                                }
                            },
                        },
                        {
                            "day": "2026-11-23",
                            "computed_at": "2026-11-23T09:10:00Z",
                            "total": 10040,
                            "dimensions": {
                                "status": {
                                    "red": {"contacts": 1310, "share": 0.1305},
                                    "grey": {"contacts": 2090, "share": 0.2082},
                                }
                            },
                        },
                    ],
                }
            ]
        },
        populate_by_name=True,
    )

    from_: date = Field(alias="from")
    to: date
    days: list[TagDay] = Field(description="one per day with a snapshot, oldest first")


class ValueConversion(BaseModel):
    value: str
    contacts: int
    converted: int = Field(description="of those, contacts with a purchase in the window")
    conversion: float


class ConversionReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-11-23",
                    "computed_at": "2026-11-23T09:10:00Z",
                    "total": 10000,
                    "conversion_window_days": 30,
                    "dimensions": {
                        "interests": [
                            {
                                "value": "discount_sensitive",
                                "contacts": 2300,
                                "converted": 414,
                                "conversion": 0.18,
                            }
                        ],
                        "intent": [
                            {"value": "high", "contacts": 900, "converted": 243, "conversion": 0.27}
                        ],
                    },
                }
            ]
        }
    )

    day: date
    computed_at: datetime
    total: int
    conversion_window_days: float
    dimensions: dict[str, list[ValueConversion]] = Field(
        description="per dimension, its values with most contacts first"
    )


class PhraseCount(BaseModel):
    phrase: str
    count: int


class FalseRedRule(BaseModel):
    rule: str = Field(description="the tag rule that turned contacts red")
    reds: int = Field(description="red events by this rule in the period")
    contacts: int
    converted: int = Field(description="reds followed by the contact's purchase within the window")
    conversion: float
    window_open: int = Field(description="reds not converted whose window has not closed yet")
    false_red: bool = Field(description="conversion below max_conversion, with min_reds reached")
    phrases: list[PhraseCount] = Field(description="the most frequent matched phrases")


class FalseRedReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-11-23",
                    "computed_at": "2026-11-23T09:10:00Z",
                    "since": "2026-10-24T09:10:00Z",
                    "conversion_window_days": 30,
                    "min_reds": 10,
                    "max_conversion": 0.2,
                    "rules": [
                        {
                            "rule": "status.high_intent",
                            "reds": 420,
                            "contacts": 388,
                            "converted": 51,
                            "conversion": 0.1214,
                            "window_open": 160,
                            "false_red": True,
                            "phrases": [
                                {"phrase": "how much", "count": 130},
                                {"phrase": "in stock", "count": 71},
                            ],
                        }
                    ],
                }
            ]
        }
    )

    day: date
    computed_at: datetime
    since: datetime = Field(description="red events from this moment to computed_at")
    conversion_window_days: float
    min_reds: int
    max_conversion: float
    rules: list[FalseRedRule] = Field(description="most reds first")


class ReviewItem(BaseModel):
    wa_id: str | None
    user_id: str | None
    name: str | None
    agent: str | None
    status: str
    since: datetime = Field(description="when the contact took this colour")
    days_in_status: float
    reason: str
    last_inbound_at: datetime | None
    tags: TagsRead


class ReviewPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-11-23T10:00:00Z",
                    "red_after_days": 3,
                    "orange_after_days": 14,
                    "items": [
                        {
                            "wa_id": "4915112345678",
                            "user_id": None,
                            "name": "Jonas",
                            "agent": "alice",
                            "status": "orange",
                            "since": "2026-10-30T08:00:00Z",
                            "days_in_status": 24.1,
                            "reason": "orange for 24 days (review after 14)",
                            "last_inbound_at": "2026-10-28T17:20:00Z",
                            "tags": {
                                "activity": "dormant",
                                "intent": "medium",
                                "status": "orange",
                                "lifecycle": "high_potential",
                                "engagement": "reads",
                                "source": "website",
                                "spend_tier": None,
                                "purchase_frequency": None,
                                "interests": ["function_oriented"],
                                "categories": ["3c"],
                                "windows": [],
                            },
                        }
                    ],
                    "next_cursor": "MjAyNi0xMC0zMFQwODowMDowMCswMDowMHw0Mg",
                }
            ]
        }
    )

    generated_at: datetime
    red_after_days: float
    orange_after_days: float
    items: list[ReviewItem] = Field(description="longest in their colour first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class AlertRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ALERT_EXAMPLE]})

    name: str = Field(description="high_activity_low, red_high or grey_rising")
    value: float = Field(description="the latest measured share (or week-on-week growth)")
    threshold: float
    details: dict[str, Any]
    started_at: datetime
    ended_at: datetime | None
    open: bool


class AlertList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-11-23T10:00:00Z",
                    "items": [
                        _ALERT_EXAMPLE,
                        {
                            "name": "grey_rising",
                            "value": 0.25,
                            "threshold": 0.2,
                            "details": {"grey": 2500, "grey_week_ago": 2000},
                            "started_at": "2026-11-10T06:00:00Z",
                            "ended_at": "2026-11-12T06:00:00Z",
                            "open": False,
                        },
                    ],
                }
            ]
        }
    )

    generated_at: datetime
    items: list[AlertRead] = Field(
        description="open alerts first, then those ended in the last 30 days; newest first"
    )


class AlertChanges(BaseModel):
    open: list[AlertRead]
    started: list[str] = Field(description="alerts this snapshot opened")
    ended: list[str] = Field(description="alerts this snapshot closed")


class SnapshotSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-11-23",
                    "computed_at": "2026-11-23T10:00:00Z",
                    "total_contacts": 10000,
                    "shares": {"activity_high": 0.12, "status_red": 0.18, "status_grey": 0.2},
                    "false_reds": ["status.comparison"],
                    "alerts": {
                        "open": [_ALERT_EXAMPLE],
                        "started": ["red_high"],
                        "ended": [],
                    },
                }
            ]
        }
    )

    day: date
    computed_at: datetime
    total_contacts: int
    shares: dict[str, float]
    false_reds: list[str] = Field(description="rules flagged as false reds")
    alerts: AlertChanges
