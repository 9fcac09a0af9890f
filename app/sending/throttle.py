"""Pure rate control for outbound sends: the arithmetic behind the cross-process send clock.

Times are seconds handed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["HEADROOM", "SlotPace"]

# How far under the cap the send clock paces. Half of it lets a send go a little after its slot
# (event-loop lag) without taking a fresh one; the other half absorbs the jitter between our
# launch and Meta's count. 3 % keeps the achieved rate above 95 % of the cap.
HEADROOM = 0.03
# Block length the sender reserves at a time: long enough that reserving is rare, short enough
# that a block given up (its sender fell behind) leaves only a small hole in the schedule.
BLOCK_SECONDS = 0.05


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
