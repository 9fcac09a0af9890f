"""Pure rate control for outbound sends: throughput per number and spacing per recipient.

SlotPace is the arithmetic behind the cross-process send clock; the buckets below pace one
process. Times are seconds handed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from dataclasses import dataclass

__all__ = ["HEADROOM", "PairSpacing", "SlotPace", "Throttle", "TokenBucket"]

_PRUNE_EVERY = 1024
# How far under the cap the send clock paces. Half of it lets a send go a little after its slot
# (event-loop lag) without taking a fresh one; the other half absorbs the jitter between our
# launch and Meta's count. 3 % keeps the achieved rate above 95 % of the cap.
HEADROOM = 0.03
# Block length the sender reserves at a time: long enough that reserving is rare, short enough
# that a block given up (its sender fell behind) leaves only a small hole in the schedule.
BLOCK_SECONDS = 0.05


def _check_time(now: float) -> None:
    if not math.isfinite(now):
        raise ValueError(f"now must be a finite number of seconds, not {now!r}")


def _later_by(moment: float, gap: float) -> float:
    """The smallest float y with y >= moment + gap that also keeps y - moment >= gap.

    Float addition may round down, which would let two sends sit a hair closer than ``gap``.
    """
    later = moment + gap
    while later - moment < gap:
        later = math.nextafter(later, math.inf)
    return later


def _wait_until(now: float, target: float) -> tuple[float, float]:
    """The wait to hand back and the moment the caller will then send (``now + wait``).

    The wait is rounded up so that ``now + wait`` never lands before ``target``.
    """
    if target <= now:
        return 0.0, now
    wait = target - now
    while now + wait < target:
        wait = math.nextafter(wait, math.inf)
    return wait, now + wait


@dataclass(frozen=True)
class SlotPace:
    """Consecutive send slots ``interval`` apart on one clock shared by every sender of a number.

    A slot may be used up to ``tolerance`` seconds late; later than that it is given up and a
    fresh one reserved, so a sender that stalled cannot fire its backlog at once. Launches inside
    any one-second window [t, t + 1) then come from slots in (t - tolerance, t + 1): at most
    ceil((1 + tolerance) / interval) of them, and with interval = 1 / ((1 - h) * floor(cap)) and
    tolerance = h / 2 that is (1 - h / 2 - h² / 2) * floor(cap) rounded up, never above the cap.
    """

    cap: float
    interval: float
    tolerance: float
    block: int

    @classmethod
    def for_cap(cls, messages_per_s: float, headroom: float = HEADROOM) -> SlotPace:
        if not (math.isfinite(messages_per_s) and messages_per_s > 0):
            raise ValueError(f"messages_per_s must be positive, not {messages_per_s!r}")
        if not 0 < headroom < 1:
            raise ValueError(f"headroom must lie between 0 and 1, not {headroom!r}")
        # A fraction of a send cannot be spent in a window: 80.5/s allows 80 in any second.
        whole = math.floor(messages_per_s) if messages_per_s >= 1 else messages_per_s
        rate = whole * (1 - headroom)
        return cls(
            cap=messages_per_s,
            interval=1 / rate,
            tolerance=headroom / 2,
            block=max(1, math.floor(rate * BLOCK_SECONDS)),
        )

    @property
    def rate(self) -> float:
        """Sends per second the clock hands out at most."""
        return 1 / self.interval

    def slots(self, end: float, count: int) -> list[float]:
        """The ``count`` slots of a block whose reservation moved the clock to ``end``."""
        start = end - count * self.interval
        return [start + i * self.interval for i in range(count)]

    def usable(self, slot: float, now: float) -> bool:
        """Whether a slot that is due (``now >= slot``) may still be used at ``now``."""
        return now - slot <= self.tolerance


class TokenBucket:
    """At most ``burst`` sends in any window of ``burst / rate_per_s`` seconds.

    The bucket holds ``floor(burst)`` tokens and each comes back exactly ``burst / rate_per_s``
    seconds after it was spent. A bucket that refills continuously would let ``burst`` plus
    another ``rate`` sends through within one such window; this one never does, so with
    ``burst == rate_per_s`` no one-second window ever holds more than ``rate_per_s`` sends.
    """

    def __init__(self, rate_per_s: float, burst: float) -> None:
        if not (math.isfinite(rate_per_s) and rate_per_s > 0):
            raise ValueError(f"rate_per_s must be positive, not {rate_per_s!r}")
        if not (math.isfinite(burst) and burst >= 1):
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self.period = burst / rate_per_s
        # When each token may be spent again, ascending.
        self._free = [-math.inf] * self.burst
        self._paused_until = -math.inf
        self._latest = -math.inf

    def reserve(self, now: float) -> float:
        """Seconds to wait before one send may go; the token is spent at ``now`` plus that wait.

        Each call commits its token, so callers that reserve one after another are served in
        that order.
        """
        self._advance(now)
        wait, moment = _wait_until(now, self._earliest(self._latest))
        self._take(moment)
        return wait

    def penalise(self, seconds: float, now: float) -> None:
        """Hold every send not yet reserved until ``now + seconds`` (after a 130429).

        Sends already reserved keep their moment.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a non-negative number, not {seconds!r}")
        self._advance(now)
        self._paused_until = max(self._paused_until, now + seconds)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def _advance(self, now: float) -> None:
        # Readings taken concurrently may arrive slightly out of order; the latest one seen is
        # the floor of every reservation, so time never runs backwards in here.
        _check_time(now)
        self._latest = max(self._latest, now)

    def _earliest(self, at: float) -> float:
        """The first moment >= ``at`` at which a token is free (peeking, not taking)."""
        at = max(at, self._paused_until)
        return max(at, self._free[0])

    def _take(self, moment: float) -> None:
        # Spend the token that became free most recently before `moment`: the ones that were free
        # earlier stay for callers who want an earlier moment (a send held back by its pair limit
        # reserves ahead of time, and should not cost the others their slot).
        index = bisect_right(self._free, moment) - 1
        if index < 0:
            raise RuntimeError("no token is free at that moment")
        del self._free[index]
        insort(self._free, _later_by(moment, self.period))


