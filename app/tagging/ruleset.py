"""The operator's rules file (YAML) as a frozen, validated Ruleset; defaults from the seeds."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_RULES = Path(__file__).with_name("rules.yaml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Activity(_Section):
    high_within_hours: float = Field(24, gt=0)
    medium_within_days: float = Field(3, gt=0)
    low_within_days: float = Field(7, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Activity:
        if not self.high_within_hours / 24 <= self.medium_within_days <= self.low_within_days:
            raise ValueError("activity thresholds must grow: high <= medium <= low")
        return self


class Intent(_Section):
    high_downgrade_days: float = Field(3, gt=0)


class Status(_Section):
    yellow_first_contact_days: float = Field(7, gt=0)
    orange_read_no_reply_hours: float = Field(48, gt=0)
    orange_offer_reads: int = Field(3, ge=1)
    grey_no_read_days: float = Field(7, gt=0)
    grey_no_interaction_days: float = Field(180, gt=0)
    max_reds_in_a_row: int = Field(3, ge=1)
    red_hold_days: float = Field(3, gt=0)


class Engagement(_Section):
    frequent_messages_per_week: int = Field(3, ge=1)
    reads_window_days: float = Field(30, gt=0)
    reads_max_replies: int = Field(1, ge=0)
    unread_days: float = Field(90, gt=0)


class SpendTier(_Section):
    window_days: float = Field(365, gt=0)
    mid_from: float = Field(500, ge=0)
    high_above: float = Field(2000, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SpendTier:
        if self.mid_from > self.high_above:
            raise ValueError("spend_tier.mid_from must not exceed high_above")
        return self


class PurchaseFrequency(_Section):
    monthly_max_days: float = Field(45, gt=0)
    quarterly_max_days: float = Field(135, gt=0)


class Lifecycle(_Section):
    active_buyer_interactions_per_month: int = Field(3, ge=1)
    inactive_no_interaction_days: float = Field(30, gt=0)
    inactive_no_purchase_days: float = Field(90, gt=0)
    new_subscriber_days: float = Field(30, gt=0)


class LearnedWindows(_Section):
    reads_in_a_row: int = Field(5, ge=2)
    bands: dict[str, tuple[int, int]] = Field(
        default_factory=lambda: {
            "night": (0, 6),
            "morning": (6, 12),
            "afternoon": (12, 17),
            "evening": (17, 24),
        }
    )

    @model_validator(mode="after")
    def _cover_the_day(self) -> LearnedWindows:
        hours = sorted(h for start, end in self.bands.values() for h in range(start, end))
        if hours != list(range(24)):
            raise ValueError("learned_windows.bands must cover hours 0-24 once each")
        return self

    def band_of(self, hour: int) -> str:
        return next(name for name, (start, end) in self.bands.items() if start <= hour < end)


class Discount(_Section):
    """A personal code sent with the follow-up: one per contact and offer, never reused."""

    offer: str = Field(min_length=1, max_length=64)
    valid_hours: float = Field(48, ge=24, le=72)  # seeds: valid 24-72 h


class CadenceRule(_Section):
    """One row of the follow-up cadence: when it applies, from what moment, how often, what to send."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    priority: int
    when: dict[str, str] = Field(description="dimension -> value (set dimensions: membership)")
    anchor: Literal["last_inbound", "last_purchase", "first_seen"] = "last_inbound"
    offsets_hours: tuple[float, ...] = ()
    every_days: float | None = Field(default=None, gt=0)
    once: bool = False  # one send per contact ever (per offer), whatever the anchor
    template: str = Field(min_length=1)
    category: Literal["marketing", "utility"] = "marketing"
    discount: Discount | None = None

    @model_validator(mode="after")
    def _schedule(self) -> CadenceRule:
        if bool(self.offsets_hours) == bool(self.every_days):
            raise ValueError(
                f"cadence rule {self.name}: give offsets_hours or every_days, not both"
            )
        if any(b <= a for a, b in zip(self.offsets_hours, self.offsets_hours[1:], strict=False)):
            raise ValueError(f"cadence rule {self.name}: offsets_hours must increase")
        return self


