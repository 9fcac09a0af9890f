"""API shapes for /agents routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AgentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "alice", "timezone": "Europe/Berlin", "display_name": "Alice K."}]
        },
    )

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$")
    timezone: str = Field("UTC", description="IANA zone; the agent's queue day is counted in it")
    display_name: str | None = Field(None, max_length=200)


class AgentUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"active": False}, {"timezone": "Asia/Jakarta"}]},
    )

    timezone: str | None = None
    display_name: str | None = Field(None, max_length=200)
    active: bool | None = Field(
        None, description="inactive agents keep their contacts, get no new ones"
    )


class AgentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "alice",
                    "display_name": "Alice K.",
                    "timezone": "Europe/Berlin",
                    "active": True,
                    "created_at": "2026-11-23T08:00:00Z",
                }
            ]
        }
    )

    name: str
    display_name: str | None
    timezone: str
    active: bool
    created_at: datetime


class AgentCreated(AgentRead):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "alice",
                    "display_name": "Alice K.",
                    "timezone": "Europe/Berlin",
                    "active": True,
                    "created_at": "2026-11-23T08:00:00Z",
                    "api_key": "wfu_3q2v7...",
                }
            ]
        }
    )

    api_key: str = Field(description="shown once; the agent's bearer token")


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agent": "bob"}]})

    agent: str | None = Field(description="the agent's name; null leaves the contact unassigned")


class AssignmentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"wa_id": "4915112345678", "user_id": None, "agent": "bob"}]
        }
    )

    wa_id: str | None
    user_id: str | None
    agent: str | None
