"""Pure rate control: tables of waits, then properties over long random call sequences."""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_left
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sending.throttle import PairSpacing, Throttle, TokenBucket


@pytest.mark.parametrize(
    ("rate", "burst", "calls", "waits"),
    [
        pytest.param(2, 2, [0, 0, 0, 0.5, 3], [0, 0, 1, 0.5, 0], id="burst-then-one-second-later"),
        pytest.param(10, 1, [0, 0, 0, 0], [0, 0.1, 0.2, 0.3], id="one-token-spaces-evenly"),
        pytest.param(3, 3, [0, 0, 0, 10, 10, 10, 10], [0, 0, 0, 0, 0, 0, 1], id="idle-refills"),
        pytest.param(2.5, 2.5, [0, 0, 0], [0, 0, 1], id="fractional-burst-rounds-down"),
        pytest.param(1, 4, [0, 0, 0, 0, 0], [0, 0, 0, 0, 4], id="burst-4-over-4-seconds"),
    ],
)
def test_token_bucket(rate: float, burst: float, calls: list[float], waits: list[float]) -> None:
    bucket = TokenBucket(rate, burst)
    assert [bucket.reserve(now) for now in calls] == pytest.approx(waits)


@pytest.mark.parametrize(
    ("calls", "waits"),
    [
        pytest.param(
            [("a", 0), ("a", 1), ("b", 1), ("a", 5.5), ("a", 30)],
            [0, 5, 0, 6.5, 0],
            id="six-seconds-per-recipient",
        ),
        pytest.param([("a", 0), ("a", 0), ("a", 0)], [0, 6, 12], id="queue-for-one-recipient"),
        pytest.param([("a", 0), ("a", 6)], [0, 0], id="exactly-six-seconds-later"),
    ],
)
def test_pair_spacing(calls: list[tuple[str, float]], waits: list[float]) -> None:
    pairs = PairSpacing()
    assert [pairs.reserve(who, now) for who, now in calls] == pytest.approx(waits)


@pytest.mark.parametrize(
    ("rate", "calls", "waits"),
    [
        pytest.param(
            2,
            [("a", 0), ("a", 0), ("b", 0), ("c", 0), ("a", 0)],
            [0, 6, 0, 1, 12],
            id="a-send-held-for-its-recipient-does-not-hold-up-others",
        ),
        pytest.param(
            80,
            [(f"r{i}", 0) for i in range(81)],
            [0] * 80 + [1],
            id="80-at-once-the-81st-a-second-later",
        ),
        pytest.param(
            80,
            [(f"r{i}", i / 160) for i in range(161)],
            [0] * 80 + [0.5] * 80 + [1.0],
            id="160-per-second-offered-80-served",
        ),
    ],
)
def test_throttle(rate: float, calls: list[tuple[str, float]], waits: list[float]) -> None:
    throttle = Throttle(messages_per_s=rate)
    assert [throttle.reserve(who, now) for who, now in calls] == pytest.approx(waits)


def test_penalise_pauses_everything_not_yet_reserved() -> None:
    throttle = Throttle()
    assert throttle.reserve("a", 10.0) == 0
    throttle.penalise(2.0, 10.0)
    assert throttle.reserve("b", 10.0) == pytest.approx(2.0)
    assert throttle.reserve("c", 11.0) == pytest.approx(1.0)
    assert throttle.reserve("d", 12.5) == 0
    throttle.penalise(0.5, 11.0)  # a shorter pause never shortens a longer one
    assert throttle.bucket.paused_until == 12.0


def test_pair_spacing_forgets_recipients_it_no_longer_needs() -> None:
    pairs = PairSpacing()
    for i in range(10_000):
        pairs.reserve(f"r{i}", i * 0.01)
    assert len(pairs) < 2_000


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: TokenBucket(0, 1), id="zero-rate"),
        pytest.param(lambda: TokenBucket(1, 0.5), id="burst-below-one"),
        pytest.param(lambda: TokenBucket(math.inf, 1), id="infinite-rate"),
        pytest.param(lambda: PairSpacing(-1), id="negative-interval"),
        pytest.param(lambda: Throttle(messages_per_s=0.5), id="under-one-per-second"),
        pytest.param(lambda: Throttle().reserve("a", math.nan), id="nan-now"),
        pytest.param(lambda: Throttle().penalise(-1, 0), id="negative-penalty"),
    ],
)
def test_invalid_arguments(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValueError, match="must be"):
        build()


# --- properties ----------------------------------------------------------------------------------


