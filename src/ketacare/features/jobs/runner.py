"""Run every registered periodic job (``Feature.jobs``), in the app or from the CLI.

Each job owns its transactions and is isolated from the others: a job that raises is logged
(job name and error type, never patient data) and the next one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from ketacare.db.base import utcnow
from ketacare.features import registry
from ketacare.settings import Settings

log = logging.getLogger("ketacare.jobs")


@dataclass(frozen=True, slots=True)
class JobResult:
    """One job's outcome in a run: what it returned, or the name of the error it raised."""

    name: str
    result: object = None
    error: str | None = None


def run_all(
    sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> list[JobResult]:
    """Run every registered job once, in registry order, each with the same ``now`` (UTC)."""
    now = now or utcnow()
    results = []
    for job in registry.features_jobs():
        try:
            run = registry.resolve(job.target)
            assert callable(run), job.target
            run_job: Callable[[sessionmaker[Session], Settings, datetime], object] = run
            results.append(JobResult(job.name, run_job(sessions, settings, now)))
        except Exception as exc:
            log.exception("periodic job %s failed; retrying next interval", job.name)
            results.append(JobResult(job.name, error=type(exc).__name__))
    return results


class PeriodicTask:
    """Runs :func:`run_all` every ``settings.periodic_interval_s`` in the app's event loop
    (on a worker thread: the jobs do blocking database work)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.periodic_interval_s)
            try:
                await anyio.to_thread.run_sync(run_all, self.sessions, self.settings)
            except Exception:
                log.exception("periodic run failed; retrying next interval")

    async def start(self) -> None:
        """Start the loop (no-op when the interval is 0)."""
        if self.settings.periodic_interval_s > 0:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
