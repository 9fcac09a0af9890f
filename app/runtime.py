"""Process-wide settings for the long-running commands (serve, worker, scheduler run-once)."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Called once start-up is done. Objects made so far live as long as the process, so full
    collections need not walk them; and with the default thresholds young collections keep
    promoting the short-lived objects of requests in flight (a webhook waiting for its group
    commit, a send waiting for its answer), so that full collections (~150 ms each) ate a
    quarter of the CPU under load and stalled the sender past its send slots."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
