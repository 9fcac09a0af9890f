"""The queue item of a contact: a table of cases over colours, touches and snoozes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.queue.priority import (
    FOLLOW_UP,
    NEW_STATUS,
    RANKS,
    REMINDER,
    REPLY,
    Item,
    QueueFacts,
    deadline_of,
    item_for,
)
from app.tagging.ruleset import Queue, defaults

T = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
RULES = defaults().queue

BASE = QueueFacts(
    status="red",
    intent=None,
    status_changed_at=T,
    last_inbound_at=T,
    last_outbound_at=None,
    done_at=None,
    snoozed_until=None,
)

CASES = [
    # (name, changes, expected (colour, due, kind) or None)
    ("red, unanswered message: target 2 h", {}, ("red", T + 2 * H, REPLY)),
    ("red by a price question: 1 h", {"intent": "high"}, ("red", T + H, REPLY)),
    ("orange, unanswered: 12 h", {"status": "orange"}, ("orange", T + 12 * H, REPLY)),
    (
        "a price question is 1 h in any colour",
        {"status": "green", "intent": "high"},
        ("green", T + H, REPLY),
    ),
    ("yellow, unanswered: 24 h", {"status": "yellow"}, ("yellow", T + 24 * H, REPLY)),
    ("green, unanswered: 72 h", {"status": "green"}, ("green", T + 72 * H, REPLY)),
    ("grey still answers a message", {"status": "grey"}, ("grey", T + 24 * H, REPLY)),
    (
        "answered red: follow-up 24 h after our message",
        {"last_outbound_at": T + H},
        ("red", T + 25 * H, FOLLOW_UP),
    ),
    (
        "marked done: follow-up from the done time",
        {"done_at": T + 3 * H},
        ("red", T + 27 * H, FOLLOW_UP),
    ),
    (
        "new colour after our last touch is work of its own",
        {"status": "orange", "last_inbound_at": T - 72 * H, "last_outbound_at": T - 60 * H},
        ("orange", T + 12 * H, NEW_STATUS),
    ),
    (
        "grey after our touch is no work (pause)",
        {"status": "grey", "last_inbound_at": None, "last_outbound_at": T - H},
        None,
    ),
    (
        "grey with a snooze comes back as a reminder",
        {
            "status": "grey",
            "last_inbound_at": None,
            "last_outbound_at": T - H,
            "snoozed_until": T + 5 * H,
        },
        ("grey", T + 5 * H, REMINDER),
    ),
    (
        "green after our touch: one push a month",
        {
            "status": "green",
            "last_inbound_at": T - 100 * H,
            "status_changed_at": T - 200 * H,
            "last_outbound_at": T,
        },
        ("green", T + 720 * H, FOLLOW_UP),
    ),
    (
        "a snooze later than the due time wins",
        {"snoozed_until": T + 6 * H},
        ("red", T + 6 * H, REPLY),
    ),
    (
        "a snooze already past changes nothing",
        {"snoozed_until": T - 6 * H},
        ("red", T + 2 * H, REPLY),
    ),
    ("no status, no item", {"status": None}, None),
    (
        "never written, never touched, new yellow",
        {"status": "yellow", "last_inbound_at": None},
        ("yellow", T + 24 * H, NEW_STATUS),
    ),
    (
        "nothing at all to anchor on",
        {"status": "green", "last_inbound_at": None, "status_changed_at": None},
        None,
    ),
]


@pytest.mark.parametrize(("name", "changes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_item_for(name: str, changes: dict, expected: tuple | None) -> None:
    item = item_for(replace(BASE, **changes), RULES)
    if expected is None:
        assert item is None
    else:
        colour, due, kind = expected
        assert item == Item(RANKS[colour], due, kind)


def test_the_rules_file_moves_the_times() -> None:
    faster = Queue.model_validate(
        {"high_intent_within_hours": 0.5, "red": {"respond_within_hours": 1, "action": "Call"}}
    )
    assert item_for(BASE, faster) == Item(0, T + H, REPLY)
    assert item_for(replace(BASE, intent="high"), faster) == Item(0, T + H / 2, REPLY)


def test_red_replies_carry_the_24_hour_deadline() -> None:
    item = item_for(BASE, RULES)
    assert item is not None
    assert deadline_of(item, BASE, RULES) == T + 24 * H
    answered = replace(BASE, last_outbound_at=T + H)
    follow = item_for(answered, RULES)
    assert follow is not None
    assert deadline_of(follow, answered, RULES) is None


def test_ranks_order_the_colours() -> None:
    assert sorted(RANKS, key=RANKS.__getitem__) == ["red", "orange", "yellow", "green", "grey"]
