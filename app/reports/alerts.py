"""Team alert rules (SPEC "The agent queue": high activity below 15 %, red above 15 %, grey up 20 %
week on week) as pure functions of snapshot numbers. Pure: no I/O, no clock, no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.tagging.ruleset import Reports

HIGH_ACTIVITY_LOW = "high_activity_low"
RED_HIGH = "red_high"
GREY_RISING = "grey_rising"
NAMES = (HIGH_ACTIVITY_LOW, RED_HIGH, GREY_RISING)


@dataclass(frozen=True)
class TagCounts:
    """The few numbers of a day's tag snapshot that the alert rules read."""

    total: int
    high_activity: int
    red: int
    grey: int

    @classmethod
    def of(cls, snapshot: Mapping[str, Any]) -> TagCounts:
        """From the data of a "tags" snapshot (app.reports.snapshots)."""
        dims = snapshot.get("dimensions", {})

        def contacts(dimension: str, value: str) -> int:
            return int(dims.get(dimension, {}).get(value, {}).get("contacts", 0))

        return cls(
            total=int(snapshot.get("total", 0)),
            high_activity=contacts("activity", "high"),
            red=contacts("status", "red"),
            grey=contacts("status", "grey"),
        )


@dataclass(frozen=True)
class Condition:
    """An alert condition that holds now: its measured value and the threshold it crossed."""

    name: str
    value: float
    threshold: float
    details: dict[str, Any] = field(default_factory=dict)


def conditions(today: TagCounts, week_ago: TagCounts | None, rules: Reports) -> list[Condition]:
    """The team alerts that hold for today's counts. Shares are of all contacts; with no contacts
    there is nothing to alert about. Grey growth needs last week's snapshot and a grey count in
    it: growth from zero has no ratio, and a first grey contact is not a trend."""
    found: list[Condition] = []
    if today.total == 0:
        return found
    high_share = today.high_activity / today.total
    if high_share < rules.high_activity_min_share:
        found.append(
            Condition(
                HIGH_ACTIVITY_LOW,
                round(high_share, 4),
                rules.high_activity_min_share,
                {"high_activity": today.high_activity, "total": today.total},
            )
        )
    red_share = today.red / today.total
    if red_share > rules.red_max_share:
        found.append(
            Condition(
                RED_HIGH,
                round(red_share, 4),
                rules.red_max_share,
                {"red": today.red, "total": today.total},
            )
        )
    if week_ago is not None and week_ago.grey > 0:
        growth = today.grey / week_ago.grey - 1
        if growth > rules.grey_week_growth:
            found.append(
                Condition(
                    GREY_RISING,
                    round(growth, 4),
                    rules.grey_week_growth,
                    {"grey": today.grey, "grey_week_ago": week_ago.grey},
                )
            )
    return found
