"""Pure tag rules: a contact's facts, one event (or none) and `now` → tag changes.

No I/O, no clock: the same tags, facts, event and time always give the same result. Every change
names the rule that made it and its evidence. SPEC "The tag model" and "Status escalation";
thresholds come from the Ruleset (the operator's rules file), documented in docs/tagging.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.tagging.intent import Signals
from app.tagging.ruleset import Ruleset

SCALAR_DIMENSIONS = (
    "activity",
    "intent",
    "status",
    "lifecycle",
    "engagement",
    "spend_tier",
    "purchase_frequency",
)
SET_DIMENSIONS = ("interests", "categories", "windows")
DIMENSIONS = SCALAR_DIMENSIONS + SET_DIMENSIONS
VALUES: dict[str, tuple[str, ...]] = {
    "activity": ("high", "medium", "low", "dormant"),
    "intent": ("high", "medium", "potential", "none"),
    "status": ("red", "orange", "yellow", "green", "grey"),
    "lifecycle": ("new_subscriber", "active_buyer", "high_potential", "returning", "inactive"),
    "engagement": ("frequent", "reads", "unread"),
    "spend_tier": ("low", "mid", "high"),
    "purchase_frequency": ("monthly", "quarterly", "yearly"),
    "interests": (
        "discount_sensitive",
        "novelty_seeking",
        "function_oriented",
        "content_learner",
        "brand_loyal",
    ),
}
INTENT_RANK = {None: 0, "none": 0, "potential": 1, "medium": 2, "high": 3}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How many recent inbound/read times the facts keep: enough for every count a rule makes.
RECENT = 16

TagValue = str | frozenset[str] | None


@dataclass(frozen=True)
class Tags:
    activity: str | None = None
    intent: str | None = None
    status: str | None = None
    lifecycle: str | None = None
    engagement: str | None = None
    spend_tier: str | None = None
    purchase_frequency: str | None = None
    interests: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    windows: frozenset[str] = frozenset()

    def get(self, dimension: str) -> TagValue:
        value: TagValue = getattr(self, dimension)
        return value


@dataclass(frozen=True)
class Purchase:
    at: datetime
    amount: float
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Facts:
    """What the rules know about a contact besides its current tags. Times are aware UTC."""

    first_seen_at: datetime
    last_inbound_at: datetime | None = None
    last_read_at: datetime | None = None
    last_outbound_at: datetime | None = None
    status_changed_at: datetime | None = None
    red_streak: int = 0  # high-intent escalations to red since the last purchase
    offer_reads: int = 0  # reads of our messages since the contact last replied
    recent_inbound: tuple[datetime, ...] = ()
    recent_reads: tuple[datetime, ...] = ()
    purchases: tuple[Purchase, ...] = ()
    asked: bool = False  # ever asked about price or product (high/medium intent)
    clicked: bool = False  # ever tapped a button or list item we sent
    timezone: str | None = None
    locks: Mapping[str, datetime | None] = field(default_factory=dict)  # None: until unlocked

    def locked(self, dimension: str, now: datetime) -> bool:
        if dimension not in self.locks:
            return False
        until = self.locks[dimension]
        return until is None or until > now


@dataclass(frozen=True)
class Inbound:
    message_id: int
    at: datetime
    signals: Signals | None = None
    clicked: bool = False


@dataclass(frozen=True)
class Read:
    wamid: str
    at: datetime


@dataclass(frozen=True)
class Purchased:
    order_id: str
    at: datetime
    amount: float
    categories: frozenset[str] = frozenset()


Event = Inbound | Read | Purchased


@dataclass(frozen=True)
class Change:
    dimension: str
    old: TagValue
    new: TagValue
    rule: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class Evaluation:
    tags: Tags
    facts: Facts
    changes: tuple[Change, ...]


def observe(facts: Facts, event: Event) -> Facts:
    """Folds an event into the facts (before the rules look at them)."""
    if isinstance(event, Inbound):
        signals = event.signals
        return replace(
            facts,
            last_inbound_at=_latest(facts.last_inbound_at, event.at),
            recent_inbound=_push(facts.recent_inbound, event.at),
            offer_reads=0,
            asked=facts.asked or (signals is not None and signals.intent in ("high", "medium")),
            clicked=facts.clicked or event.clicked,
        )
    if isinstance(event, Read):
        return replace(
            facts,
            last_read_at=_latest(facts.last_read_at, event.at),
            recent_reads=_push(facts.recent_reads, event.at),
            offer_reads=facts.offer_reads + 1,
        )
    purchase = Purchase(event.at, event.amount, event.categories)
    return replace(
        facts,
        purchases=tuple(sorted((*facts.purchases, purchase), key=lambda p: p.at)),
        red_streak=0,
    )


def evaluate(
    tags: Tags, facts: Facts, now: datetime, rs: Ruleset, event: Event | None = None
) -> Evaluation:
    """Event rules first (they need the tags as they were), then the rules derived from facts."""
    if event is not None:
        facts = observe(facts, event)
    state = _State(tags, facts, now)
    if isinstance(event, Inbound):
        _on_inbound(state, event, rs)
    elif isinstance(event, Read):
        _on_read(state, event, rs)
    elif isinstance(event, Purchased):
        _on_purchase(state, event)
    _derived(state, rs)
    return Evaluation(state.tags, state.facts, tuple(state.changes))


class _State:
    """The tags being rewritten, skipping locked dimensions, with the list of changes made."""

    def __init__(self, tags: Tags, facts: Facts, now: datetime) -> None:
        self.tags, self.facts, self.now = tags, facts, now
        self.changes: list[Change] = []

    def set(self, dimension: str, value: TagValue, rule: str, evidence: Mapping[str, Any]) -> bool:
        old = self.tags.get(dimension)
        if old == value or self.facts.locked(dimension, self.now):
            return False
        self.tags = replace(self.tags, **{dimension: value})  # type: ignore[arg-type]
        self.changes.append(Change(dimension, old, value, rule, evidence))
        if dimension == "status":
            self.facts = replace(self.facts, status_changed_at=self.now)
        return True


def _on_inbound(s: _State, event: Inbound, rs: Ruleset) -> None:
    signals = event.signals
    evidence: dict[str, Any] = {"message_id": event.message_id}
    if signals is not None:
        _intent_from_signals(s, signals, evidence)
        for dimension, found in (
            ("interests", signals.interests),
            ("categories", signals.categories | signals.parameters),
        ):
            current = s.tags.get(dimension)
            assert isinstance(current, frozenset)
            if found - current:
                kinds = ("interest",) if dimension == "interests" else ("category", "parameter")
                phrases = _phrases(signals, *kinds)
                s.set(
                    dimension,
                    current | found,
                    f"{dimension}.message",
                    {**evidence, "phrases": phrases},
                )
    high = signals is not None and signals.intent == "high"
    compared = signals is not None and signals.comparison and s.tags.status == "orange"
    if high or compared:
        _escalate(
            s,
            rs,
            "status.comparison" if compared and not high else "status.high_intent",
            {
                **evidence,
                "phrases": _phrases(signals, "comparison")
                if compared and not high
                else _phrases(signals, "intent", "interest")
                if signals
                else [],
            },
        )
    elif s.tags.status in (None, "grey", "orange"):
        s.set("status", _base_status(s.facts, s.now, rs), "status.replied", evidence)


def _intent_from_signals(s: _State, signals: Signals, evidence: dict[str, Any]) -> None:
    level = signals.intent
    if level is None:
        return
    if level == "none":
        rule = "intent.opt_out" if signals.opt_out else "intent.refusal"
        s.set(
            "intent",
            "none",
            rule,
            {**evidence, "phrases": _phrases(signals, "opt_out" if signals.opt_out else "intent")},
        )
    elif INTENT_RANK[level] > INTENT_RANK[s.tags.intent] or s.tags.intent == "none":
        s.set(
            "intent",
            level,
            "intent.message",
            {**evidence, "phrases": _phrases(signals, "intent", "interest")},
        )


def _escalate(s: _State, rs: Ruleset, rule: str, evidence: Mapping[str, Any]) -> None:
    """Red for a decision-phase message, but never more than max_reds_in_a_row times in a row."""
    if s.tags.status == "red":
        return
    if s.facts.red_streak >= rs.status.max_reds_in_a_row:
        s.set(
            "status", "orange", "status.red_limit", {**evidence, "red_streak": s.facts.red_streak}
        )
        return
    if s.set("status", "red", rule, evidence):
        s.facts = replace(s.facts, red_streak=s.facts.red_streak + 1)


def _on_read(s: _State, event: Read, rs: Ruleset) -> None:
    evidence = {"wamid": event.wamid, "offer_reads": s.facts.offer_reads}
    if s.tags.status == "yellow" and s.facts.offer_reads >= rs.status.orange_offer_reads:
        s.set("status", "orange", "status.offer_reads", evidence)
    elif s.tags.status == "grey":
        s.set("status", _base_status(s.facts, s.now, rs), "status.read_again", evidence)
    window = _learned_window(s.facts, rs)
    if window and window not in s.tags.windows:
        s.set(
            "windows",
            s.tags.windows | {window},
            "windows.reads_in_a_row",
            {**evidence, "slot": window},
        )


def _on_purchase(s: _State, event: Purchased) -> None:
    evidence = {"order_id": event.order_id, "amount": event.amount}
    if s.tags.status in ("red", "orange"):
        s.set("status", "green", "status.purchased", evidence)
    if event.categories - s.tags.categories:
        s.set("categories", s.tags.categories | event.categories, "categories.purchase", evidence)


def _derived(s: _State, rs: Ruleset) -> None:
    """Rules that follow from the facts and the time alone (also what the periodic job applies)."""
    f, now = s.facts, s.now
    value, rule, evidence = activity(f, now, rs)
    if value is not None:
        s.set("activity", value, rule, evidence)

    if (
        s.tags.intent == "high"
        and f.last_inbound_at
        and now - f.last_inbound_at >= _days(rs.intent.high_downgrade_days)
    ):
        s.set(
            "intent", "medium", "intent.high_no_reply", {"last_inbound_at": _iso(f.last_inbound_at)}
        )
    elif s.tags.intent is None and _read_without_reply(
        f, now, _hours(rs.status.orange_read_no_reply_hours)
    ):
        s.set("intent", "none", "intent.read_no_reply", {"last_read_at": _iso(f.last_read_at)})

    # Time rules can chain (new -> yellow -> orange); settle them so a second pass finds nothing.
    for _ in range(len(VALUES["status"])):
        status = _status_by_time(s.tags.status, s.facts, now, rs)
        if status is None or not s.set("status", *status):
            break

    for dimension, compute in (
        ("engagement", engagement),
        ("lifecycle", lifecycle),
        ("spend_tier", spend_tier),
        ("purchase_frequency", purchase_frequency),
    ):
        value, rule, evidence = compute(f, now, rs)
        s.set(dimension, value, rule, evidence)


Decision = tuple[str | None, str, Mapping[str, Any]]


def activity(f: Facts, now: datetime, rs: Ruleset) -> Decision:
    if f.last_inbound_at is None:
        return None, "activity.no_reply", {}
    age = now - f.last_inbound_at
    evidence = {"last_inbound_at": _iso(f.last_inbound_at)}
    if age <= _hours(rs.activity.high_within_hours):
        return "high", "activity.replied_24h", evidence
    if age <= _days(rs.activity.medium_within_days):
        return "medium", "activity.replied_3d", evidence
    if age <= _days(rs.activity.low_within_days):
        return "low", "activity.replied_7d", evidence
    return "dormant", "activity.silent_7d", evidence


def _status_by_time(
    current: str | None, f: Facts, now: datetime, rs: Ruleset
) -> tuple[str, str, Mapping[str, Any]] | None:
    st = rs.status
    last_interaction = _latest(_latest(f.last_inbound_at, f.last_read_at), f.first_seen_at)
    assert last_interaction is not None
    if now - last_interaction >= _days(st.grey_no_interaction_days):
        return "grey", "status.no_interaction_6m", {"last_interaction_at": _iso(last_interaction)}
    if current == "red":
        since = _latest(f.status_changed_at, f.last_inbound_at) or f.first_seen_at
        if now - since >= _days(st.red_hold_days):
            read_only = _read_without_reply(f, now, timedelta(0))
            return (
                ("orange" if read_only else _base_status(f, now, rs)),
                "status.red_expired",
                {"since": _iso(since)},
            )
        return None
    if current in ("yellow", "green") and _read_without_reply(
        f, now, _hours(st.orange_read_no_reply_hours)
    ):
        return "orange", "status.read_no_reply", {"last_read_at": _iso(f.last_read_at)}
    if current == "yellow" and now - f.first_seen_at >= _days(st.yellow_first_contact_days):
        return "green", "status.nurture", {"first_seen_at": _iso(f.first_seen_at)}
    if (
        current == "green"
        and f.last_outbound_at is not None
        and (f.last_read_at is None or f.last_read_at < f.last_outbound_at)
        and now - f.last_outbound_at >= _days(st.grey_no_read_days)
    ):
        return "grey", "status.no_read_7d", {"last_outbound_at": _iso(f.last_outbound_at)}
    if current is None:
        return (
            _base_status(f, now, rs),
            "status.first_contact",
            {"first_seen_at": _iso(f.first_seen_at)},
        )
    return None


def _base_status(f: Facts, now: datetime, rs: Ruleset) -> str:
    young = now - f.first_seen_at < _days(rs.status.yellow_first_contact_days)
    return "yellow" if young else "green"


def engagement(f: Facts, now: datetime, rs: Ruleset) -> Decision:
    e = rs.engagement
    week = sum(1 for t in f.recent_inbound if now - t <= timedelta(days=7))
    if week > e.frequent_messages_per_week:
        return "frequent", "engagement.frequent", {"messages_7d": week}
    unread_for = _days(e.unread_days)
    if (
        f.last_outbound_at is not None
        and now - f.first_seen_at >= unread_for
        and (f.last_read_at is None or now - f.last_read_at >= unread_for)
    ):
        return "unread", "engagement.unread_90d", {"last_read_at": _iso(f.last_read_at)}
    window = _days(e.reads_window_days)
    reads = sum(1 for t in f.recent_reads if now - t <= window)
    replies = sum(1 for t in f.recent_inbound if now - t <= window)
    if reads and replies <= e.reads_max_replies:
        return "reads", "engagement.reads_rarely_replies", {"reads": reads, "replies": replies}
    return None, "engagement.none", {}


def lifecycle(f: Facts, now: datetime, rs: Ruleset) -> Decision:
    lc = rs.lifecycle
    month = timedelta(days=30)
    last_interaction = _latest(f.last_inbound_at, f.last_read_at) or f.first_seen_at
    if now - last_interaction >= _days(lc.inactive_no_interaction_days):
        return (
            "inactive",
            "lifecycle.no_interaction",
            {"last_interaction_at": _iso(last_interaction)},
        )
    interactions = sum(1 for t in (*f.recent_inbound, *f.recent_reads) if now - t <= month)
    if f.purchases:
        last = f.purchases[-1]
        if now - last.at >= _days(lc.inactive_no_purchase_days):
            return "inactive", "lifecycle.no_purchase", {"last_purchase_at": _iso(last.at)}
        if len(f.purchases) >= 2 and last.at - f.purchases[-2].at >= _days(
            lc.inactive_no_purchase_days
        ):
            return "returning", "lifecycle.returning", {"last_purchase_at": _iso(last.at)}
        if interactions >= lc.active_buyer_interactions_per_month:
            return "active_buyer", "lifecycle.active_buyer", {"interactions_30d": interactions}
        return "active_buyer", "lifecycle.recent_purchase", {"last_purchase_at": _iso(last.at)}
    if f.asked or f.clicked:
        return (
            "high_potential",
            "lifecycle.asked_not_bought",
            {"asked": f.asked, "clicked": f.clicked},
        )
    return "new_subscriber", "lifecycle.new_subscriber", {"first_seen_at": _iso(f.first_seen_at)}


def spend_tier(f: Facts, now: datetime, rs: Ruleset) -> Decision:
    if not f.purchases:
        return None, "spend_tier.no_purchase", {}
    window = _days(rs.spend_tier.window_days)
    total = round(sum(p.amount for p in f.purchases if now - p.at <= window), 2)
    evidence = {"total_12m": total}
    if total > rs.spend_tier.high_above:
        return "high", "spend_tier.rolling_total", evidence
    if total >= rs.spend_tier.mid_from:
        return "mid", "spend_tier.rolling_total", evidence
    return "low", "spend_tier.rolling_total", evidence


def purchase_frequency(f: Facts, now: datetime, rs: Ruleset) -> Decision:
    window = _days(rs.spend_tier.window_days)
    recent = [p.at for p in f.purchases if now - p.at <= window]
    if len(recent) < 2:
        return None, "purchase_frequency.too_few", {"purchases": len(recent)}
    mean_days = (recent[-1] - recent[0]).total_seconds() / 86400 / (len(recent) - 1)
    evidence = {"mean_days_between": round(mean_days, 1), "purchases": len(recent)}
    if mean_days <= rs.purchase_frequency.monthly_max_days:
        return "monthly", "purchase_frequency.mean_gap", evidence
    if mean_days <= rs.purchase_frequency.quarterly_max_days:
        return "quarterly", "purchase_frequency.mean_gap", evidence
    return "yearly", "purchase_frequency.mean_gap", evidence


def _learned_window(f: Facts, rs: Ruleset) -> str | None:
    """active_<day>_<band> when the last N reads all fell in the same local weekday and band."""
    n = rs.learned_windows.reads_in_a_row
    if len(f.recent_reads) < n:
        return None
    zone = _zone(f.timezone)
    slots = {
        (local.weekday(), rs.learned_windows.band_of(local.hour))
        for local in (t.astimezone(zone) for t in f.recent_reads[-n:])
    }
    if len(slots) != 1:
        return None
    day, band = slots.pop()
    return f"active_{WEEKDAYS[day]}_{band}"


def next_due(f: Facts, now: datetime, rs: Ruleset) -> datetime | None:
    """The earliest moment a time rule could change a tag; the periodic job wakes the contact then."""
    candidates: list[datetime | None] = []
    if f.last_inbound_at:
        li = f.last_inbound_at
        candidates += [
            li + _hours(rs.activity.high_within_hours),
            li + _days(rs.activity.medium_within_days),
            li + _days(rs.activity.low_within_days),
            li + _days(rs.intent.high_downgrade_days),
            li + _days(rs.status.red_hold_days),
        ]
    if f.status_changed_at:
        candidates.append(f.status_changed_at + _days(rs.status.red_hold_days))
    if f.last_read_at:
        candidates += [
            f.last_read_at + _hours(rs.status.orange_read_no_reply_hours),
            f.last_read_at + _days(rs.engagement.reads_window_days),
            f.last_read_at + _days(rs.engagement.unread_days),
        ]
    if f.last_outbound_at:
        candidates.append(f.last_outbound_at + _days(rs.status.grey_no_read_days))
    first = f.first_seen_at
    candidates += [
        first + _days(rs.status.yellow_first_contact_days),
        first + _days(rs.engagement.unread_days),
        first + _days(rs.lifecycle.new_subscriber_days),
    ]
    last_interaction = _latest(_latest(f.last_inbound_at, f.last_read_at), first)
    assert last_interaction is not None
    candidates += [
        last_interaction + _days(rs.status.grey_no_interaction_days),
        last_interaction + _days(rs.lifecycle.inactive_no_interaction_days),
    ]
    # Counts over rolling windows change when their oldest member leaves the window.
    candidates += [
        t + timedelta(days=7)
        for t in f.recent_inbound[-(rs.engagement.frequent_messages_per_week + 1) :]
    ]
    candidates += [t + timedelta(days=30) for t in (*f.recent_inbound, *f.recent_reads)]
    for p in f.purchases:
        candidates += [
            p.at + _days(rs.spend_tier.window_days),
            p.at + _days(rs.lifecycle.inactive_no_purchase_days),
        ]
    # A hand-set tag goes back to the rules when its lock ends.
    candidates += [until for until in f.locks.values() if until is not None]
    return min((c for c in candidates if c is not None and c > now), default=None)


def _read_without_reply(f: Facts, now: datetime, at_least: timedelta) -> bool:
    if f.last_read_at is None:
        return False
    replied_after = f.last_inbound_at is not None and f.last_inbound_at >= f.last_read_at
    return not replied_after and now - f.last_read_at > at_least


def _phrases(signals: Signals | None, *kinds: str) -> list[str]:
    if signals is None:
        return []
    return sorted({m.phrase for m in signals.evidence if m.signal in kinds})


def _push(recent: tuple[datetime, ...], at: datetime) -> tuple[datetime, ...]:
    return tuple(sorted((*recent, at)))[-RECENT:]


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _days(n: float) -> timedelta:
    return timedelta(days=n)


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