def most_in_any_window(sends: list[float], width: float) -> int:
    """The largest number of sends inside one half-open window [t, t + width)."""
    times = sorted(sends)
    # A fullest window can always be slid right until it starts at a send.
    return max((bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def closest_pair(sends: list[float]) -> float:
    times = sorted(sends)
    return min((b - a for a, b in itertools.pairwise(times)), default=math.inf)


def drive(
    throttle: Throttle, rng: random.Random, calls: int, recipients: int
) -> dict[str, list[float]]:
    """Reserve ``calls`` sends as concurrent workers would, applying each wait.

    Calls come in bursts offered at up to ten times the rate, with quiet gaps between them;
    a clock reading is sometimes a little stale (two workers read the clock, the later reading
    reserves first), and now and then a 130429 pauses everything.
    """
    sends: dict[str, list[float]] = defaultdict(list)
    now = rng.uniform(0, 1000)
    paused_until = -math.inf
    rate = throttle.messages_per_s
    made = 0
    while made < calls:
        size = rng.choice([rng.randint(1, int(rate)), rng.randint(int(rate), int(3 * rate))])
        burst = min(size, calls - made)
        offered = rate * rng.choice([0.5, 2, 10, math.inf])
        for _ in range(burst):
            now += 0.0 if offered == math.inf else rng.expovariate(offered)
            reading = now - rng.uniform(0, 0.01) if rng.random() < 0.1 else now
            if rng.random() < 0.001:
                pause = rng.uniform(0, 3)
                throttle.penalise(pause, reading)
                paused_until = max(paused_until, reading + pause)
            # Most sends spread over many recipients, so the overall rate binds; a few hot
            # recipients get several in a row, so the pair spacing binds too.
            if rng.random() < 0.8:
                who = f"r{rng.randrange(recipients)}"
            else:
                who = f"hot{min(int(rng.paretovariate(1.2)), 5)}"
            wait = throttle.reserve(who, reading)
            assert wait >= 0
            moment = reading + wait
            assert moment >= paused_until
            sends[who].append(moment)
        made += burst
        now += rng.choice([0.0, rng.uniform(0, 2), rng.uniform(0, 15)])
    return sends


def assert_within_limits(sends: dict[str, list[float]], rate: float, interval: float) -> None:
    everything = [t for times in sends.values() for t in times]
    assert most_in_any_window(everything, 1.0) <= rate
    assert all(closest_pair(times) >= interval for times in sends.values())


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([80, 1000, 20, 80.5]), st.integers(0, 2**64), st.integers(1, 5000))
def test_throttle_never_exceeds_the_rate_nor_the_pair_spacing(
    rate: float, seed: int, recipients: int
) -> None:
    # Thousands of calls per example: a seeded generator keeps hypothesis's own input small.
    throttle = Throttle(messages_per_s=rate, pair_interval_s=6.0)
    sends = drive(throttle, random.Random(seed), calls=3 * int(rate) + 500, recipients=recipients)
    assert_within_limits(sends, rate, 6.0)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([1, 2, 5, 80]),
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.floats(0, 2), st.floats(0, 0.05)),
        min_size=1,
        max_size=300,
    ),
)
def test_throttle_limits_hold_for_any_short_sequence(
    rate: float, calls: list[tuple[str, float, float]]
) -> None:
    throttle = Throttle(messages_per_s=rate)
    now, sends = 0.0, defaultdict(list)
    for who, gap, lag in calls:
        now += gap
        reading = max(0.0, now - lag)  # a worker whose clock reading is a little stale
        sends[who].append(reading + throttle.reserve(who, reading))
    assert_within_limits(sends, rate, 6.0)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.1, 2000),
    st.floats(1, 200),
    st.lists(st.floats(0, 0.2), min_size=1, max_size=400),
)
def test_token_bucket_bounds_every_window_and_serves_in_order(
    rate: float, burst: float, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate, burst)
    now, sends = 0.0, []
    for gap in gaps:
        now += gap
        sends.append(now + bucket.reserve(now))
    assert most_in_any_window(sends, burst / rate) <= math.floor(burst)
    assert sends == sorted(sends)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.5, 30),
    st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 5)), min_size=1, max_size=200),
)
def test_pair_spacing_keeps_every_recipient_apart(
    interval: float, calls: list[tuple[str, float]]
) -> None:
    pairs = PairSpacing(interval)
    now, sends = 0.0, defaultdict(list)
    for who, gap in calls:
        now += gap
        sends[who].append(now + pairs.reserve(who, now))
    assert all(closest_pair(times) >= interval for times in sends.values())
