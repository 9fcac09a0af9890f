"""API shapes for tag routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class TagSet(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"value": "red"},
                {
                    "value": ["discount_sensitive", "brand_loyal"],
                    "locked_until": "2026-12-31T00:00:00Z",
                },
            ]
        }
    )

    value: str | list[str] | None = Field(
        description="a value of the dimension; a list for interests, categories, windows"
    )
    locked_until: AwareDatetime | None = Field(
        default=None,
        description="when the rules may change it again; omitted: locked until unlocked",
    )


class TagEventRead(BaseModel):
    id: int
    dimension: str
    old_value: Any
    new_value: Any
    rule: str
    evidence: dict[str, Any]
    trigger: str
    at: datetime


class TagEventPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": 2291,
                            "dimension": "status",
                            "old_value": "yellow",
                            "new_value": "red",
                            "rule": "status.high_intent",
                            "evidence": {"message_id": 812, "phrases": ["wie viel kostet"]},
                            "trigger": "event",
                            "at": "2026-11-23T07:40:01Z",
                        },
                        {
                            "id": 2290,
                            "dimension": "intent",
                            "old_value": "medium",
                            "new_value": "high",
                            "rule": "intent.message",
                            "evidence": {"message_id": 812, "phrases": ["wie viel kostet"]},
                            "trigger": "event",
                            "at": "2026-11-23T07:40:01Z",
                        },
                        {
                            "id": 2254,
                            "dimension": "interests",
                            "old_value": [],
                            "new_value": ["discount_sensitive"],
                            "rule": "manual",
                            "evidence": {
                                "by": "alice",
                                "locked_until": "2026-12-31T00:00:00+00:00",
                            },
                            "trigger": "manual",
                            "at": "2026-11-21T15:02:00Z",
                        },
                    ],
                    "next_before": 2254,
                }
            ]
        }
    )

    items: list[TagEventRead]
    next_before: int | None
