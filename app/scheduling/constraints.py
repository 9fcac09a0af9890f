"""Pure: the hard constraints on one automatic send (SPEC "Hard constraints on every automatic send").

Standard library and the contact's preferences only; `now` is always a parameter, never the clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.contacts.preferences_note import WEEKDAYS, Preferences, Window

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "LEARNED_BANDS",
    "REASONS",
    "SEARCH_DAYS",
    "WEEKLY_CEILING",
    "Decision",
    "NoOpening",
    "PlannedSend",
    "Policy",
    "Recipient",
    "decide",
    "effective_preferences",
    "learned_window",
    "monthly_cap",
    "next_opening",
    "weekly_cap",
]

ACTIONS = ("send", "wait", "needs_template", "drop")
CATEGORIES = ("marketing", "utility", "service")
REASONS = (
    "ok",
    "confirmation",
    "not_due",
    "opted_out",
    "service_window_closed",
    "service_window_closes_first",
    "passive_not_month_end",
    "passive_monthly_cap",
    "weekly_cap",
    "monthly_cap",
    "global_cap",
    "quiet_hours",
    "outside_window",
    "cap_zero",
    "no_opening",
)

# The seeds: "2-3 a week, never more than 5", whatever a note or the rules file says.
WEEKLY_CEILING = 5

# Local hour bands of the learned-window tags (active_<day>_<band>), as the tagging rules name them.
LEARNED_BANDS: dict[str, tuple[time, time]] = {
    "night": (time(0), time(6)),
    "morning": (time(6), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(0)),  # an end of 00:00 is midnight, the end of the day
}

# A weekly pattern repeats within 7 days of wall clock; the extra week covers the rare case where
# the only weekly opening falls into a DST gap (or a skipped day) and comes back a week later.
SEARCH_DAYS = 15

_WEEK = timedelta(days=7)
_MONTH = timedelta(days=30)
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALL_DAYS = frozenset(range(7))
_PROBE_SECONDS = 3 * 3600  # no zone changes its offset twice within three hours
_MAX_ROUNDS = 64  # constraints only ever push the time forward; a few rounds reach the fix point


class NoOpening(ValueError):
    """The contact's windows and quiet hours leave no moment at which a message may go."""


@dataclass(frozen=True)
class Policy:
    """Operator settings for automatic sends."""

    marketing_per_week: int = 3
    marketing_per_month: int = 8
    high_spender_per_week: int = 2
    passive_per_month: int = 1
    passive_from_day: int = 25
    global_marketing_per_day: int | None = None
    service_window_hours: float = 24.0

    def __post_init__(self) -> None:
        for name in (
            "marketing_per_week",
            "marketing_per_month",
            "high_spender_per_week",
            "passive_per_month",
        ):
            _check_count(getattr(self, name), name)
        if self.global_marketing_per_day is not None:
            _check_count(self.global_marketing_per_day, "global_marketing_per_day")
        _check_count(self.passive_from_day, "passive_from_day")
        if not 1 <= self.passive_from_day <= 31:
            raise ValueError(f"passive_from_day must be 1-31, not {self.passive_from_day}")
        if not self.service_window_hours > 0:
            raise ValueError(
                f"service_window_hours must be positive, not {self.service_window_hours}"
            )


@dataclass(frozen=True)
class Recipient:
    """What the constraints need to know about one contact."""

    timezone: str | None
    preferences: Preferences
    opted_out: bool
    last_inbound_at: datetime | None
    spend_tier: str | None
    learned_windows: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # A zone we cannot read would put sends at an unknown local hour; refuse it up front.
        try:
            ZoneInfo(self.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        if self.last_inbound_at is not None:
            _utc(self.last_inbound_at, "last_inbound_at")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or "UTC")


@dataclass(frozen=True)
class PlannedSend:
    """One follow-up the scheduler wants to send."""

    category: str
    free_form: bool
    due_at: datetime
    confirmation: bool = False

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(
                f"category must be one of {', '.join(CATEGORIES)}, not {self.category!r}"
            )
        _utc(self.due_at, "due_at")


