"""Pure tag rules, one table row per SPEC rule with the seeds' numbers; plus invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.tagging import rules
from app.tagging.intent import Match, Signals
from app.tagging.rules import Facts, Inbound, Purchase, Purchased, Read, Tags, evaluate, next_due
from app.tagging.ruleset import defaults

RS = defaults()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def sig(
    intent=None,
    *,
    interests=(),
    categories=(),
    parameters=(),
    comparison=False,
    opt_out=False,
    phrase="p",
):
    evidence = (Match("intent", intent or "", phrase, "en"),) if intent else ()
    evidence += tuple(Match("interest", i, phrase, "en") for i in interests)
    evidence += (Match("comparison", "true", "vs", "en"),) if comparison else ()
    return Signals(
        intent=intent,
        interests=frozenset(interests),
        categories=frozenset(categories),
        parameters=frozenset(parameters),
        comparison=comparison,
        opt_out=opt_out,
        opt_in=False,
        language="en",
        evidence=evidence,
    )


def facts(**over) -> Facts:
    base = {"first_seen_at": NOW - 30 * D, "last_inbound_at": NOW - H}
    base.update(over)
    return Facts(**base)


def changed(result, dimension):
    return next((c for c in result.changes if c.dimension == dimension), None)


# --- activity: from the last reply --------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected", "rule"),
    [
        (H, "high", "activity.replied_24h"),
        (24 * H, "high", "activity.replied_24h"),
        (24 * H + timedelta(seconds=1), "medium", "activity.replied_3d"),
        (3 * D, "medium", "activity.replied_3d"),
        (3 * D + H, "low", "activity.replied_7d"),
        (7 * D, "low", "activity.replied_7d"),
        (7 * D + H, "dormant", "activity.silent_7d"),
        (400 * D, "dormant", "activity.silent_7d"),
    ],
    ids=["1h", "24h", "24h+1s", "3d", "3d+1h", "7d", "7d+1h", "400d"],
)
def test_activity_decays_with_time(age, expected, rule) -> None:
    assert rules.activity(facts(last_inbound_at=NOW - age), NOW, RS)[:2] == (expected, rule)


def test_no_reply_yet_has_no_activity() -> None:
    assert rules.activity(facts(last_inbound_at=None), NOW, RS)[0] is None


# --- intent: real time up, downgrade after 3 days -----------------------------------------


@pytest.mark.parametrize(
    ("current", "signal", "expected"),
    [
        (None, "high", "high"),
        (None, "medium", "medium"),
        (None, "potential", "potential"),
        ("potential", "high", "high"),
        ("medium", "potential", "medium"),  # a "thanks" after a question does not lower intent
        ("high", "medium", "high"),
        ("high", "none", "none"),  # a clear refusal does
        ("none", "potential", "potential"),
        ("medium", None, "medium"),
    ],
)
def test_intent_from_a_message(current, signal, expected) -> None:
    result = evaluate(Tags(intent=current), facts(), NOW, RS, Inbound(1, NOW, sig(signal)))
    assert result.tags.intent == expected


@pytest.mark.parametrize(
    ("silence", "expected"),
    [
        (2 * D, "high"),
        (3 * D - timedelta(seconds=1), "high"),
        (3 * D, "medium"),
        (10 * D, "medium"),
    ],
)
def test_high_intent_without_reply_for_3_days_becomes_medium(silence, expected) -> None:
    result = evaluate(
        Tags(intent="high", status="red"), facts(last_inbound_at=NOW - silence), NOW, RS
    )
    assert result.tags.intent == expected
    if expected == "medium":
        assert changed(result, "intent").rule == "intent.high_no_reply"


def test_read_but_no_reply_means_intent_none() -> None:
    f = facts(last_inbound_at=None, last_read_at=NOW - 49 * H)
    assert evaluate(Tags(), f, NOW, RS).tags.intent == "none"
    assert evaluate(Tags(), replace(f, last_read_at=NOW - 47 * H), NOW, RS).tags.intent is None


# --- status escalation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "signals", "streak", "expected", "rule"),
    [
        ("green", sig("high"), 0, "red", "status.high_intent"),
        ("yellow", sig("high"), 2, "red", "status.high_intent"),
        ("green", sig("high"), 3, "orange", "status.red_limit"),  # 4th time in a row stays orange
        ("orange", sig(None, comparison=True), 0, "red", "status.comparison"),
        ("green", sig(None, comparison=True), 0, "green", None),  # comparison escalates only orange
        ("orange", sig("potential"), 0, "green", "status.replied"),  # a reply ends "read, no reply"
        ("grey", sig("potential"), 0, "green", "status.replied"),
        ("red", sig("potential"), 1, "red", None),
    ],
    ids=[
        "green-high",
        "yellow-high-3rd",
        "4th-red",
        "orange-compare",
        "green-compare",
        "orange-reply",
        "grey-reply",
        "red-stays",
    ],
)
def test_status_on_a_message(status, signals, streak, expected, rule) -> None:
    result = evaluate(
        Tags(status=status), facts(red_streak=streak), NOW, RS, Inbound(1, NOW, signals)
    )
    assert result.tags.status == expected
    change = changed(result, "status")
    assert (change.rule if change else None) == rule


def test_red_streak_counts_escalations_and_resets_on_purchase() -> None:
    tags, f = Tags(status="green"), facts()
    for expected_streak in (1, 2, 3):
        r = evaluate(tags, f, NOW, RS, Inbound(1, NOW, sig("high")))
        assert r.tags.status == "red"
        assert r.facts.red_streak == expected_streak
        tags, f = replace(r.tags, status="green"), r.facts
    assert evaluate(tags, f, NOW, RS, Inbound(2, NOW, sig("high"))).tags.status == "orange"
    bought = evaluate(tags, f, NOW, RS, Purchased("o1", NOW, 10.0))
    assert bought.facts.red_streak == 0
    assert (
        evaluate(bought.tags, bought.facts, NOW, RS, Inbound(3, NOW, sig("high"))).tags.status
        == "red"
    )


def test_offer_read_three_times_turns_yellow_orange() -> None:
    tags, f = Tags(status="yellow"), facts(first_seen_at=NOW - D, last_inbound_at=NOW - H)
    for n in (1, 2):
        r = evaluate(tags, f, NOW, RS, Read(f"w{n}", NOW))
        assert r.tags.status == "yellow"
        tags, f = r.tags, r.facts
    r = evaluate(tags, f, NOW, RS, Read("w3", NOW))
    assert r.tags.status == "orange"
    assert changed(r, "status").rule == "status.offer_reads"


@pytest.mark.parametrize(
    ("status", "over", "expected", "rule"),
    [
        ("yellow", {"first_seen_at": NOW - 6 * D}, "yellow", None),
        ("yellow", {"first_seen_at": NOW - 7 * D}, "green", "status.nurture"),
        (
            "green",
            {"last_read_at": NOW - 49 * H, "last_inbound_at": NOW - 50 * H},
            "orange",
            "status.read_no_reply",
        ),
        ("green", {"last_read_at": NOW - 47 * H, "last_inbound_at": NOW - 50 * H}, "green", None),
        (
            "green",
            {
                "last_outbound_at": NOW - 7 * D,
                "last_read_at": NOW - 10 * D,
                "last_inbound_at": NOW - 9 * D,
            },
            "grey",
            "status.no_read_7d",
        ),
        (
            "green",
            {
                "last_outbound_at": NOW - 6 * D,
                "last_read_at": NOW - 10 * D,
                "last_inbound_at": NOW - 9 * D,
            },
            "green",
            None,
        ),
        (
            "green",
            {"first_seen_at": NOW - 400 * D, "last_inbound_at": NOW - 180 * D},
            "grey",
            "status.no_interaction_6m",
        ),
        (
            "red",
            {"last_inbound_at": NOW - 3 * D, "status_changed_at": NOW - 3 * D},
            "green",
            "status.red_expired",
        ),
        ("red", {"last_inbound_at": NOW - 2 * D, "status_changed_at": NOW - 2 * D}, "red", None),
        (None, {"first_seen_at": NOW - H}, "yellow", "status.first_contact"),
        (None, {"first_seen_at": NOW - 8 * D}, "green", "status.first_contact"),
    ],
    ids=[
        "yellow-6d",
        "yellow-7d",
        "read-49h",
        "read-47h",
        "no-read-7d",
        "no-read-6d",
        "6-months",
        "red-3d",
        "red-2d",
        "new",
        "new-old",
    ],
)
def test_status_by_time(status, over, expected, rule) -> None:
    result = evaluate(Tags(status=status), facts(**over), NOW, RS)
    assert result.tags.status == expected
    change = changed(result, "status")
    assert (change.rule if change else None) == rule


# --- interests, categories, learned windows ----------------------------------------------


def test_interests_and_categories_accumulate_with_evidence() -> None:
    signals = sig(
        "high",
        interests=["discount_sensitive"],
        categories=["3c"],
        parameters=["high_capacity"],
        phrase="discount",
    )
    r = evaluate(
        Tags(interests=frozenset({"brand_loyal"})), facts(), NOW, RS, Inbound(7, NOW, signals)
    )
    assert r.tags.interests == {"brand_loyal", "discount_sensitive"}
    assert r.tags.categories == {"3c", "high_capacity"}
    assert changed(r, "interests").evidence == {"message_id": 7, "phrases": ["discount"]}


def test_five_reads_in_the_same_local_slot_learn_a_window() -> None:
    # Wednesdays 21:00 in Berlin (20:00 UTC in winter).
    wednesdays = [datetime(2026, 11, 4, 20, 0, tzinfo=UTC) + i * 7 * D for i in range(5)]
    f = facts(
        timezone="Europe/Berlin", recent_reads=tuple(wednesdays[:4]), last_inbound_at=wednesdays[0]
    )
    r = evaluate(Tags(status="green"), f, wednesdays[-1], RS, Read("w", wednesdays[-1]))
    assert "active_wed_evening" in r.tags.windows
    f_mixed = replace(f, recent_reads=(*wednesdays[:3], wednesdays[3] + 2 * D))
    assert not evaluate(
        Tags(status="green"), f_mixed, wednesdays[-1], RS, Read("w", wednesdays[-1])
    ).tags.windows


# --- spend, frequency, lifecycle, engagement ----------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([], None),
        ([499.99], "low"),
        ([500], "mid"),
        ([1500, 500], "mid"),
        ([2000], "mid"),
        ([2000.01], "high"),
        ([1500, 600], "high"),
    ],
)
def test_spend_tier_from_the_rolling_12_month_total(amounts, expected) -> None:
    f = facts(purchases=tuple(Purchase(NOW - (i + 1) * D, a) for i, a in enumerate(amounts)))
    assert rules.spend_tier(f, NOW, RS)[0] == expected


def test_purchases_older_than_12_months_drop_out() -> None:
    f = facts(purchases=(Purchase(NOW - 400 * D, 5000.0), Purchase(NOW - 10 * D, 100.0)))
    assert rules.spend_tier(f, NOW, RS)[0] == "low"


@pytest.mark.parametrize(
    ("gaps_days", "expected"),
    [([], None), ([30], "monthly"), ([45, 45], "monthly"), ([90], "quarterly"), ([200], "yearly")],
)
def test_purchase_frequency(gaps_days, expected) -> None:
    times = [NOW - D]
    for gap in gaps_days:
        times.insert(0, times[0] - gap * D)
    f = facts(purchases=tuple(Purchase(t, 10.0) for t in times))
    assert rules.purchase_frequency(f, NOW, RS)[0] == expected


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"first_seen_at": NOW - 2 * D}, "new_subscriber"),
        ({"asked": True}, "high_potential"),
        ({"clicked": True}, "high_potential"),
        ({"last_inbound_at": NOW - 31 * D}, "inactive"),
        ({"purchases": (Purchase(NOW - 91 * D, 10.0),)}, "inactive"),
        (
            {
                "purchases": (Purchase(NOW - 5 * D, 10.0),),
                "recent_inbound": (NOW - D, NOW - 2 * D, NOW - 3 * D),
            },
            "active_buyer",
        ),
        ({"purchases": (Purchase(NOW - 200 * D, 10.0), Purchase(NOW - 5 * D, 10.0))}, "returning"),
    ],
    ids=["new", "asked", "clicked", "silent-30d", "no-purchase-90d", "active-buyer", "returning"],
)
def test_lifecycle(over, expected) -> None:
    assert rules.lifecycle(facts(**over), NOW, RS)[0] == expected


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"recent_inbound": tuple(NOW - i * H for i in range(4))}, "frequent"),
        ({"recent_inbound": tuple(NOW - i * H for i in range(3))}, None),
        ({"recent_reads": (NOW - D,), "recent_inbound": (NOW - 20 * D,)}, "reads"),
        (
            {
                "first_seen_at": NOW - 100 * D,
                "last_outbound_at": NOW - D,
                "last_read_at": NOW - 91 * D,
            },
            "unread",
        ),
        (
            {
                "first_seen_at": NOW - 100 * D,
                "last_outbound_at": NOW - D,
                "last_read_at": NOW - 89 * D,
            },
            None,
        ),
    ],
    ids=["4-a-week", "3-a-week", "reads", "unread-90d", "read-89d"],
)
def test_engagement(over, expected) -> None:
    assert rules.engagement(facts(**over), NOW, RS)[0] == expected


# --- locks, next_due, invariants ----------------------------------------------------------


def test_a_locked_tag_is_not_changed_until_its_expiry() -> None:
    f = facts(locks={"status": NOW + D})
    assert (
        evaluate(Tags(status="green"), f, NOW, RS, Inbound(1, NOW, sig("high"))).tags.status
        == "green"
    )
    later = NOW + 2 * D
    assert (
        evaluate(
            Tags(status="green"),
            replace(f, last_inbound_at=later),
            later,
            RS,
            Inbound(1, later, sig("high")),
        ).tags.status
        == "red"
    )


def test_next_due_is_when_activity_would_decay() -> None:
    f = facts(first_seen_at=NOW - 100 * D, last_inbound_at=NOW - H)
    assert next_due(f, NOW, RS) == NOW - H + 24 * H


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
statuses = st.sampled_from([None, *rules.VALUES["status"]])
intents = st.sampled_from([None, *rules.VALUES["intent"]])


@st.composite
def contact_facts(draw):
    first = draw(moments)
    inbound = draw(
        st.one_of(
            st.none(),
            st.datetimes(
                min_value=first.replace(tzinfo=None),
                max_value=datetime(2027, 1, 1),
                timezones=st.just(UTC),
            ),
        )
    )
    read = draw(st.one_of(st.none(), moments.filter(lambda t: t >= first)))
    return Facts(
        first_seen_at=first,
        last_inbound_at=inbound,
        last_read_at=read,
        red_streak=draw(st.integers(0, 5)),
    )


@settings(max_examples=200, deadline=None)
@given(
    f=contact_facts(),
    status=statuses,
    intent=intents,
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_activity_never_rises_without_a_new_reply(f, status, intent, later) -> None:
    start = max(t for t in (f.first_seen_at, f.last_inbound_at, f.last_read_at) if t)
    order = {None: -1, "dormant": 0, "low": 1, "medium": 2, "high": 3}
    first = evaluate(Tags(status=status, intent=intent), f, start, RS)
    second = evaluate(first.tags, first.facts, start + later, RS)
    assert order[second.tags.activity] <= order[first.tags.activity]


@settings(max_examples=200, deadline=None)
@given(
    f=contact_facts(),
    status=statuses,
    intent=intents,
    level=st.sampled_from(["high", "medium", "none", None]),
)
def test_locked_tags_never_change_automatically(f, status, intent, level) -> None:
    now = max(t for t in (f.first_seen_at, f.last_inbound_at, f.last_read_at) if t) + D
    locked = replace(f, locks=dict.fromkeys(rules.DIMENSIONS))
    tags = Tags(status=status, intent=intent)
    result = evaluate(tags, locked, now, RS, Inbound(1, now, sig(level)))
    assert result.tags == tags
    assert result.changes == ()


@settings(max_examples=200, deadline=None)
@given(
    f=contact_facts(),
    status=statuses,
    intent=intents,
    level=st.sampled_from(["high", "potential", None]),
)
def test_same_facts_and_clock_give_the_same_tags(f, status, intent, level) -> None:
    now = max(t for t in (f.first_seen_at, f.last_inbound_at, f.last_read_at) if t) + H
    event = Inbound(1, now, sig(level))
    assert evaluate(Tags(status=status, intent=intent), f, now, RS, event) == evaluate(
        Tags(status=status, intent=intent), f, now, RS, event
    )


@settings(max_examples=200, deadline=None)
@given(f=contact_facts(), status=statuses, intent=intents)
def test_applying_the_time_rules_twice_changes_nothing_more(f, status, intent) -> None:
    now = max(t for t in (f.first_seen_at, f.last_inbound_at, f.last_read_at) if t) + 5 * D
    once = evaluate(Tags(status=status, intent=intent), f, now, RS)
    twice = evaluate(once.tags, once.facts, now, RS)
    assert twice.changes == ()
