"""A background loop inside a serving or worker process: one step every few seconds until stopped.

The tag job, the report job and the send loop are this loop around different steps. A step that
fails is logged and the loop goes on: a database outage ends with the database's return, and any
other error is logged with its traceback rather than killing the process's other work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.errors import is_database_outage


class PeriodicJob:
    """Subclasses give `name` (the task's name and the log lines') and `step()`."""

    name = "job"

    def __init__(self, *, every_seconds: float, first_after_seconds: float = 0.0) -> None:
        self._every, self._first = every_seconds, first_after_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._log = logging.getLogger(type(self).__module__)

    async def step(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Lets a step in progress finish, then ends the loop."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        wait = self._first
        while not self._stop.is_set():
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                if self._stop.is_set():
                    return
            wait = self._every
            try:
                await self.step()
            except Exception as exc:
                self._log.error(
                    f"{self.name} failed",
                    extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
                )
                if not is_database_outage(exc):
                    self._log.exception(f"unexpected {self.name} failure")
