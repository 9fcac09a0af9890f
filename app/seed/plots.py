"""Pure: the histories that end in each status colour, in the shares the seeds report.

Each plot sets the times so that the rules, run at `now`, would leave the colour as it is (the
seed tests check this): a red contact asked within the red hold, a green one who read our last
message also answered it, and so on. Status changes name the rule from app.tagging.rules that
makes them, with the evidence it records. The spans the plots draw from fit the default
thresholds (app/tagging/rules.yaml); the moments of the changes follow the ruleset given.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from app.seed import samples
from app.seed.story import MESSAGE_SLOTS, Rows, Story, Teller

# The seeds: red above 15 % is an alert; about 40 % of contacts are dormant.
STATUS_SHARES = {"red": 0.12, "orange": 0.15, "yellow": 0.15, "green": 0.40, "grey": 0.18}
# Contacts with earlier orders besides the plots' own, and their 12-month spend (tier, share,
# low, high): about 15 % of buyers spend above 2,000.
CUSTOMER_SHARE = 0.3
SPEND = (("low", 0.5, 40, 450), ("mid", 0.3, 550, 1900), ("high", 0.2, 2100, 6000))

T = TypeVar("T")
H = timedelta(hours=1)
D = timedelta(days=1)
MINUTE = timedelta(minutes=1)
INTEREST_SHARE = 0.12  # each interest on its own: the seeds report 15-25 % per interest group


class Odds(Generic[T]):
    """A weighted choice, its cumulative weights worked out once (it runs a million times)."""

    def __init__(self, weighted: Iterable[tuple[T, float]]) -> None:
        pairs = list(weighted)
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


COLOURS = Odds(STATUS_SHARES.items())
MARKETS = Odds((m, m.share) for m in samples.MARKETS)
TIERS = Odds((tier, tier[1]) for tier in SPEND)
# What the contact's last message was, by plot.
QUIET = Odds([("medium", 0.25), ("potential", 0.35), ("hello", 0.4)])
OFFERED = Odds([("potential", 0.5), ("medium", 0.3), ("hello", 0.2)])
NEW = Odds([("hello", 0.35), ("potential", 0.4), ("medium", 0.25)])
AGAIN = Odds([("potential", 0.5), ("medium", 0.5)])
NURTURED = Odds([("potential", 0.35), ("medium", 0.2), ("none", 0.25), ("hello", 0.2)])
FADED = Odds([("potential", 0.3), ("hello", 0.2), ("none", 0.5)])


def batch(
    t: Teller,
    *,
    seed: int,
    index: int,
    count: int,
    first_id: int,
    message_base: int,
    agent_ids: Sequence[int],
) -> Rows:
    """Contacts first_id … first_id + count - 1. `index` numbers them within the run (the agents'
    round-robin) and picks the random stream, so equal seeds give equal data."""
    rng = random.Random(seed * 1_000_003 + index)
    rows = Rows()
    for k in range(count):
        contact_id = first_id + k
        market = MARKETS.pick(rng)
        story = Story(
            id=contact_id,
            wa_id=market.number(contact_id),
            market=market,
            first_message_id=message_base + contact_id * MESSAGE_SLOTS,
            first_seen=t.now,
        )
        story.interests = {i for i in samples.INTERESTS if rng.random() < INTEREST_SHARE}
        _tell(t, rng, story)
        agent = agent_ids[(index + k) % len(agent_ids)] if agent_ids else None
        t.finish(rng, story, rows, agent)
    return rows


def _tell(t: Teller, rng: random.Random, s: Story) -> None:
    colour = COLOURS.pick(rng)
    PLOTS[colour](t, rng, s)
    if s.first_seen < t.now - 60 * D and rng.random() < CUSTOMER_SHARE:
        _order_history(t, rng, s)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


def _before_the_change(t: Teller, s: Story, at: datetime) -> None:
    """The colour a contact had before `at`: yellow in its first week, green after."""
    week = t.rs.status.yellow_first_contact_days * D
    s.status = "yellow" if at - s.first_seen < week else "green"
    s.status_changed_at = s.first_seen if s.status == "yellow" else s.first_seen + week


def _red(t: Teller, rng: random.Random, s: Story) -> None:
    """Asked for a price (or compared products) within the last three days, the red hold."""
    now = t.now
    asked = now - 72 * H * rng.random() ** 2  # most reds are fresh
    new = rng.random() < 0.2
    s.first_seen = asked - (D if new else 200 * D) * rng.random()
    s.red_streak = rng.choice((0, 0, 0, 1))
    s.intent = rng.choice((None, "potential", "medium"))
    if rng.random() < 0.15:
        s.status, s.status_changed_at = "orange", s.first_seen  # comparison words escalate orange
        t.say(rng, s, asked, "comparison")
    else:
        _before_the_change(t, s, asked)
        t.say(rng, s, asked, "high")
    if rng.random() < 0.5:
        sent = asked + (now - asked) * rng.uniform(0.05, 0.9)
        read = _between(rng, sent, now) if rng.random() < 0.7 else None
        t.send(rng, s, sent, read)


def _orange(t: Teller, rng: random.Random, s: Story) -> None:
    now = t.now
    plot = rng.random()
    if plot < 0.55:
        # Read our answer and went quiet for more than 48 h.
        wrote = now - 3 * D - 37 * D * rng.random()
        s.first_seen = wrote - 200 * D * rng.random() ** 2
        sent = min(wrote + rng.uniform(1, 48) * H, now - 2.5 * D)
        read = sent + rng.uniform(1, 480) * MINUTE
        quiet = read + t.rs.status.orange_read_no_reply_hours * H
        _before_the_change(t, s, quiet)
        t.say(rng, s, wrote, QUIET.pick(rng))
        t.send(rng, s, sent, read)
        if s.intent is None:
            evidence = {"last_read_at": read.isoformat()}
            t.record(s, "intent", None, "none", "intent.read_no_reply", evidence, quiet, "time")
            s.intent = "none"
        t.change(s, "orange", "status.read_no_reply", {"last_read_at": read.isoformat()}, quiet)
    elif plot < 0.75:
        # A new contact who opened three of our offers without answering (yellow -> orange).
        s.first_seen = now - rng.uniform(1.5, 6.5) * D
        t.say(rng, s, s.first_seen, OFFERED.pick(rng))
        read = s.first_seen
        wamid = ""
        for _ in range(3):
            sent = read + rng.uniform(1, 10) * H
            read = sent + rng.uniform(1, 60) * MINUTE
            wamid = t.send(rng, s, sent, read)
        t.change(
            s, "orange", "status.offer_reads", {"wamid": wamid, "offer_reads": 3}, read, "event"
        )
        quiet = read + t.rs.status.orange_read_no_reply_hours * H
        if s.intent is None and quiet < now:
            evidence = {"last_read_at": read.isoformat()}
            t.record(s, "intent", None, "none", "intent.read_no_reply", evidence, quiet, "time")
            s.intent = "none"
    else:
        # Red for a price question, read our quote, and the red hold ran out without a reply.
        asked = now - rng.uniform(3.2, 25) * D
        s.first_seen = asked - 150 * D * rng.random()
        _before_the_change(t, s, asked)
        s.intent = rng.choice((None, "potential"))
        t.say(rng, s, asked, "high")
        sent = asked + rng.uniform(10, 720) * MINUTE
        t.send(rng, s, sent, sent + rng.uniform(1, 720) * MINUTE)
        expired = asked + t.rs.status.red_hold_days * D
        since = {"last_inbound_at": asked.isoformat()}
        t.record(s, "intent", s.intent, "medium", "intent.high_no_reply", since, expired, "time")
        s.intent = "medium"
        t.change(s, "orange", "status.red_expired", {"since": asked.isoformat()}, expired)


def _yellow(t: Teller, rng: random.Random, s: Story) -> None:
    """First contact within the last seven days."""
    now = t.now
    s.first_seen = now - 6.9 * D * rng.random()
    t.say(rng, s, s.first_seen, NEW.pick(rng))
    last = s.first_seen
    if rng.random() < 0.4:
        last = s.first_seen + (now - s.first_seen) * rng.uniform(0.2, 1)
        t.say(rng, s, last, AGAIN.pick(rng))
    if rng.random() < 0.5:
        sent = last + (now - last) * rng.uniform(0.05, 0.9)
        read = sent + rng.uniform(1, 120) * MINUTE
        # A read left unanswered for 48 h would have made the contact orange.
        t.send(rng, s, sent, read if now - 48 * H < read < now else None)


def _green(t: Teller, rng: random.Random, s: Story) -> None:
    now = t.now
    if rng.random() < 0.75:
        # Long-term nurture: answered our last message; some have a newer one not yet opened.
        s.first_seen = now - rng.uniform(8, 170) * D
        recency = rng.random()
        if recency < 0.3:
            wrote = now - D * rng.random()
        elif recency < 0.7:
            wrote = now - rng.uniform(1, 7) * D
        else:
            wrote = _between(rng, s.first_seen, now - 7 * D)
        wrote = max(wrote, s.first_seen + MINUTE)
        s.status, s.status_changed_at = "yellow", s.first_seen
        evidence = {"first_seen_at": s.first_seen.isoformat()}
        week = t.rs.status.yellow_first_contact_days * D
        t.change(s, "green", "status.nurture", evidence, s.first_seen + week)
        if wrote - s.first_seen > 2 * H:
            sent = wrote - min(wrote - s.first_seen, 3 * D) * rng.uniform(0.1, 0.9)
            t.send(rng, s, sent, sent + (wrote - sent) * rng.uniform(0.05, 0.5))
        t.say(rng, s, wrote, NURTURED.pick(rng))
        if now - wrote > D and rng.random() < 0.35:
            t.send(rng, s, max(_between(rng, wrote, now), now - 6.5 * D))
        return
    # Asked for a price (or compared), got our quote, bought, said thanks.
    asked = now - rng.uniform(1, 60) * D
    s.first_seen = asked - 200 * D * rng.random()
    s.intent = rng.choice((None, "potential"))
    if rng.random() < 0.05:
        s.status, s.status_changed_at = "orange", s.first_seen
        t.say(rng, s, asked, "comparison")
    else:
        _before_the_change(t, s, asked)
        t.say(rng, s, asked, "high")
    sent = asked + rng.uniform(10, 360) * MINUTE
    read = sent + rng.uniform(1, 120) * MINUTE
    t.send(rng, s, sent, read)
    bought = read + min(rng.uniform(1, 96) * H, (now - read) * 0.9)
    t.buy(rng, s, bought, rng.uniform(30, 900), moves_status=True)
    thanked = bought + min(rng.uniform(1, 120) * MINUTE, (now - bought) / 2)
    t.say(rng, s, thanked, "potential")
    quiet = thanked + t.rs.intent.high_downgrade_days * D
    if s.intent == "high" and quiet <= now:
        since = {"last_inbound_at": thanked.isoformat()}
        t.record(s, "intent", "high", "medium", "intent.high_no_reply", since, quiet, "time")
        s.intent = "medium"


def _grey(t: Teller, rng: random.Random, s: Story) -> None:
    now = t.now
    s.status, s.intent = "green", rng.choice((None, "potential"))
    level = FADED.pick(rng)
    if rng.random() < 0.55:
        # Six months without a word or a read.
        wrote = now - rng.uniform(181, 420) * D
        s.first_seen = wrote - 200 * D * rng.random()
        s.status_changed_at = s.first_seen + 7 * D
        t.say(rng, s, wrote, level)
        evidence = {"last_interaction_at": wrote.isoformat()}
        paused = wrote + t.rs.status.grey_no_interaction_days * D
        t.change(s, "grey", "status.no_interaction_6m", evidence, paused)
        return
    # Green, then a week without opening what we sent.
    wrote = now - rng.uniform(10, 300) * D
    s.first_seen = wrote - rng.uniform(7, 200) * D
    s.status_changed_at = s.first_seen + 7 * D
    t.say(rng, s, wrote, level)
    sent = wrote + (now - 7.5 * D - wrote) * rng.uniform(0.05, 1)
    t.send(rng, s, sent)
    evidence = {"last_outbound_at": sent.isoformat()}
    t.change(s, "grey", "status.no_read_7d", evidence, sent + t.rs.status.grey_no_read_days * D)


def _order_history(t: Teller, rng: random.Random, s: Story) -> None:
    """A customer's earlier orders, before the messages the plot told."""
    _, _, low, high = TIERS.pick(rng)
    total = rng.uniform(low, high)
    count = rng.choice((1, 1, 2, 3, 4))
    start = max(s.first_seen, t.now - 360 * D)
    end = min(s.inbound, default=t.now) - H
    if end <= start:
        return
    for at in sorted(_between(rng, start, end) for _ in range(count)):
        t.buy(rng, s, at, total / count, moves_status=False)


PLOTS = {"red": _red, "orange": _orange, "yellow": _yellow, "green": _green, "grey": _grey}
