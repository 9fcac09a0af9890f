"""Pure send constraints: one table per rule with the SPEC's numbers, then properties over random
contacts, histories and moments in 2026."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.contacts.preferences_note import Preferences, Window
from app.scheduling.constraints import (
    LEARNED_BANDS,
    REASONS,
    SEARCH_DAYS,
    WEEKLY_CEILING,
    Decision,
    NoOpening,
    PlannedSend,
    Policy,
    Recipient,
    decide,
    effective_preferences,
    learned_window,
    next_opening,
    weekly_cap,
)

BERLIN = "Europe/Berlin"
SAO_PAULO = "America/Sao_Paulo"
KOLKATA = "Asia/Kolkata"
SANTIAGO = "America/Santiago"

MON_FRI = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
OFFICE = Window(MON_FRI, time(9), time(18))  # the seeds' "reachable Mon-Fri 9-18"
NIGHT_OWL = Window(EVERY_DAY, time(20), time(23))  # the "night owl" preset
FRIDAY_LATE = Window(frozenset({4}), time(22), time(2))  # crosses midnight into Saturday
MONDAYS = Window(frozenset({0}), time(9), time(18))

H = timedelta(hours=1)
D = timedelta(days=1)
DEFAULT = Policy()


def at(zone: str, stamp: str, fold: int = 0) -> datetime:
    """The UTC instant at which the wall clock in ``zone`` reads ``stamp``."""
    local = datetime.fromisoformat(stamp).replace(tzinfo=ZoneInfo(zone), fold=fold)
    return local.astimezone(UTC)


def contact(
    zone: str | None = BERLIN,
    *,
    windows: Iterable[Window] = (),
    quiet: tuple[int, int] | None = None,
    cap: int | None = None,
    passive: bool = False,
    opted_out: bool = False,
    inbound: datetime | None = None,
    spend: str | None = None,
    learned: Iterable[str] = (),
) -> Recipient:
    prefs = Preferences(windows=tuple(windows), max_per_week=cap, passive=passive)
    if quiet is not None:
        prefs = Preferences(
            windows=prefs.windows,
            quiet_start=time(quiet[0]),
            quiet_end=time(quiet[1]),
            max_per_week=cap,
            passive=passive,
        )
    return Recipient(
        timezone=zone,
        preferences=prefs,
        opted_out=opted_out,
        last_inbound_at=inbound,
        spend_tier=spend,
        learned_windows=frozenset(learned),
    )


def marketing(due: datetime, *, free_form: bool = False) -> PlannedSend:
    return PlannedSend("marketing", free_form, due)


def utility(due: datetime) -> PlannedSend:
    return PlannedSend("utility", False, due)


def service(due: datetime, *, confirmation: bool = False) -> PlannedSend:
    return PlannedSend("service", True, due, confirmation=confirmation)


def send(reason: str = "ok") -> Decision:
    return Decision("send", None, reason)


def wait(moment: datetime, reason: str) -> Decision:
    return Decision("wait", moment, reason)


# --- next_opening --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "after", "expected"),
    [
        pytest.param(
            contact(),
            at(BERLIN, "2026-03-10T10:00"),
            at(BERLIN, "2026-03-10T10:00"),
            id="open-already",
        ),
        pytest.param(
            contact(),
            at(BERLIN, "2026-03-10T23:30"),
            at(BERLIN, "2026-03-11T08:00"),
            id="default-quiet-22-8-late-evening",
        ),
        pytest.param(
            contact(),
            at(BERLIN, "2026-03-10T07:59:30"),
            at(BERLIN, "2026-03-10T08:00"),
            id="default-quiet-ends-at-8",
        ),
        pytest.param(
            contact(windows=[OFFICE]),
            at(BERLIN, "2026-03-07T11:00"),
            at(BERLIN, "2026-03-09T09:00"),
            id="mon-fri-9-18-on-saturday-to-monday-9",
        ),
        pytest.param(
            contact(windows=[OFFICE]),
            at(BERLIN, "2026-03-06T18:00"),
            at(BERLIN, "2026-03-09T09:00"),
            id="window-end-is-exclusive",
        ),
        pytest.param(
            contact(windows=[NIGHT_OWL]),
            at(BERLIN, "2026-03-10T15:00"),
            at(BERLIN, "2026-03-10T20:00"),
            id="night-owl-20-23-afternoon",
        ),
        pytest.param(
            contact(windows=[NIGHT_OWL]),
            at(BERLIN, "2026-03-10T22:10"),
            at(BERLIN, "2026-03-11T20:00"),
            id="night-owl-22-23-lies-in-quiet-hours",
        ),
        pytest.param(
            contact(windows=[FRIDAY_LATE], quiet=(3, 7)),
            at(BERLIN, "2026-03-06T15:00"),
            at(BERLIN, "2026-03-06T22:00"),
            id="window-across-midnight-before-it",
        ),
        pytest.param(
            contact(windows=[FRIDAY_LATE], quiet=(3, 7)),
            at(BERLIN, "2026-03-07T01:30"),
            at(BERLIN, "2026-03-07T01:30"),
            id="window-across-midnight-saturday-part",
        ),
        pytest.param(
            contact(windows=[FRIDAY_LATE], quiet=(3, 7)),
            at(BERLIN, "2026-03-07T02:00"),
            at(BERLIN, "2026-03-13T22:00"),
            id="window-across-midnight-just-closed",
        ),
        pytest.param(
            contact(SAO_PAULO, windows=[OFFICE]),
            at(SAO_PAULO, "2026-03-06T18:30"),
            at(SAO_PAULO, "2026-03-09T09:00"),
            id="sao-paulo-friday-evening",
        ),
        pytest.param(
            contact(KOLKATA),
            at(KOLKATA, "2026-06-01T22:30"),
            at(KOLKATA, "2026-06-02T08:00"),
            id="kolkata-half-hour-offset",
        ),
        pytest.param(
            contact(None),
            datetime(2026, 6, 1, 23, 0, tzinfo=UTC),
            datetime(2026, 6, 2, 8, 0, tzinfo=UTC),
            id="no-zone-is-utc",
        ),
        pytest.param(
            contact(),
            at(BERLIN, "2026-03-28T23:00"),
            at(BERLIN, "2026-03-29T08:00"),
            id="berlin-spring-forward-night",
        ),
        pytest.param(
            contact(windows=[Window(EVERY_DAY, time(2, 30), time(4))], quiet=(23, 1)),
            at(BERLIN, "2026-03-29T01:30"),
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # the jump: 02:00 CET becomes 03:00 CEST
            id="berlin-spring-forward-window-start-in-the-gap",
        ),
        pytest.param(
            contact(),
            at(BERLIN, "2026-10-24T23:00"),
            at(BERLIN, "2026-10-25T08:00"),
            id="berlin-fall-back-night",
        ),
        pytest.param(
            contact(windows=[Window(EVERY_DAY, time(2, 30), time(4))], quiet=(23, 1)),
            at(BERLIN, "2026-10-25T01:10"),
            at(BERLIN, "2026-10-25T02:30", fold=0),
            id="berlin-fall-back-first-of-the-two-0230s",
        ),
        pytest.param(
            contact(windows=[Window(EVERY_DAY, time(1), time(2, 30))], quiet=(23, 1)),
            at(BERLIN, "2026-10-25T02:40", fold=0),
            at(BERLIN, "2026-10-25T02:00", fold=1),
            id="berlin-fall-back-repeated-hour-reopens-window",
        ),
        pytest.param(
            contact(SANTIAGO, windows=[Window(frozenset({6}), time(0), time(2))], quiet=(3, 7)),
            at(SANTIAGO, "2026-09-05T12:00"),
            datetime(2026, 9, 6, 4, 0, tzinfo=UTC),  # 00:00 is skipped: the clock reads 01:00
            id="santiago-midnight-gap",
        ),
        pytest.param(
            contact(SANTIAGO, windows=[Window(frozenset({6}), time(0), time(0, 30))], quiet=(3, 7)),
            at(SANTIAGO, "2026-09-05T12:00"),
            at(SANTIAGO, "2026-09-13T00:00"),
            id="santiago-gap-swallows-the-only-weekly-opening",
        ),
        pytest.param(
            contact(learned=["active_wed_evening"]),
            at(BERLIN, "2026-03-10T10:00"),
            at(BERLIN, "2026-03-11T17:00"),
            id="learned-wednesday-evening",
        ),
        pytest.param(
            contact(windows=[OFFICE], learned=["active_wed_evening"]),
            at(BERLIN, "2026-03-10T10:00"),
            at(BERLIN, "2026-03-10T10:00"),
            id="explicit-window-beats-learned",
        ),
        pytest.param(
            contact(learned=["active_tue_night"]),
            at(BERLIN, "2026-03-10T10:00"),
            at(BERLIN, "2026-03-10T10:00"),
            id="learned-night-lies-in-quiet-hours-so-ignored",
        ),
        pytest.param(
            contact(learned=["active_tue_night", "active_fri_morning", "not_a_slot"]),
            at(BERLIN, "2026-03-10T10:00"),
            at(BERLIN, "2026-03-13T08:00"),
            id="learned-morning-starts-when-quiet-ends",
        ),
    ],
)
def test_next_opening(recipient: Recipient, after: datetime, expected: datetime) -> None:
    found = next_opening(recipient, after)
    assert found == expected
    assert found.tzinfo is UTC


@pytest.mark.parametrize(
    "recipient",
    [
        pytest.param(contact(windows=[Window(EVERY_DAY, time(23), time(6))]), id="window-in-quiet"),
        pytest.param(
            contact(windows=[Window(EVERY_DAY, time(22), time(8))]), id="window-equals-quiet"
        ),
    ],
)
def test_no_opening_at_all(recipient: Recipient) -> None:
    with pytest.raises(NoOpening):
        next_opening(recipient, at(BERLIN, "2026-03-10T10:00"))


def test_next_opening_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_opening(contact(), datetime(2026, 3, 10, 10, 0))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("active_wed_evening", Window(frozenset({2}), time(17), time(0))),
        ("active_mon_night", Window(frozenset({0}), time(0), time(6))),
        ("active_sun_afternoon", Window(frozenset({6}), time(12), time(17))),
        ("active_sat_morning", Window(frozenset({5}), time(6), time(12))),
        ("active_funday_evening", None),
        ("active_wed_dusk", None),
        ("passive", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_learned_window(tag: str, expected: Window | None) -> None:
    assert learned_window(tag) == expected


# --- decide ---------------------------------------------------------------------------------------

NOW = at(BERLIN, "2026-03-10T10:00")  # a Tuesday morning in Berlin
SEEN = NOW - H  # a reply an hour ago: the service window is open
EARLY = datetime(2026, 1, 1, tzinfo=UTC)  # due long ago, where the due time is not the point


def local_days(zone: str, *stamps: str) -> list[datetime]:
    return [at(zone, s) for s in stamps]


# fmt: off
DECIDE_CASES = [
    # (1) never before due_at
    pytest.param(contact(), marketing(NOW + 2 * H), [], 0, NOW, DEFAULT, wait(NOW + 2 * H, "not_due"), id="not-due"),
    pytest.param(contact(), marketing(NOW), [], 0, NOW, DEFAULT, send(), id="due-now"),
    # (2) opt-out: nothing but the one confirmation
    pytest.param(contact(opted_out=True), marketing(EARLY), [], 0, NOW, DEFAULT, Decision("drop", None, "opted_out"), id="opted-out-131050-marketing"),
    pytest.param(contact(opted_out=True), utility(EARLY), [], 0, NOW, DEFAULT, Decision("drop", None, "opted_out"), id="opted-out-utility"),
    pytest.param(contact(opted_out=True, inbound=SEEN), service(EARLY), [], 0, NOW, DEFAULT, Decision("drop", None, "opted_out"), id="opted-out-service"),
    pytest.param(
        contact(opted_out=True, inbound=at(BERLIN, "2026-03-10T23:29")),
        service(at(BERLIN, "2026-03-10T23:29"), confirmation=True),
        [], 0, at(BERLIN, "2026-03-10T23:30"), DEFAULT, send("confirmation"),
        id="stop-confirmation-goes-at-once-even-in-quiet-hours",
    ),
    pytest.param(
        contact(opted_out=True, inbound=NOW - 25 * H), service(NOW - 25 * H, confirmation=True),
        [], 0, NOW, DEFAULT, Decision("needs_template", None, "service_window_closed"),
        id="late-confirmation-needs-a-template",
    ),
    # (3) free-form only inside the 24-hour service window, at the moment of sending
    pytest.param(contact(inbound=NOW - 24 * H + timedelta(minutes=1)), service(EARLY), [], 0, NOW, DEFAULT, send(), id="free-form-23h59-after-reply"),
    pytest.param(
        contact(inbound=at(BERLIN, "2026-03-09T10:00")), service(at(BERLIN, "2026-03-09T20:00")),
        [], 0, NOW, DEFAULT, Decision("needs_template", None, "service_window_closed"),
        id="window-open-at-planning-closed-at-sending",
    ),
    pytest.param(contact(), service(EARLY), [], 0, NOW, DEFAULT, Decision("needs_template", None, "service_window_closed"), id="free-form-never-replied"),
    pytest.param(
        contact(windows=[OFFICE], inbound=at(BERLIN, "2026-03-06T17:30")),
        service(at(BERLIN, "2026-03-06T18:10")), [], 0, at(BERLIN, "2026-03-06T18:30"), DEFAULT,
        Decision("needs_template", None, "service_window_closes_first"),
        id="free-form-window-closes-before-monday",
    ),
    pytest.param(
        contact(inbound=at(BERLIN, "2026-03-10T21:00")), service(at(BERLIN, "2026-03-10T22:30")),
        [], 0, at(BERLIN, "2026-03-10T23:00"), DEFAULT, wait(at(BERLIN, "2026-03-11T08:00"), "quiet_hours"),
        id="free-form-waits-for-morning-inside-service-window",
    ),
    pytest.param(contact(inbound=SEEN), marketing(EARLY, free_form=True), [], 0, NOW, DEFAULT, send(), id="free-form-marketing-inside-window"),
    # (4) window, quiet hours, weekdays: local time, for marketing and utility alike
    pytest.param(
        contact(), marketing(EARLY), [], 0, at(BERLIN, "2026-03-10T23:30"), DEFAULT,
        wait(at(BERLIN, "2026-03-11T08:00"), "quiet_hours"), id="quiet-hours-marketing",
    ),
    pytest.param(
        contact(), utility(EARLY), [], 0, at(BERLIN, "2026-03-10T23:30"), DEFAULT,
        wait(at(BERLIN, "2026-03-11T08:00"), "quiet_hours"), id="quiet-hours-utility",
    ),
    pytest.param(
        contact(KOLKATA), utility(EARLY), [], 0, at(KOLKATA, "2026-03-10T06:15"), DEFAULT,
        wait(at(KOLKATA, "2026-03-10T08:00"), "quiet_hours"), id="kolkata-early-morning",
    ),
    pytest.param(
        contact(windows=[OFFICE]), marketing(EARLY), [], 0, at(BERLIN, "2026-03-07T11:00"), DEFAULT,
        wait(at(BERLIN, "2026-03-09T09:00"), "outside_window"), id="weekday-contact-on-saturday",
    ),
    pytest.param(
        contact(SAO_PAULO, windows=[OFFICE]), utility(EARLY), [], 0, at(SAO_PAULO, "2026-03-06T19:00"), DEFAULT,
        wait(at(SAO_PAULO, "2026-03-09T09:00"), "outside_window"), id="sao-paulo-friday-evening",
    ),
    pytest.param(
        contact(windows=[NIGHT_OWL]), marketing(EARLY), [], 0, at(BERLIN, "2026-03-10T15:00"), DEFAULT,
        wait(at(BERLIN, "2026-03-10T20:00"), "outside_window"), id="night-owl-afternoon",
    ),
    pytest.param(
        contact(windows=[NIGHT_OWL]), marketing(EARLY), [], 0, at(BERLIN, "2026-03-10T21:00"), DEFAULT,
        send(), id="night-owl-21h",
    ),
    pytest.param(
        contact(windows=[NIGHT_OWL]), marketing(EARLY), [], 0, at(BERLIN, "2026-03-10T22:15"), DEFAULT,
        wait(at(BERLIN, "2026-03-11T20:00"), "quiet_hours"), id="night-owl-after-quiet-starts",
    ),
    pytest.param(
        contact(windows=[FRIDAY_LATE], quiet=(3, 7)), marketing(EARLY), [], 0, at(BERLIN, "2026-03-07T01:30"), DEFAULT,
        send(), id="window-across-midnight",
    ),
    pytest.param(
        contact(learned=["active_wed_evening"]), marketing(EARLY), [], 0, NOW, DEFAULT,
        wait(at(BERLIN, "2026-03-11T17:00"), "outside_window"), id="learned-slot",
    ),
    pytest.param(
        contact(windows=[Window(EVERY_DAY, time(23), time(6))]), marketing(EARLY), [], 0, NOW, DEFAULT,
        Decision("drop", None, "no_opening"), id="window-wholly-in-quiet-hours",
    ),
    pytest.param(
        contact(), marketing(at(BERLIN, "2026-03-28T20:00")), [], 0, at(BERLIN, "2026-03-28T23:00"), DEFAULT,
        wait(at(BERLIN, "2026-03-29T08:00"), "quiet_hours"), id="berlin-dst-spring",
    ),
    pytest.param(
        contact(), marketing(at(BERLIN, "2026-10-24T20:00")), [], 0, at(BERLIN, "2026-10-24T23:00"), DEFAULT,
        wait(at(BERLIN, "2026-10-25T08:00"), "quiet_hours"), id="berlin-dst-autumn",
    ),
    # (5) marketing caps over rolling 7 and 30 days
    pytest.param(
        contact(), marketing(EARLY),
        local_days(BERLIN, "2026-03-04T10:00", "2026-03-06T10:00", "2026-03-09T10:00"), 0, NOW, DEFAULT,
        wait(at(BERLIN, "2026-03-11T10:00"), "weekly_cap"), id="weekly-cap-3-oldest-6-days-ago-ages-out",
    ),
    pytest.param(
        contact(), marketing(EARLY),
        local_days(BERLIN, "2026-03-04T05:00", "2026-03-06T10:00", "2026-03-09T10:00"), 0, NOW, DEFAULT,
        wait(at(BERLIN, "2026-03-11T08:00"), "weekly_cap"), id="weekly-cap-ages-out-in-quiet-hours",
    ),
    pytest.param(
        contact(windows=[OFFICE], cap=2), marketing(EARLY),
        local_days(BERLIN, "2026-03-07T12:00", "2026-03-11T10:00"), 0, at(BERLIN, "2026-03-12T10:00"), DEFAULT,
        wait(at(BERLIN, "2026-03-16T09:00"), "weekly_cap"), id="seed-max-2-ages-out-on-saturday",
    ),
    pytest.param(
        contact(), marketing(EARLY),
        local_days(BERLIN, "2026-03-03T10:00", "2026-03-06T10:00", "2026-03-09T10:00"), 0, NOW, DEFAULT,
        send(), id="weekly-cap-oldest-exactly-7-days-ago",
    ),
    pytest.param(
        contact(), marketing(EARLY), [NOW - 3 * D, NOW - 1 * D], 0, NOW, DEFAULT, send(), id="two-of-three",
    ),
    pytest.param(
        contact(cap=10), marketing(EARLY), [NOW - k * D for k in (6, 5, 4, 3, 2)], 0, NOW, DEFAULT,
        wait(NOW + D, "weekly_cap"), id="note-says-10-ceiling-is-5",
    ),
    pytest.param(
        contact(cap=10), marketing(EARLY), [NOW - k * D for k in (5, 4, 3, 2)], 0, NOW, DEFAULT,
        send(), id="note-says-10-four-sent",
    ),
    pytest.param(
        contact(spend="high"), marketing(EARLY), [NOW - 5 * D, NOW - 2 * D], 0, NOW, DEFAULT,
        wait(NOW + 2 * D, "weekly_cap"), id="high-spender-2-a-week",
    ),
    pytest.param(
        contact(spend="high", cap=4), marketing(EARLY), [NOW - 5 * D, NOW - 2 * D], 0, NOW, DEFAULT,
        wait(NOW + 2 * D, "weekly_cap"), id="high-spender-stricter-than-note",
    ),
    pytest.param(
        contact(), marketing(EARLY), [NOW - k * D for k in (28, 25, 21, 18, 14, 11, 6, 3)], 0, NOW, DEFAULT,
        wait(NOW + 2 * D, "monthly_cap"), id="monthly-cap-8-in-30-days",
    ),
    pytest.param(
        contact(), marketing(EARLY), [NOW - k * D for k in (31, 25, 21, 18, 14, 11, 6, 3)], 0, NOW, DEFAULT,
        send(), id="monthly-cap-oldest-outside-30-days",
    ),
    pytest.param(
        contact(), utility(EARLY), [NOW - k * H for k in (1, 2, 3, 4, 5)], 0, NOW, DEFAULT,
        send(), id="utility-exempt-from-caps",
    ),
    pytest.param(
        contact(inbound=SEEN), service(EARLY), [NOW - k * H for k in (1, 2, 3, 4, 5)], 0, NOW, DEFAULT,
        send(), id="service-exempt-from-caps",
    ),
    pytest.param(
        contact(), marketing(EARLY), [NOW + H], 0, NOW, Policy(marketing_per_week=1), send(),
        id="history-after-now-is-ignored",
    ),
    pytest.param(
        contact(cap=0), marketing(EARLY), [], 0, NOW, DEFAULT, Decision("drop", None, "cap_zero"), id="note-says-no-pushes",
    ),
    pytest.param(contact(cap=0), utility(EARLY), [], 0, NOW, DEFAULT, send(), id="no-pushes-still-gets-utility"),
    # (6) the operator's global cap
    pytest.param(
        contact(SAO_PAULO), marketing(EARLY), [], 100, at(SAO_PAULO, "2026-03-10T10:00"),
        Policy(global_marketing_per_day=100), wait(datetime(2026, 3, 11, tzinfo=UTC), "global_cap"),
        id="global-cap-until-utc-midnight",
    ),
    pytest.param(
        contact(), marketing(EARLY), [], 100, NOW, Policy(global_marketing_per_day=100),
        wait(at(BERLIN, "2026-03-11T08:00"), "global_cap"), id="global-cap-midnight-is-quiet-in-berlin",
    ),
    pytest.param(contact(), marketing(EARLY), [], 99, NOW, Policy(global_marketing_per_day=100), send(), id="global-cap-one-left"),
    pytest.param(contact(), utility(EARLY), [], 100, NOW, Policy(global_marketing_per_day=100), send(), id="global-cap-utility-exempt"),
    # (7) passive contacts: one brand message a month, from the 25th
    pytest.param(
        contact(passive=True), marketing(EARLY), [], 0, NOW, DEFAULT,
        wait(at(BERLIN, "2026-03-25T08:00"), "passive_not_month_end"), id="passive-on-the-10th",
    ),
    pytest.param(
        contact(passive=True), marketing(EARLY), [], 0, at(BERLIN, "2026-03-26T10:00"), DEFAULT,
        send(), id="passive-on-the-26th",
    ),
    pytest.param(
        contact(passive=True), marketing(EARLY), [at(BERLIN, "2026-03-25T10:00")], 0, at(BERLIN, "2026-03-27T10:00"), DEFAULT,
        wait(at(BERLIN, "2026-04-25T08:00"), "passive_monthly_cap"), id="passive-had-this-months",
    ),
    pytest.param(
        contact(passive=True), marketing(EARLY), [at(BERLIN, "2026-02-27T10:00")], 0, at(BERLIN, "2026-03-26T10:00"), DEFAULT,
        send(), id="passive-last-months-does-not-count",
    ),
    pytest.param(
        contact(passive=True, windows=[MONDAYS]), marketing(EARLY), [], 0, at(BERLIN, "2026-02-10T10:00"), DEFAULT,
        wait(at(BERLIN, "2026-03-30T09:00"), "passive_not_month_end"), id="passive-february-end-has-no-monday",
    ),
    pytest.param(
        contact(SANTIAGO, passive=True, quiet=(3, 7)), marketing(at(SANTIAGO, "2026-09-01T10:00")), [], 0,
        at(SANTIAGO, "2026-09-01T10:00"), Policy(passive_from_day=6),
        wait(datetime(2026, 9, 6, 4, 0, tzinfo=UTC), "passive_not_month_end"), id="passive-day-starts-in-a-dst-gap",
    ),
    pytest.param(contact(passive=True), utility(EARLY), [], 0, NOW, DEFAULT, send(), id="passive-utility-any-day"),
]
# fmt: on


@pytest.mark.parametrize(
    ("recipient", "planned", "history", "global_today", "now", "policy", "expected"), DECIDE_CASES
)
def test_decide(
    recipient: Recipient,
    planned: PlannedSend,
    history: list[datetime],
    global_today: int,
    now: datetime,
    policy: Policy,
    expected: Decision,
) -> None:
    decision = decide(
        recipient,
        planned,
        marketing_sent=history,
        global_marketing_today=global_today,
        now=now,
        policy=policy,
    )
    assert decision == expected
    assert decision.reason in REASONS


@pytest.mark.parametrize(
    ("recipient", "policy", "expected"),
    [
        pytest.param(contact(), DEFAULT, 3, id="default-3"),
        pytest.param(contact(cap=2), DEFAULT, 2, id="note-2"),
        pytest.param(contact(cap=4), DEFAULT, 4, id="note-4-above-default"),
        pytest.param(contact(cap=50), DEFAULT, WEEKLY_CEILING, id="note-50-ceiling"),
        pytest.param(
            contact(), Policy(marketing_per_week=9), WEEKLY_CEILING, id="policy-9-ceiling"
        ),
        pytest.param(contact(spend="high"), DEFAULT, 2, id="high-spender"),
        pytest.param(contact(spend="high", cap=1), DEFAULT, 1, id="high-spender-note-1"),
        pytest.param(contact(spend="mid", cap=4), DEFAULT, 4, id="mid-spender"),
    ],
)
def test_weekly_cap(recipient: Recipient, policy: Policy, expected: int) -> None:
    assert weekly_cap(recipient, policy) == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: Policy(marketing_per_week=-1), "non-negative", id="negative-cap"),
        pytest.param(lambda: Policy(passive_from_day=0), "1-31", id="day-0"),
        pytest.param(lambda: Policy(service_window_hours=0), "positive", id="no-window"),
        pytest.param(lambda: contact("Mars/Olympus"), "unknown time zone", id="bad-zone"),
        pytest.param(
            lambda: contact(inbound=datetime(2026, 3, 1)), "timezone-aware", id="naive-inbound"
        ),
        pytest.param(lambda: PlannedSend("promo", False, NOW), "category", id="bad-category"),
        pytest.param(
            lambda: PlannedSend("utility", False, datetime(2026, 3, 1)), "aware", id="naive-due"
        ),
        pytest.param(
            lambda: Decision("wait", None, "not_due"), "wait needs a time", id="wait-without-time"
        ),
        pytest.param(lambda: Decision("later", None, "x"), "unknown action", id="bad-action"),
    ],
)
def test_invalid_inputs(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(ValueError, match=message):
        build()


def test_decide_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(
            contact(),
            marketing(NOW),
            marketing_sent=[],
            global_marketing_today=0,
            now=datetime(2026, 3, 10),
        )


# --- properties ----------------------------------------------------------------------------------

ZONES = [
    "UTC",
    BERLIN,
    SAO_PAULO,
    KOLKATA,
    SANTIAGO,
    "America/New_York",
    "Europe/London",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
]
LEARNED_TAGS = [f"active_{day}_{band}" for day in ("mon", "wed", "sat") for band in LEARNED_BANDS]

clocks = st.one_of(
    st.integers(0, 23).map(time),
    st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60)),
)
windows = st.builds(Window, st.frozensets(st.integers(0, 6), min_size=1), clocks, clocks)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59)
).map(lambda d: d.replace(tzinfo=UTC))
# Zero caps are legal but end in an early "drop"; they are drawn rarely so most examples reach
# the interesting rules.
policies = st.builds(
    Policy,
    marketing_per_week=st.sampled_from([3, 1, 2, 3, 4, 6, 3, 2, 0]),
    marketing_per_month=st.sampled_from([8, 4, 8, 12, 8, 4, 12, 0]),
    high_spender_per_week=st.sampled_from([2, 1, 2, 3, 0]),
    passive_per_month=st.sampled_from([1, 1, 2, 0]),
    passive_from_day=st.integers(20, 31),
    global_marketing_per_day=st.sampled_from([None, None, 2, 5, 0]),
)


@st.composite
def safe_preferences(draw: st.DrawFn) -> Preferences:
    start, end = draw(clocks), draw(clocks)
    if start == end:
        end = time((start.hour + 1) % 24, start.minute)
    return draw(
        st.builds(
            Preferences,
            windows=st.lists(windows, max_size=3).map(tuple),
            quiet_start=st.just(start),
            quiet_end=st.just(end),
            max_per_week=st.sampled_from([None, None, 1, 2, 3, 5, 8, None, 2, 0]),
            passive=st.sampled_from([False, False, False, True]),
        )
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[Recipient, PlannedSend, list[datetime], int, datetime, Policy]:
    now = draw(moments)
    replied = draw(st.sampled_from([True, True, True, False]))
    inbound = now - timedelta(minutes=draw(st.integers(0, 72 * 60))) if replied else None
    recipient = Recipient(
        timezone=draw(st.sampled_from(ZONES)),
        preferences=draw(safe_preferences()),
        opted_out=draw(st.sampled_from([False] * 7 + [True])),
        last_inbound_at=inbound,
        spend_tier=draw(st.sampled_from([None, "low", "mid", "high"])),
        learned_windows=draw(st.frozensets(st.sampled_from(LEARNED_TAGS), max_size=2)),
    )
    confirmation = draw(st.sampled_from([False] * 7 + [True]))
    due_in = draw(
        st.sampled_from([-1] * 5 + [1]).flatmap(
            lambda sign: st.integers(0, 3 * 24 * 60).map(lambda m: sign * m)
        )
    )
    planned = PlannedSend(
        category=draw(st.sampled_from(["marketing", "marketing", "utility", "service"])),
        free_form=draw(st.booleans()),
        due_at=now + timedelta(minutes=due_in),
        confirmation=confirmation,
    )
    # A dense recent history hits the weekly cap, a long full one the monthly cap.
    days_back, at_least = draw(st.sampled_from([(8, 0), (40, 0), (30, 5)]))
    history = draw(
        st.lists(
            st.integers(1, days_back * 24 * 60).map(lambda m: now - timedelta(minutes=m)),
            min_size=at_least,
            max_size=12,
        )
    )
    return recipient, planned, history, draw(st.integers(0, 6)), now, draw(policies)


def rolling(history: list[datetime], moment: datetime, span: timedelta) -> int:
    return sum(1 for sent in history if sent <= moment and moment - sent < span)


PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_send_obeys_every_constraint(
    scenario: tuple[Recipient, PlannedSend, list[datetime], int, datetime, Policy],
) -> None:
    recipient, planned, history, global_today, now, policy = scenario
    decision = decide(
        recipient,
        planned,
        marketing_sent=history,
        global_marketing_today=global_today,
        now=now,
        policy=policy,
    )
    assert decision.reason in REASONS
    if decision.action != "send":
        return
    assert now >= planned.due_at
    if planned.free_form:
        assert recipient.last_inbound_at is not None
        assert now - recipient.last_inbound_at < timedelta(hours=policy.service_window_hours)
    if planned.confirmation:
        return
    assert not recipient.opted_out
    local = now.astimezone(ZoneInfo(recipient.timezone or "UTC"))
    prefs = recipient.preferences
    assert not prefs.in_quiet_hours(local)
    if prefs.windows:
        assert any(w.contains(local) for w in prefs.windows)
    assert effective_preferences(recipient).reachable_at(local)
    if planned.category == "marketing":
        cap = policy.marketing_per_week if prefs.max_per_week is None else prefs.max_per_week
        if recipient.spend_tier == "high":
            cap = min(cap, policy.high_spender_per_week)
        cap = min(cap, 5)
        assert rolling(history, now, timedelta(days=7)) + 1 <= cap
        assert rolling(history, now, timedelta(days=30)) + 1 <= policy.marketing_per_month
        if policy.global_marketing_per_day is not None:
            assert global_today < policy.global_marketing_per_day
        if prefs.passive:
            month_length = calendar.monthrange(local.year, local.month)[1]
            assert local.day >= min(policy.passive_from_day, month_length)
            same_month = [
                s
                for s in history
                if (s.astimezone(local.tzinfo).year, s.astimezone(local.tzinfo).month)
                == (local.year, local.month)
            ]
            assert len(same_month) < policy.passive_per_month


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_wait_ends_in_a_send(
    scenario: tuple[Recipient, PlannedSend, list[datetime], int, datetime, Policy],
) -> None:
    recipient, planned, history, global_today, now, policy = scenario
    decision = decide(
        recipient,
        planned,
        marketing_sent=history,
        global_marketing_today=global_today,
        now=now,
        policy=policy,
    )
    if decision.action != "wait":
        return
    assert decision.at is not None
    assert decision.at > now
    # Today's global count starts again on the next UTC day.
    later_today = global_today if decision.at.date() == now.date() else 0
    again = decide(
        recipient,
        planned,
        marketing_sent=history,
        global_marketing_today=later_today,
        now=decision.at,
        policy=policy,
    )
    if decision.reason == "not_due":
        assert decision.at == planned.due_at
        assert (again.action, again.reason) != ("wait", "not_due")
    elif policy.global_marketing_per_day == 0 and planned.category == "marketing":
        # Marketing is switched off for the whole number: every day ends the same way.
        assert again.reason in ("global_cap", "service_window_closes_first")
    else:
        assert again == Decision("send", None, "ok")


@st.composite
def reachable_contacts(draw: st.DrawFn) -> Recipient:
    return Recipient(
        timezone=draw(st.sampled_from(ZONES)),
        preferences=draw(safe_preferences()),
        opted_out=False,
        last_inbound_at=None,
        spend_tier=None,
        learned_windows=draw(st.frozensets(st.sampled_from(LEARNED_TAGS), max_size=2)),
    )


def reachable(recipient: Recipient, moment: datetime) -> bool:
    return effective_preferences(recipient).reachable_at(moment.astimezone(recipient.zone))


@PROPERTY_SETTINGS
@given(reachable_contacts(), moments)
def test_next_opening_is_reachable_and_nothing_earlier_is(
    recipient: Recipient, after: datetime
) -> None:
    try:
        found = next_opening(recipient, after)
    except NoOpening:
        return
    assert found >= after
    assert reachable(recipient, found)
    if found > after:
        assert not reachable(recipient, found - timedelta(microseconds=1))
        step = (found - after) / 50
        assert not any(reachable(recipient, after + step * i) for i in range(50))


@settings(max_examples=60, deadline=None)
@given(reachable_contacts(), moments.map(lambda m: m.replace(second=0, microsecond=0)))
def test_next_opening_matches_a_minute_by_minute_scan(
    recipient: Recipient, after: datetime
) -> None:
    try:
        found: datetime | None = next_opening(recipient, after)
    except NoOpening:
        found = None
    scanned = next(
        (
            after + timedelta(minutes=m)
            for m in range(SEARCH_DAYS * 24 * 60)
            if reachable(recipient, after + timedelta(minutes=m))
        ),
        None,
    )
    assert found == scanned
