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
    items: list[TagEventRead]
    next_before: int | None
