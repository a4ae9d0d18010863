"""Group commit for the public screening API.

Each ``POST /api/v1/screenings`` is validated and scored in the request, then handed to one
writer per process, which stores every screening waiting at that moment in a single
transaction (rate-limit counters, idempotency look-up and inserts together) and only then
answers each request. A 201 therefore always means "committed"; a failed commit answers 503
for every request of the batch and stores none of them (one transaction). If a batch fails on
a constraint (say, two workers racing on one idempotency key), its requests are retried one by
one so that one bad request cannot fail the others.

The batch's transaction runs on one thread of the writer's own, never on the event loop: a
transaction can wait for a row lock (PostgreSQL) or the write lock (SQLite) held by a request
whose commit is itself scheduled by the event loop, so a transaction on the loop can freeze
the whole server (issue 15.1: the self-screen form upserted the address's rate-limit row on a
worker thread, waited for the loop to commit, and the writer on the loop waited for that row).
The self-screen form and the API both store through this writer (``submit.store``), so the
screening rate limit and the idempotency look-up live in one place. Why batch at all: a
commit per request costs about 1.4 ms of ORM and SQLite work on one core, which caps a single
worker at a few hundred stored screenings per second; a batch costs about the same as one
request, so throughput follows the HTTP layer instead. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.db.engine import make_engine
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.ratelimit.service import hit_many
from ketacare.features.screening.models import Screening
from ketacare.features.screening.service import new_screening_id
from ketacare.settings import Settings

TABLE = cast(Table, Screening.__table__)
COLUMNS = tuple(c.name for c in TABLE.c)
MAX_BATCH = 256
#: How long a batch may wait for SQLite's write lock before its requests get 503.
LOCK_WAIT_S = 10.0

Status = Literal["created", "existing", "rate_limited"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one submission: its stored row (column values) and status."""

    status: Status
    row: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class _Pending:
    values: dict[str, object]
    rate_key: str
    idempotency_key: str | None
    future: asyncio.Future[Outcome]


class WriterUnavailable(RuntimeError):
    """The database could not store the batch; nothing of it was stored."""


class ScreeningWriter:
    """Batches screening inserts into one transaction per batch (one writer per process)."""

    def __init__(self, settings: Settings) -> None:
        # A connection of its own: the writer never queues behind requests for the pool.
        self.engine = make_engine(settings.database_url, dedicated=True)
        self._clinic_id: int | None = None
        self.settings = settings
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        # One thread: batches are written one after another, off the event loop.
        self._thread: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the writer task on the running event loop."""
        self._queue = asyncio.Queue()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="screening-writer")
        self._task = asyncio.create_task(self._run(), name="screening-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._queue is not None and self._task is not None:
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue = self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self.engine.dispose()

    async def submit(
        self, values: dict[str, object], rate_key: str, idempotency_key: str | None
    ) -> Outcome:
        """Queue one scored screening and wait until its batch is committed."""
        if self._queue is None:
            raise WriterUnavailable("the screening writer is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(values, rate_key, idempotency_key, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < MAX_BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                outcomes = await self._write_when_free(batch)
                for item, outcome in zip(batch, outcomes, strict=True):
                    if not item.future.done():
                        item.future.set_result(outcome)
            except Exception as exc:  # the whole batch was rolled back
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(WriterUnavailable(type(exc).__name__))
            finally:
                for _ in batch:
                    queue.task_done()

    async def _write_when_free(self, batch: list[_Pending]) -> list[Outcome]:
        """Write the batch on the writer's thread; while SQLite's write lock is taken, retry.

        The event loop only awaits the thread, so the requests that hold a lock can still
        commit (their commits are scheduled by the loop) and the server keeps answering.
        """
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                return await loop.run_in_executor(self._thread, self._write_or_split, batch)
            except OperationalError as exc:
                locked = "locked" in str(exc.orig) or "busy" in str(exc.orig)
                if not locked or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.001)

    def _write_or_split(self, batch: list[_Pending]) -> list[Outcome]:
        try:
            return self._write(batch)
        except IntegrityError:
            if len(batch) == 1:
                raise
            return [self._write([item])[0] for item in batch]

    def _write(self, batch: list[_Pending]) -> list[Outcome]:
        s = self.settings
        # Core on one connection (no ORM unit of work): a batch is a few statements.
        with self.engine.begin() as conn:
            clinic_id = self._clinic_id
            if clinic_id is None:
                with Session(bind=conn) as db:
                    clinic_id = get_or_create(db, s.public_clinic, s.clinic_name).id
            allowed = [True] * len(batch)
            if s.public_rate_limit > 0:
                wanted = Counter(item.rate_key for item in batch)
                totals = hit_many(conn, dict(wanted), s.public_rate_window_s)
                # Earlier submissions of a key in this batch are admitted first.
                before = {k: totals[k] - n for k, n in wanted.items()}
                for i, item in enumerate(batch):
                    before[item.rate_key] += 1
                    allowed[i] = before[item.rate_key] <= s.public_rate_limit
            keys = {item.idempotency_key for item in batch if item.idempotency_key}
            known: dict[str, dict[str, object]] = {}
            if keys:
                rows = conn.execute(
                    select(TABLE).where(
                        TABLE.c.clinic_id == clinic_id, TABLE.c.idempotency_key.in_(keys)
                    )
                ).mappings()
                known = {str(r["idempotency_key"]): dict(r) for r in rows}
            outcomes: list[Outcome] = []
            new_rows: list[dict[str, object]] = []
            for item, ok in zip(batch, allowed, strict=True):
                key = item.idempotency_key
                if key and key in known:
                    outcomes.append(Outcome("existing", known[key]))
                elif not ok:
                    outcomes.append(Outcome("rate_limited"))
                else:
                    row = dict.fromkeys(COLUMNS)
                    row.update(item.values, id=new_screening_id(), clinic_id=clinic_id)
                    row["idempotency_key"] = key
                    row["created_at"] = utcnow()
                    new_rows.append(row)
                    outcomes.append(Outcome("created", row))
                    if key:
                        known[key] = row
            if new_rows:
                conn.execute(TABLE.insert(), new_rows)
        self._clinic_id = clinic_id  # only once committed: ids do not change afterwards
        return outcomes
