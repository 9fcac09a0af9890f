"""Which work a contact means for its agent, and by when: a pure function of its tags and facts.

Agents work by colour (SPEC "The agent queue"): red first, nearest deadline first, then orange,
yellow, green; grey only when something is due. The item is computed whenever the tags are, and
kept on the contact, so that the queue is an index range scan whatever the number of contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.tagging.ruleset import Queue

RANKS = {"red": 0, "orange": 1, "yellow": 2, "green": 3, "grey": 4}
COLOURS = tuple(RANKS)

# What the agent is asked to do:
REPLY = "reply"  # the contact wrote and nobody has answered yet
NEW_STATUS = "new_status"  # the contact moved into this colour since our last touch
FOLLOW_UP = "follow_up"  # the colour's follow-up interval has passed since our last touch
REMINDER = "reminder"  # nothing else due, but an agent snoozed the contact until now
KINDS = (REPLY, NEW_STATUS, FOLLOW_UP, REMINDER)


@dataclass(frozen=True)
class QueueFacts:
    status: str | None
    intent: str | None
    status_changed_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    done_at: datetime | None
    snoozed_until: datetime | None


@dataclass(frozen=True)
class Item:
    rank: int
    due_at: datetime
    kind: str


def _latest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return max(present) if present else None


def item_for(facts: QueueFacts, rules: Queue) -> Item | None:
    """The contact's queue item, or None when there is nothing to do for it."""
    colour = rules.colour(facts.status) if facts.status else None
    if colour is None or facts.status is None:
        return None
    rank = RANKS[facts.status]
    touched = _latest(facts.last_outbound_at, facts.done_at)
    due: datetime | None = None
    kind = REMINDER
    inbound = facts.last_inbound_at
    if inbound is not None and (touched is None or inbound > touched):
        hours = colour.respond_within_hours
        if facts.intent == "high":
            # A price, stock or discount question is answered within the hour whatever the
            # colour says (a hand-locked status, or one the rules kept orange).
            hours = min(hours or rules.high_intent_within_hours, rules.high_intent_within_hours)
        if hours is not None:
            due, kind = inbound + timedelta(hours=hours), REPLY
    elif (
        colour.new_status_is_work
        and colour.respond_within_hours is not None
        and facts.status_changed_at is not None
        and (touched is None or facts.status_changed_at > touched)
    ):
        due, kind = (
            facts.status_changed_at + timedelta(hours=colour.respond_within_hours),
            NEW_STATUS,
        )
    elif touched is not None and colour.follow_up_every_hours is not None:
        due, kind = touched + timedelta(hours=colour.follow_up_every_hours), FOLLOW_UP
    snoozed = facts.snoozed_until
    if due is None:
        # Grey, or a colour with nothing scheduled: only an agent's own reminder makes work.
        return Item(rank, snoozed, REMINDER) if snoozed is not None else None
    if snoozed is not None and snoozed > due:
        due = snoozed
    return Item(rank, due, kind)


def deadline_of(item: Item, facts: QueueFacts, rules: Queue) -> datetime | None:
    """The hard limit beyond the target: a red contact must be answered within 24 h."""
    if item.rank == RANKS["red"] and item.kind == REPLY and facts.last_inbound_at is not None:
        return facts.last_inbound_at + timedelta(hours=rules.red_deadline_hours)
    return None