class PairSpacing:
    """At least ``min_interval_s`` seconds between two sends to the same recipient."""

    def __init__(self, min_interval_s: float = 6.0) -> None:
        if not (math.isfinite(min_interval_s) and min_interval_s >= 0):
            raise ValueError(
                f"min_interval_s must be a non-negative number, not {min_interval_s!r}"
            )
        self.min_interval_s = float(min_interval_s)
        # When each recipient may be messaged again.
        self._free: dict[str, float] = {}
        self._latest = -math.inf
        self._takes = 0

    def reserve(self, recipient: str, now: float) -> float:
        """Seconds to wait before a send to ``recipient`` may go; the slot is committed."""
        self._advance(now)
        wait, moment = _wait_until(now, self._earliest(recipient, self._latest))
        self._take(recipient, moment)
        return wait

    def __len__(self) -> int:
        """How many recipients are still remembered."""
        return len(self._free)

    def _advance(self, now: float) -> None:
        _check_time(now)
        self._latest = max(self._latest, now)

    def _earliest(self, recipient: str, at: float) -> float:
        return max(at, self._free.get(recipient, -math.inf))

    def _take(self, recipient: str, moment: float) -> None:
        self._free[recipient] = _later_by(moment, self.min_interval_s)
        self._takes += 1
        if self._takes % _PRUNE_EVERY == 0:
            self._forget(self._latest)

    def _forget(self, now: float) -> None:
        # Callers never go back before the latest `now` seen (it is the floor of every
        # reservation), so a recipient free by then no longer constrains anything.
        self._free = {r: free for r, free in self._free.items() if free > now}


class Throttle:
    """Both limits for one business number: ``messages_per_s`` overall, one send per
    ``pair_interval_s`` to each recipient.

    The overall bucket holds ``floor(messages_per_s)`` tokens returned one second after use, so no
    one-second window ever holds more than ``messages_per_s`` sends.
    """

    def __init__(self, messages_per_s: float = 80, pair_interval_s: float = 6.0) -> None:
        if not (math.isfinite(messages_per_s) and messages_per_s >= 1):
            raise ValueError(f"messages_per_s must be at least 1, not {messages_per_s!r}")
        whole = math.floor(messages_per_s)
        self.messages_per_s = float(messages_per_s)
        self.bucket = TokenBucket(rate_per_s=whole, burst=whole)
        self.pairs = PairSpacing(pair_interval_s)

    def reserve(self, recipient: str, now: float) -> float:
        """Seconds to wait before a send to ``recipient`` may go under both limits.

        The overall token is taken for the moment the pair limit allows, so a send held back for
        its recipient does not hold up sends to others meanwhile.
        """
        self.bucket._advance(now)
        self.pairs._advance(now)
        floor = max(self.bucket._latest, self.pairs._latest)
        target = self.bucket._earliest(self.pairs._earliest(recipient, floor))
        wait, moment = _wait_until(now, target)
        self.bucket._take(moment)
        self.pairs._take(recipient, moment)
        return wait

    def penalise(self, seconds: float, now: float) -> None:
        """Pause every send not yet reserved for ``seconds`` (Cloud API error 130429)."""
        self.bucket.penalise(seconds, now)
