"""The background loop shared by the tag job, the report job and the send loop."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.exc import OperationalError

from app.periodic import PeriodicJob


class Steps(PeriodicJob):
    name = "test job"

    def __init__(self, failures: list[BaseException | None], **kwargs: float) -> None:
        super().__init__(**kwargs)
        self.failures = failures
        self.ran = 0
        self.done = asyncio.Event()

    async def step(self) -> None:
        self.ran += 1
        failure = self.failures.pop(0) if self.failures else None
        if not self.failures:
            self.done.set()
        if failure is not None:
            raise failure


async def test_a_failed_step_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    job = Steps([ValueError("bad row"), outage, None], every_seconds=0.01)
    with caplog.at_level(logging.INFO):
        job.start()
        await asyncio.wait_for(job.done.wait(), 5)
        await job.stop()
    assert job.ran >= 3
    failed = [r for r in caplog.records if r.getMessage() == "test job failed"]
    assert [r.error for r in failed[:2]] == ["ValueError", "OperationalError"]  # type: ignore[attr-defined]
    # A traceback for the unexpected error only; an outage is expected to pass.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["unexpected test job failure"]


async def test_the_first_step_can_wait_and_stop_ends_the_wait() -> None:
    job = Steps([], every_seconds=60, first_after_seconds=60)
    job.start()
    await asyncio.sleep(0.05)
    await asyncio.wait_for(job.stop(), 1)
    assert job.ran == 0


async def test_stop_before_start_is_harmless() -> None:
    await Steps([], every_seconds=1).stop()
