"""Pure: synthetic contacts, each with a short history told through the service's own rules.

What a text does to the tags comes from app.tagging.rules itself (evaluated once per text); tags
that follow from facts come from the rules' public functions (activity, lifecycle, …); the queue
item from app.queue.priority, after agents worked most of what fell due. The plots themselves
(which colour, which history) are in app.seed.plots. No I/O: rows for app.seed.load to write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.contacts.phone import NumberFacts, facts_for
from app.queue import priority
from app.seed import samples
from app.tagging import rules
from app.tagging.intent import Detector, default_detector
from app.tagging.ruleset import Ruleset

# Of the items that fell due, the share agents worked (marked done); the rest is the backlog.
HANDLED = {"red": 0.92, "orange": 0.8, "yellow": 0.8, "green": 0.75, "grey": 0.97}
MESSAGE_SLOTS = 4  # message ids per contact, in time order: the latest inbound has the highest id
SOURCES = ("website", "social", "ctwa_ad", "import", "offline_event", "unknown")
MINUTE = timedelta(minutes=1)
T0 = datetime(2000, 1, 1, tzinfo=UTC)  # where a text's reaction is evaluated, once per text


@dataclass
class Rows:
    contacts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    tag_events: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Story:
    """One contact's history as it is being told; tags hold their value at the story's time."""

    id: int
    wa_id: str
    market: samples.Market
    first_message_id: int
    first_seen: datetime
    status: str | None = None
    status_changed_at: datetime | None = None
    intent: str | None = None
    interests: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    inbound: list[datetime] = field(default_factory=list)
    reads: list[datetime] = field(default_factory=list)
    last_outbound: datetime | None = None
    red_streak: int = 0
    offer_reads: int = 0
    asked: bool = False
    orders: list[rules.Purchase] = field(default_factory=list)
    rows: Rows = field(default_factory=Rows)

    @property
    def language(self) -> str:
        return self.market.language


class Teller:
    """Tells stories for one seeding run: at the run's `now`, under its ruleset."""

    def __init__(self, now: datetime, ruleset: Ruleset, detector: Detector | None = None) -> None:
        self.now = now
        self.rs = ruleset
        self.detector = detector or default_detector()
        self._reactions: dict[tuple[str, str, str | None, str | None], list[rules.Change]] = {}
        self._numbers: dict[str, NumberFacts | None] = {
            m.prefix: facts_for(m.number(1)) for m in samples.MARKETS
        }

    # --- what happens in a story ---------------------------------------------------------------

    def say(self, rng: random.Random, s: Story, at: datetime, level: str) -> int:
        """An inbound message and the tag changes the rules make of it; returns the message id."""
        text = rng.choice(samples.TEXTS[level][s.language])
        mid = self._message(s, at, "in", text=text)
        s.inbound.append(at)
        s.offer_reads = 0
        s.asked = s.asked or level in ("high", "medium", "comparison")
        for change in self._reaction(text, s.language, s.status, s.intent):
            evidence = {**change.evidence, "message_id": mid}
            if change.dimension in ("interests", "categories"):
                current: set[str] = getattr(s, change.dimension)
                found = change.new if isinstance(change.new, frozenset) else frozenset()
                if found - current:
                    new = sorted(current | found)
                    self.record(
                        s, change.dimension, sorted(current), new, change.rule, evidence, at
                    )
                    current |= found
            elif change.dimension == "intent":
                self.record(s, "intent", s.intent, change.new, change.rule, evidence, at)
                s.intent = str(change.new)
            elif change.dimension == "status":
                self.change(s, str(change.new), change.rule, evidence, at, trigger="event")
                if change.new == "red":
                    s.red_streak += 1
        return mid

    def send(
        self, rng: random.Random, s: Story, at: datetime, read_at: datetime | None = None
    ) -> str:
        """One of our templates; read_at when the contact opened it."""
        wamid = f"wamid.seed.{s.id}.{len(s.rows.messages)}"
        self._message(
            s, at, "out", template=rng.choice(samples.TEMPLATES), read=read_at is not None
        )
        s.last_outbound = at
        if read_at is not None:
            s.reads.append(read_at)
            s.offer_reads += 1
        return wamid

    def buy(
        self, rng: random.Random, s: Story, at: datetime, amount: float, *, moves_status: bool
    ) -> None:
        """An order; moves_status=False for old orders from before the story's colour."""
        order_id = f"seed-{s.id}-{len(s.rows.purchases) + 1}"
        category = rng.choice(samples.CATEGORIES)
        sku = f"{category}-{rng.randrange(1, 40):03d}"
        s.rows.purchases.append(
            {
                "contact_id": s.id,
                "order_id": order_id,
                "amount": Decimal(f"{amount:.2f}"),
                "currency": s.market.currency,
                "items": [{"sku": sku, "category": category}],
                "purchased_at": at,
                "recorded_at": at,
            }
        )
        s.orders.append(rules.Purchase(at, round(amount, 2), frozenset({category})))
        evidence = {"order_id": order_id, "amount": round(amount, 2)}
        if moves_status:
            s.red_streak = 0
            if s.status in ("red", "orange"):
                self.change(s, "green", "status.purchased", evidence, at, trigger="event")
        if category not in s.categories:
            new = sorted(s.categories | {category})
            self.record(
                s, "categories", sorted(s.categories), new, "categories.purchase", evidence, at
            )
            s.categories.add(category)

    def change(
        self,
        s: Story,
        new: str,
        rule: str,
        evidence: dict[str, Any],
        at: datetime,
        trigger: str = "time",
    ) -> None:
        """A status change, as the rule named would have written it."""
        self.record(s, "status", s.status, new, rule, evidence, at, trigger)
        s.status, s.status_changed_at = new, at

    def record(
        self,
        s: Story,
        dimension: str,
        old: Any,
        new: Any,
        rule: str,
        evidence: dict[str, Any],
        at: datetime,
        trigger: str = "event",
    ) -> None:
        s.rows.tag_events.append(
            {
                "contact_id": s.id,
                "dimension": dimension,
                "old_value": old,
                "new_value": new,
                "rule": rule,
                "evidence": evidence,
                "trigger": trigger,
                "at": at,
            }
        )

    # --- internals -----------------------------------------------------------------------------

    def _reaction(
        self, text: str, language: str, status: str | None, intent: str | None
    ) -> list[rules.Change]:
        key = (text, language, status, intent)
        if key not in self._reactions:
            result = rules.evaluate(
                rules.Tags(status=status, intent=intent),
                rules.Facts(first_seen_at=T0),
                T0,
                self.rs,
                rules.Inbound(0, T0, self.detector.detect(text, language)),
            )
            # Only the message's own rules: the time rules saw a made-up history.
            self._reactions[key] = [
                c
                for c in result.changes
                if c.dimension in ("intent", "status", "interests", "categories")
                and c.evidence.get("message_id") == 0
            ]
        return self._reactions[key]

    def _message(
        self,
        s: Story,
        at: datetime,
        direction: str,
        *,
        text: str | None = None,
        template: str | None = None,
        read: bool = False,
    ) -> int:
        n = len(s.rows.messages)
        assert n < MESSAGE_SLOTS, "a story writes at most MESSAGE_SLOTS messages"
        mid = s.first_message_id + n
        wamid = f"wamid.seed.{s.id}.{n}"
        payload: dict[str, Any] = (
            {
                "from": s.wa_id,
                "id": wamid,
                "timestamp": str(int(at.timestamp())),
                "type": "text",
                "text": {"body": text},
            }
            if direction == "in"
            else {"template": template, "language": s.language}
        )
        s.rows.messages.append(
            {
                "id": mid,
                "wamid": wamid,
                "contact_id": s.id,
                "direction": direction,
                "type": "text" if direction == "in" else "template",
                "text": text,
                "payload": payload,
                "sent_at": at,
                "status": None if direction == "in" else ("read" if read else "delivered"),
            }
        )
        return mid

    def finish(self, rng: random.Random, s: Story, rows: Rows, agent: int | None) -> None:
        """The contact's row as the story leaves it, and the story's rows in with the batch's."""
        now, rs = self.now, self.rs
        facts = rules.Facts(
            first_seen_at=s.first_seen,
            last_inbound_at=max(s.inbound, default=None),
            last_read_at=max(s.reads, default=None),
            last_outbound_at=s.last_outbound,
            status_changed_at=s.status_changed_at,
            red_streak=s.red_streak,
            offer_reads=s.offer_reads,
            recent_inbound=tuple(sorted(s.inbound)[-rules.RECENT :]),
            recent_reads=tuple(sorted(s.reads)[-rules.RECENT :]),
            purchases=tuple(sorted(s.orders, key=lambda p: p.at)),
            asked=s.asked,
        )
        done_at, item = self._worked(rng, s, facts)
        number = self._numbers[s.market.prefix]
        first = rng.choice(samples.FIRST_NAMES[s.language])
        rows.contacts.append(
            {
                "id": s.id,
                "wa_id": s.wa_id,
                "name": f"{first} {chr(65 + rng.randrange(26))}.",
                "phone_e164": "+" + s.wa_id,
                "country": number.country if number else None,
                "calling_code": number.calling_code if number else None,
                "area": number.area if number else None,
                "timezone": number.timezone if number else None,
                "language": s.language,
                "source": rng.choice(SOURCES),
                "opted_out": rng.random() < 0.02,
                "first_seen_at": s.first_seen,
                "last_inbound_at": facts.last_inbound_at,
                "preferences": {},
                "activity": rules.activity(facts, now, rs)[0],
                "intent": s.intent,
                "status": s.status,
                "lifecycle": rules.lifecycle(facts, now, rs)[0],
                "engagement": rules.engagement(facts, now, rs)[0],
                "spend_tier": rules.spend_tier(facts, now, rs)[0],
                "purchase_frequency": rules.purchase_frequency(facts, now, rs)[0],
                "interests": sorted(s.interests),
                "categories": sorted(s.categories),
                "windows": [],
                "tag_locks": {},
                "last_read_at": facts.last_read_at,
                "last_outbound_at": s.last_outbound,
                "status_changed_at": s.status_changed_at,
                "red_streak": s.red_streak,
                "offer_reads": s.offer_reads,
                "recent_inbound": [t.isoformat() for t in facts.recent_inbound],
                "recent_reads": [t.isoformat() for t in facts.recent_reads],
                "asked": s.asked,
                "clicked": False,
                "tags_due_at": rules.next_due(facts, now, rs),
                "agent_id": agent,
                "queue_rank": item.rank if item else None,
                "queue_due_at": item.due_at if item else None,
                "queue_kind": item.kind if item else None,
                "queue_done_at": done_at,
            }
        )
        rows.messages += s.rows.messages
        # The latest event per contact and dimension is the one with the highest id.
        rows.tag_events += sorted(s.rows.tag_events, key=lambda e: e["at"])
        rows.purchases += s.rows.purchases

    def _worked(
        self, rng: random.Random, s: Story, facts: rules.Facts
    ) -> tuple[datetime | None, priority.Item | None]:
        """Agents marked most items done around their due time; what they did not get to, or what
        falls due later, is the contact's item now."""
        done: datetime | None = None
        for _ in range(16):  # an orange contact's follow-ups every 48 h over a month, and more
            item = self._item(s, facts, done)
            if item is None or item.due_at > self.now or rng.random() > HANDLED[s.status or "grey"]:
                return done, item
            if item.kind == priority.REPLY:
                start = facts.last_inbound_at
            elif item.kind == priority.NEW_STATUS:
                start = s.status_changed_at
            else:
                start = max(t for t in (s.last_outbound, done, s.first_seen) if t is not None)
            assert start is not None
            at = start + (item.due_at - start) * rng.uniform(0.1, 1.3)
            if at > self.now:
                return done, item
            done = at
        return done, self._item(s, facts, done)

    def _item(self, s: Story, facts: rules.Facts, done: datetime | None) -> priority.Item | None:
        return priority.item_for(
            priority.QueueFacts(
                status=s.status,
                intent=s.intent,
                status_changed_at=s.status_changed_at,
                last_inbound_at=facts.last_inbound_at,
                last_outbound_at=s.last_outbound,
                done_at=done,
                snoozed_until=None,
            ),
            self.rs.queue,
        )
