"""API shapes for /queues routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.contacts.schemas import TAGS_EXAMPLE, TagsRead


class MessageRef(BaseModel):
    wamid: str
    text: str | None
    at: datetime


class Reason(BaseModel):
    summary: str = Field(description="one line for people")
    rule: str | None = Field(description="the tag rule (or queue rule) that put the item here")
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="what the rule saw: message id and phrase, times"
    )
    message: MessageRef | None = Field(
        None, description="the contact's unanswered message, for reply items"
    )


class QueueItem(BaseModel):
    wa_id: str | None
    user_id: str | None
    name: str | None
    agent: str | None
    status: str
    tags: TagsRead
    kind: str = Field(
        description="reply (they wrote, unanswered), new_status (new colour since our last touch), "
        "follow_up (the colour's interval passed), reminder (an agent's snooze ended)"
    )
    reason: Reason
    due_at: datetime
    deadline_at: datetime | None = Field(description="red replies: the 24 h limit past the target")
    overdue: bool
    action: str = Field(description="the suggested next step")
    template: str | None = Field(description="the follow-up the scheduler has planned, if any")
    planned_send_at: datetime | None
    window_open: bool = Field(description="inside WhatsApp's 24 h window: free text is possible")
    window_closes_at: datetime | None
    needs_template: bool


class QueuePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-11-23",
                    "timezone": "Europe/Berlin",
                    "agent": "alice",
                    "generated_at": "2026-11-23T08:00:00Z",
                    "items": [
                        {
                            "wa_id": "4915112345678",
                            "user_id": None,
                            "name": "Jonas",
                            "agent": "alice",
                            "status": "red",
                            "tags": TAGS_EXAMPLE,
                            "kind": "reply",
                            "reason": {
                                "summary": "Unanswered: “Wie viel kostet die Powerbank?”",
                                "rule": "intent.message",
                                "evidence": {"message_id": 812, "phrases": ["wie viel kostet"]},
                                "message": {
                                    "wamid": "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjA=",
                                    "text": "Wie viel kostet die Powerbank?",
                                    "at": "2026-11-23T07:40:00Z",
                                },
                            },
                            "due_at": "2026-11-23T08:40:00Z",
                            "deadline_at": "2026-11-24T07:40:00Z",
                            "overdue": False,
                            "action": "Call first: the contact is deciding now",
                            "template": "offer_followup",
                            "planned_send_at": "2026-11-23T19:40:00Z",
                            "window_open": True,
                            "window_closes_at": "2026-11-24T07:40:00Z",
                            "needs_template": False,
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    date: date
    timezone: str
    agent: str | None
    generated_at: datetime
    items: list[QueueItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class DoneBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Called, sending the offer"}]}
    )

    note: str | None = Field(None, max_length=2000)


class SnoozeBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"hours": 4, "note": "Asked to call back after lunch"},
                {"until": "2026-11-24T09:00:00+01:00"},
            ]
        },
    )

    until: AwareDatetime | None = None
    hours: float | None = Field(None, gt=0, le=24 * 90)
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _one_of(self) -> SnoozeBody:
        if (self.until is None) == (self.hours is None):
            raise ValueError("give until or hours")
        return self


class ItemState(BaseModel):
    """The contact's queue item after an action: its next due time, or none."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "red", "kind": "follow_up", "due_at": "2026-11-24T09:12:00Z"}]
        }
    )

    status: str | None
    kind: str | None
    due_at: datetime | None


class ActionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "snoozed",
                    "by": "alice",
                    "status": "orange",
                    "kind": "follow_up",
                    "due_at": "2026-11-23T09:00:00Z",
                    "snoozed_until": "2026-11-23T13:00:00Z",
                    "note": "Asked to call back after lunch",
                    "at": "2026-11-23T09:05:00Z",
                }
            ]
        }
    )

    action: str
    by: str
    status: str | None
    kind: str | None
    due_at: datetime | None
    snoozed_until: datetime | None
    note: str | None
    at: datetime
