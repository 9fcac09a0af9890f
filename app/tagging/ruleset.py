"""The operator's rules file (YAML) as a frozen, validated Ruleset; defaults from the seeds."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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


class Ruleset(_Section):
    activity: Activity = Activity()
    intent: Intent = Intent()
    status: Status = Status()
    engagement: Engagement = Engagement()
    spend_tier: SpendTier = SpendTier()
    purchase_frequency: PurchaseFrequency = PurchaseFrequency()
    lifecycle: Lifecycle = Lifecycle()
    learned_windows: LearnedWindows = LearnedWindows()


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