class Sending(_Section):
    marketing_per_week: int = Field(3, ge=0, le=5)  # seeds: 2-3 a week, never more than 5
    marketing_per_month: int = Field(8, ge=0)
    high_spender_per_week: int = Field(2, ge=0, le=5)
    passive_per_month: int = Field(1, ge=0)
    global_marketing_per_day: int | None = Field(None, ge=0)
    messages_per_second: float = Field(80, gt=0)  # Cloud API default per number
    pair_interval_seconds: float = Field(6, ge=0)  # one message per recipient per 6 s
    lease_seconds: float = Field(300, gt=0)  # a claimed send not finished by then is reconciled
    max_attempts: int = Field(5, ge=1)


class QueueColour(_Section):
    """How one status colour turns into work for its agent."""

    # An unanswered message, or the contact newly in this colour, is due within this many hours.
    respond_within_hours: float | None = Field(None, gt=0)
    # After our last touch (a message we sent, or the item marked done), the next item.
    follow_up_every_hours: float | None = Field(None, gt=0)
    # A change into this colour is work by itself (grey, the pause, is not).
    new_status_is_work: bool = True
    action: str = Field(min_length=1)


def _colour(respond: float | None, follow: float | None, action: str, work: bool = True) -> Any:
    return Field(
        default_factory=lambda: QueueColour(
            respond_within_hours=respond,
            follow_up_every_hours=follow,
            new_status_is_work=work,
            action=action,
        )
    )


class Queue(_Section):
    high_intent_within_hours: float = Field(1, gt=0)  # a price question: the offer within 1 h
    red_deadline_hours: float = Field(24, gt=0)  # red: answer within 24 h (target 2 h)
    red: QueueColour = _colour(2, 24, "Call first: the contact is deciding now")
    orange: QueueColour = _colour(12, 48, "Send additional information: a case study or spec")
    yellow: QueueColour = _colour(24, 48, "Send useful industry content")
    green: QueueColour = _colour(72, 720, "One valuable push this month")
    grey: QueueColour = _colour(24, None, "Paused: only answer if they write", work=False)

    def colour(self, status: str) -> QueueColour | None:
        value = getattr(self, status, None)
        return value if isinstance(value, QueueColour) else None


class Reports(_Section):
    snapshot_every_minutes: float = Field(60, gt=0)
    conversion_window_days: float = Field(30, gt=0)  # a purchase this soon after the tag converts
    high_activity_min_share: float = Field(0.15, ge=0, le=1)  # alert below
    red_max_share: float = Field(0.15, ge=0, le=1)  # alert above
    grey_week_growth: float = Field(0.20, ge=0)  # alert when grey grows this much week on week
    false_red_max_conversion: float = Field(0.20, ge=0, le=1)  # a red trigger converting below
    false_red_min_reds: int = Field(10, ge=1)  # ... once it has fired this often
    review_red_after_days: float = Field(3, gt=0)  # weekly review: red this long, no purchase
    review_orange_after_days: float = Field(14, gt=0)


class Ruleset(_Section):
    activity: Activity = Activity()
    intent: Intent = Intent()
    status: Status = Status()
    engagement: Engagement = Engagement()
    spend_tier: SpendTier = SpendTier()
    purchase_frequency: PurchaseFrequency = PurchaseFrequency()
    lifecycle: Lifecycle = Lifecycle()
    learned_windows: LearnedWindows = LearnedWindows()
    cadence: tuple[CadenceRule, ...] = ()
    sending: Sending = Sending()
    queue: Queue = Queue()
    reports: Reports = Reports()

    @model_validator(mode="after")
    def _unique_rules(self) -> Ruleset:
        names = [r.name for r in self.cadence]
        if len(names) != len(set(names)):
            raise ValueError("cadence rule names must be unique")
        return self


class RulesFileError(ValueError):
    pass


def load(path: Path | None = None) -> Ruleset:
    path = path or DEFAULT_RULES
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RulesFileError(f"cannot read rules file {path}: {exc}") from exc
    try:
        return Ruleset.model_validate(data)
    except ValidationError as exc:
        raise RulesFileError(f"rules file {path} is invalid:\n{exc}") from exc


@lru_cache(maxsize=1)
def defaults() -> Ruleset:
    return load(DEFAULT_RULES)
