"""Team alert rules: a table of snapshot numbers and the alerts that hold for them."""

from __future__ import annotations

import pytest

from app.reports.alerts import (
    GREY_RISING,
    HIGH_ACTIVITY_LOW,
    RED_HIGH,
    Condition,
    TagCounts,
    conditions,
)
from app.tagging.ruleset import Reports, defaults

RULES = defaults().reports
# A healthy base: 20 % highly active, 10 % red, 100 grey.
OK = TagCounts(total=1000, high_activity=200, red=100, grey=100)


def counts(**over: int) -> TagCounts:
    return TagCounts(**{**OK.__dict__, **over})


CASES = [
    # (name, today, week ago, expected {alert: value})
    ("healthy: nothing", OK, OK, {}),
    ("no contacts: nothing", TagCounts(0, 0, 0, 0), None, {}),
    ("high activity 14.9 %: below 15 %", counts(high_activity=149), OK, {HIGH_ACTIVITY_LOW: 0.149}),
    ("high activity exactly 15 %: not below", counts(high_activity=150), OK, {}),
    ("no highly active contact at all", counts(high_activity=0), OK, {HIGH_ACTIVITY_LOW: 0.0}),
    ("red 15.1 %: above 15 %", counts(red=151), OK, {RED_HIGH: 0.151}),
    ("red exactly 15 %: not above", counts(red=150), OK, {}),
    ("grey +21 % on the week", counts(grey=121), OK, {GREY_RISING: 0.21}),
    ("grey exactly +20 %: not more", counts(grey=120), OK, {}),
    ("grey falling", counts(grey=50), OK, {}),
    ("grey doubled but no week-old snapshot", counts(grey=200), None, {}),
    ("grey from zero has no ratio", counts(grey=5), counts(grey=0), {}),
    (
        "all three at once",
        counts(high_activity=10, red=400, grey=300),
        OK,
        {HIGH_ACTIVITY_LOW: 0.01, RED_HIGH: 0.4, GREY_RISING: 2.0},
    ),
]


@pytest.mark.parametrize(
    ("today", "week_ago", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_conditions(today: TagCounts, week_ago: TagCounts | None, expected: dict) -> None:
    found = conditions(today, week_ago, RULES)
    assert {c.name: c.value for c in found} == pytest.approx(expected)


def test_each_condition_names_its_threshold_and_counts() -> None:
    found = {c.name: c for c in conditions(counts(high_activity=10, red=400, grey=300), OK, RULES)}
    assert found[HIGH_ACTIVITY_LOW] == Condition(
        HIGH_ACTIVITY_LOW, 0.01, 0.15, {"high_activity": 10, "total": 1000}
    )
    assert found[RED_HIGH].threshold == 0.15
    assert found[RED_HIGH].details == {"red": 400, "total": 1000}
    assert found[GREY_RISING].threshold == 0.2
    assert found[GREY_RISING].details == {"grey": 300, "grey_week_ago": 100}


def test_thresholds_come_from_the_rules_file() -> None:
    strict = Reports(high_activity_min_share=0.25, red_max_share=0.05, grey_week_growth=0.1)
    found = {c.name for c in conditions(counts(grey=115), OK, strict)}
    assert found == {HIGH_ACTIVITY_LOW, RED_HIGH, GREY_RISING}


SNAPSHOT_CASES = [
    ("empty snapshot", {}, TagCounts(0, 0, 0, 0)),
    (
        "counts read from dimensions",
        {
            "total": 7,
            "dimensions": {
                "activity": {"high": {"contacts": 3}, "low": {"contacts": 4}},
                "status": {"red": {"contacts": 2}, "grey": {"contacts": 1}},
            },
        },
        TagCounts(7, 3, 2, 1),
    ),
    (
        "values nobody holds are zero",
        {"total": 2, "dimensions": {"activity": {}, "status": {"green": {"contacts": 2}}}},
        TagCounts(2, 0, 0, 0),
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in SNAPSHOT_CASES], ids=[c[0] for c in SNAPSHOT_CASES]
)
def test_counts_of_a_snapshot(data: dict, expected: TagCounts) -> None:
    assert TagCounts.of(data) == expected