@dataclass(frozen=True)
class Decision:
    """What to do with a planned send now; `at` is set exactly when the action is "wait"."""

    action: str
    at: datetime | None
    reason: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        if (self.action == "wait") != (self.at is not None):
            raise ValueError("a wait needs a time, and only a wait has one")


# --- windows -------------------------------------------------------------------------------------


def learned_window(tag: str) -> Window | None:
    """The slot an ``active_<day>_<band>`` tag stands for; None for anything else."""
    parts = tag.split("_")
    if len(parts) != 3 or parts[0] != "active":
        return None
    day, band = parts[1], parts[2]
    if day not in WEEKDAYS or band not in LEARNED_BANDS:
        return None
    start, end = LEARNED_BANDS[band]
    return Window(frozenset({WEEKDAYS.index(day)}), start, end)


def _has_quiet_free_minute(prefs: Preferences, window: Window) -> bool:
    # Quiet hours and a window are both arcs of the clock: the window keeps a usable part when it
    # starts outside the quiet hours, or when the quiet hours end inside it.
    some_day = date(2001, 1, 1)
    if not prefs.in_quiet_hours(datetime.combine(some_day, window.start)):
        return True
    whole_days = Window(_ALL_DAYS, window.start, window.end)
    return whole_days.contains(datetime.combine(some_day, prefs.quiet_end))


def effective_preferences(recipient: Recipient) -> Preferences:
    """The preferences the scheduler goes by.

    Explicit windows win. Without them, learned slots (read 5 times in a row in the same weekday
    and band) become the windows, except those that lie wholly in the quiet hours: a contact who
    reads at night has told us when they read, not that the quiet hours are lifted.
    """
    prefs = recipient.preferences
    if prefs.windows or not recipient.learned_windows:
        return prefs
    learned = (learned_window(tag) for tag in sorted(recipient.learned_windows))
    usable = tuple(w for w in learned if w is not None and _has_quiet_free_minute(prefs, w))
    return replace(prefs, windows=usable) if usable else prefs


def next_opening(recipient: Recipient, after: datetime) -> datetime:
    """The earliest instant >= ``after`` (aware, returned in UTC) at which the contact is reachable.

    Raises NoOpening when nothing opens within SEARCH_DAYS, e.g. a window wholly in quiet hours.
    """
    start = _utc(after, "after")
    found = _first_reachable(effective_preferences(recipient), recipient.zone, start)
    if found is None:
        raise NoOpening(
            f"no moment within {SEARCH_DAYS} days is inside a window and outside quiet hours"
        )
    return found


def _first_reachable(prefs: Preferences, zone: ZoneInfo, start: datetime) -> datetime | None:
    # Reachability depends only on the local wall clock, so it can change only where the wall
    # clock crosses a boundary time (window or quiet edge, midnight) or jumps (a DST transition).
    # Checking those instants in order, one UTC day at a time, finds the first opening exactly.
    boundaries = {time(0), prefs.quiet_start, prefs.quiet_end}
    for window in prefs.windows:
        boundaries.update((window.start, window.end))
    end = start + timedelta(days=SEARCH_DAYS)
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + _DAY, end)
        for candidate in _candidates(zone, boundaries, chunk_start, chunk_end):
            if prefs.reachable_at(candidate.astimezone(zone)):
                return candidate
        chunk_start = chunk_end
    return None


def _candidates(
    zone: ZoneInfo, boundaries: set[time], start: datetime, end: datetime
) -> list[datetime]:
    """``start`` and every instant in (start, end) where reachability might change."""
    found = {start}
    first_day = start.astimezone(zone).date() - _DAY
    last_day = end.astimezone(zone).date() + _DAY
    day = first_day
    while day <= last_day:
        for clock in boundaries:
            for fold in (0, 1):
                local = datetime.combine(day, clock, tzinfo=zone).replace(fold=fold)
                instant = local.astimezone(UTC)
                if start < instant < end:
                    found.add(instant)
        day += _DAY
    found.update(t for t in _transitions(zone, start, end) if start < t < end)
    return sorted(found)


