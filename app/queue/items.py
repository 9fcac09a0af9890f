"""Keeps each contact's queue item (rank, due time, kind) in step with its tags and facts."""

from __future__ import annotations

from app.contacts.models import Contact
from app.queue.priority import Item, QueueFacts, item_for
from app.tagging.ruleset import Queue


def facts_of(contact: Contact) -> QueueFacts:
    return QueueFacts(
        status=contact.status,
        intent=contact.intent,
        status_changed_at=contact.status_changed_at,
        last_inbound_at=contact.last_inbound_at,
        last_outbound_at=contact.last_outbound_at,
        done_at=contact.queue_done_at,
        snoozed_until=contact.queue_snoozed_until,
    )


def refresh(contact: Contact, rules: Queue) -> Item | None:
    """Recomputes the stored item; called wherever tags, touches or snoozes change."""
    item = item_for(facts_of(contact), rules)
    contact.queue_rank = item.rank if item else None
    contact.queue_due_at = item.due_at if item else None
    contact.queue_kind = item.kind if item else None
    return item
