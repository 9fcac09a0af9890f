"""Pure cadence: which follow-up is next, one plan per contact, stable plan keys."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from app.scheduling.cadence import ContactView, next_followup
from app.tagging.rules import Tags
from app.tagging.ruleset import defaults

RULES = defaults().cadence
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def view(
    tags: Tags, *, inbound=NOW - H, purchase=None, first=NOW - timedelta(days=60)
) -> ContactView:
    return ContactView(
        contact_id=7,
        tags=tags,
        first_seen_at=first,
        last_inbound_at=inbound,
        last_purchase_at=purchase,
    )


@pytest.mark.parametrize(
    ("tags", "rule", "due_after_inbound"),
    [
        (Tags(intent="high", activity="high"), "high_intent_followup", 12 * H),
        (Tags(intent="high", interests=frozenset({"discount_sensitive"})), "discount_code", 1 * H),
        (Tags(intent="medium", activity="high"), "medium_intent_followup", 48 * H),
        (Tags(activity="high"), "active_followup", 12 * H),
        (Tags(intent="potential", activity="low"), "potential_content", 7 * 24 * H),
        (Tags(activity="medium"), "medium_activity_nudge", 2 * 24 * H),
        (Tags(activity="low"), "low_activity_nudge", 5 * 24 * H),
        (Tags(intent="none"), "monthly_broadcast", 30 * 24 * H),
    ],
    ids=[
        "high",
        "discount",
        "medium",
        "active",
        "potential",
        "medium-activity",
        "low-activity",
        "none",
    ],
)
def test_highest_priority_rule_wins(tags, rule, due_after_inbound) -> None:
    followup = next_followup(view(tags), RULES, set(), NOW)
    assert followup is not None
    assert followup.rule == rule
    assert followup.due_at == NOW - H + due_after_inbound


def test_high_intent_sequence_3_within_72h_never_more_than_24h_apart() -> None:
    taken: set[str] = set()
    dues = []
    for _ in range(4):
        followup = next_followup(view(Tags(intent="high")), RULES, taken, NOW)
        if followup is None or followup.rule != "high_intent_followup":
            break
        taken.add(followup.plan_key)
        dues.append(followup.due_at - (NOW - H))
    assert dues == [12 * H, 36 * H, 60 * H]
    assert all(b - a <= 24 * H for a, b in itertools.pairwise(dues))
    assert dues[-1] <= 72 * H


def test_a_new_reply_restarts_the_sequence_with_new_keys() -> None:
    first = next_followup(view(Tags(intent="high")), RULES, set(), NOW)
    later = next_followup(view(Tags(intent="high"), inbound=NOW), RULES, {first.plan_key}, NOW)
    assert later.plan_key != first.plan_key
    assert later.due_at == NOW + 12 * H


def test_the_discount_code_is_planned_once_per_contact_and_offer() -> None:
    tags = Tags(interests=frozenset({"discount_sensitive"}))
    first = next_followup(view(tags), RULES, set(), NOW)
    assert first.plan_key == "7:discount_code:personal_10"
    again = next_followup(view(tags, inbound=NOW), RULES, {first.plan_key}, NOW)
    assert again is None or again.rule != "discount_code"


def test_recurring_rules_do_not_send_missed_slots_in_a_burst() -> None:
    tags = Tags(intent="none")
    followup = next_followup(view(tags, inbound=NOW - timedelta(days=95)), RULES, set(), NOW)
    assert followup.due_at == NOW - timedelta(days=95) + timedelta(
        days=90
    )  # the latest due slot only


def test_replenishment_from_the_purchase_date() -> None:
    followup = next_followup(
        view(
            Tags(categories=frozenset({"consumable"})),
            inbound=None,
            purchase=NOW - timedelta(days=3),
        ),
        RULES,
        set(),
        NOW,
    )
    assert followup.rule == "replenishment"
    assert followup.due_at == NOW - timedelta(days=3) + timedelta(days=14)


def test_nothing_applies_means_no_followup() -> None:
    assert next_followup(view(Tags()), RULES, set(), NOW) is None


def test_steps_of_a_sequence_long_past_are_skipped() -> None:
    # The question was 3 days ago: the 12 h and 36 h steps are over a day late, the 60 h one is not.
    followup = next_followup(
        view(Tags(intent="high"), inbound=NOW - timedelta(days=3)), RULES, set(), NOW
    )
    assert followup.rule == "high_intent_followup"
    assert followup.evidence["slot"] == 2
    # A month later the whole sequence is past; nothing else matches either.
    assert (
        next_followup(
            view(Tags(intent="high"), inbound=NOW - timedelta(days=30)), RULES, set(), NOW
        )
        is None
    )