def _seconds(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(seconds=1)


def _instant(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _offset(zone: ZoneInfo, seconds: int) -> timedelta | None:
    return _instant(seconds).astimezone(zone).utcoffset()


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The instants in [start, end] where the zone's UTC offset changes (to the second)."""
    probe = _seconds(start)
    stop = _seconds(end) + 1
    offset = _offset(zone, probe)
    while probe < stop:
        nxt = min(probe + _PROBE_SECONDS, stop)
        nxt_offset = _offset(zone, nxt)
        if nxt_offset != offset:
            yield _instant(_first_with_offset(zone, probe, nxt, nxt_offset))
        probe, offset = nxt, nxt_offset


def _first_with_offset(zone: ZoneInfo, low: int, high: int, offset: timedelta | None) -> int:
    # Invariant: the offset at `low` differs from `offset`, the one at `high` equals it.
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, middle) == offset:
            high = middle
        else:
            low = middle
    return high


def _first_instant_of(day: date, zone: ZoneInfo) -> datetime:
    """The first instant whose local wall clock reads ``day`` 00:00 or later."""
    naive = datetime.combine(day, time(0))
    options = sorted(
        datetime.combine(day, time(0), tzinfo=zone).replace(fold=fold).astimezone(UTC)
        for fold in (0, 1)
    )
    for instant in options:
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            return instant
    # Midnight falls in a DST gap: the clock jumps past it at the transition between the two readings.
    low, high = _seconds(options[0]), _seconds(options[1]) + 1
    return _instant(_first_with_offset(zone, low, high, _offset(zone, high)))


# --- caps ----------------------------------------------------------------------------------------


def weekly_cap(recipient: Recipient, policy: Policy) -> int:
    """Marketing sends allowed in any rolling 7 days for this contact."""
    own = recipient.preferences.max_per_week
    cap = policy.marketing_per_week if own is None else own
    if recipient.spend_tier == "high":
        cap = min(cap, policy.high_spender_per_week)
    return min(cap, WEEKLY_CEILING)


def monthly_cap(policy: Policy) -> int:
    """Marketing sends allowed in any rolling 30 days."""
    return policy.marketing_per_month


def _rolling_release(
    history: Sequence[datetime], at: datetime, span: timedelta, cap: int
) -> datetime | None:
    """None when one more send at ``at`` stays within ``cap`` per ``span``; else when it would."""
    inside = [sent for sent in history if at - sent < span]
    if len(inside) < cap:
        return None
    # Once the oldest len - cap + 1 sends have aged out, one more fits.
    return inside[len(inside) - cap] + span


def _month_end_start(year: int, month: int, policy: Policy, zone: ZoneInfo) -> datetime:
    day = min(policy.passive_from_day, calendar.monthrange(year, month)[1])
    return _first_instant_of(date(year, month, day), zone)


def _same_month(a: datetime, b: datetime) -> bool:
    return (a.year, a.month) == (b.year, b.month)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


# --- the decision --------------------------------------------------------------------------------

# A check looks at one candidate moment: None when it allows a send then, else (reason, the
# earliest later moment it could allow one). None as that moment means never.
_Check = Callable[[datetime], tuple[str, datetime | None] | None]


def _checks(
    recipient: Recipient,
    send: PlannedSend,
    history: Sequence[datetime],
    global_marketing_today: int,
    now: datetime,
    policy: Policy,
) -> list[_Check]:
    zone = recipient.zone
    prefs = effective_preferences(recipient)
    checks: list[_Check] = []

    if send.category == "marketing":
        if recipient.preferences.passive:

            def passive(at: datetime) -> tuple[str, datetime | None] | None:
                local = at.astimezone(zone)
                this_month = sum(1 for sent in history if _same_month(sent.astimezone(zone), local))
                if this_month >= policy.passive_per_month:
                    year, month = _next_month(local.year, local.month)
                    return "passive_monthly_cap", _month_end_start(year, month, policy, zone)
                opens = _month_end_start(local.year, local.month, policy, zone)
                if at < opens:
                    return "passive_not_month_end", opens
                return None

            checks.append(passive)

        week = weekly_cap(recipient, policy)
        month = monthly_cap(policy)

        def weekly(at: datetime) -> tuple[str, datetime | None] | None:
            release = _rolling_release(history, at, _WEEK, week)
            return None if release is None else ("weekly_cap", release)

        def monthly(at: datetime) -> tuple[str, datetime | None] | None:
            release = _rolling_release(history, at, _MONTH, month)
            return None if release is None else ("monthly_cap", release)

        checks += [weekly, monthly]

        daily = policy.global_marketing_per_day
        if daily is not None and global_marketing_today >= daily:
            midnight = datetime.combine(now.date() + _DAY, time(0), tzinfo=UTC)

            def global_cap(at: datetime) -> tuple[str, datetime | None] | None:
                # The count given is today's: from the next UTC day on it starts again.
                return ("global_cap", midnight) if at < midnight else None

            checks.append(global_cap)

    def window(at: datetime) -> tuple[str, datetime | None] | None:
        local = at.astimezone(zone)
        if prefs.reachable_at(local):
            return None
        reason = "quiet_hours" if prefs.in_quiet_hours(local) else "outside_window"
        return reason, _first_reachable(prefs, zone, at)

    checks.append(window)
    return checks


def _earliest(checks: Sequence[_Check], start: datetime) -> datetime | None:
    """The first moment >= start that every check allows; None when there is none."""
    at = start
    for _ in range(_MAX_ROUNDS):
        moved = False
        for check in checks:
            verdict = check(at)
            if verdict is None:
                continue
            later = verdict[1]
            if later is None:
                return None
            at, moved = later, True
        if not moved:
            return at
    return None


def decide(
    recipient: Recipient,
    send: PlannedSend,
    *,
    marketing_sent: Sequence[datetime],
    global_marketing_today: int,
    now: datetime,
    policy: Policy | None = None,
) -> Decision:
    """Whether ``send`` may go at ``now``; if not, when to try again or why never.

    ``marketing_sent`` holds the contact's past marketing sends (later ones are ignored: the
    decision is for ``now``); ``global_marketing_today`` counts the operator's marketing sends
    since the last UTC midnight.
    """
    policy = policy or Policy()
    now = _utc(now, "now")
    due = _utc(send.due_at, "due_at")
    if now < due:
        return Decision("wait", due, "not_due")
    if recipient.opted_out and not send.confirmation:
        return Decision("drop", None, "opted_out")

    service_window = timedelta(hours=policy.service_window_hours)
    last_inbound = recipient.last_inbound_at
    closes = (
        None if last_inbound is None else _utc(last_inbound, "last_inbound_at") + service_window
    )
    if send.free_form and (closes is None or now >= closes):
        return Decision("needs_template", None, "service_window_closed")
    if send.confirmation:
        # The opt-out/opt-in confirmation answers the contact's own message: it goes right away,
        # outside the windows and caps, and is the only thing an opted-out contact receives.
        return Decision("send", None, "confirmation")

    if send.category == "marketing":
        zero = (
            weekly_cap(recipient, policy) == 0
            or monthly_cap(policy) == 0
            or (recipient.preferences.passive and policy.passive_per_month == 0)
        )
        if zero:
            return Decision("drop", None, "cap_zero")

    history = sorted(
        sent for sent in (_utc(t, "marketing_sent") for t in marketing_sent) if sent <= now
    )
    checks = _checks(recipient, send, history, global_marketing_today, now, policy)
    first = next((v for v in (check(now) for check in checks) if v is not None), None)
    if first is None:
        return Decision("send", None, "ok")

    at = _earliest(checks, now)
    if at is None:
        return Decision("drop", None, "no_opening")
    if send.free_form and closes is not None and at >= closes:
        # It cannot go as free text any more by the time it may go at all: say so now, so the
        # caller can pick a template instead of waking up for nothing.
        return Decision("needs_template", None, "service_window_closes_first")
    return Decision("wait", at, first[0])


# --- helpers -------------------------------------------------------------------------------------


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


def _check_count(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
