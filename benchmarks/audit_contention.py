"""Audited commits from two processes with busy threads: the cost of the audit chain's lock.

Two processes (as ``load.py``'s two workers), each with ``--threads`` threads. Each thread
loops: open a session, spend ``--cpu-ms`` of pure-Python work holding the GIL (a request's
validation, ORM and template work), record one audit event, commit. Before issue 15.2b's
change every commit locked the chain head from a ``SELECT ... FOR UPDATE`` to its commit,
across two round trips that wait for the GIL; now the events are committed pending and a
chainer thread per process links them. Prints commits/s, the commit's p50/p99 and that the
chain verifies with every event in it.

Run: ``.venv/bin/python benchmarks/audit_contention.py [--seconds 10 --threads 6]`` with
PostgreSQL at ``KETACARE_BENCH_POSTGRES_URL``; the script creates and drops its own database.
Compare codes by running it with ``PYTHONPATH`` pointing at each tree, back to back.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import threading
import time
import uuid

from sqlalchemy import create_engine, text

ADMIN_URL = os.environ.get(
    "KETACARE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
KEY = b"audit-contention-benchmark-key-32"


def _burn(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    x = 0
    while time.perf_counter() < end:
        for i in range(200):
            x += i * i


def _worker(url: str, threads: int, seconds: float, cpu_ms: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.audit import service

    service.register_key(url, KEY)
    engine = get_engine(url)
    chainer = service.Chainer(engine) if hasattr(service, "Chainer") else None
    if chainer is not None:
        chainer.start()
    factory = session_factory(engine)
    lat: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()
    stop = start + seconds

    def loop() -> None:
        mine = []
        i = 0
        while time.perf_counter() < stop:
            with factory() as s:
                _burn(cpu_ms)
                service.record(s, None, "read", "patient", i, clinic_id=None, actor_name="bench")
                t0 = time.perf_counter()
                s.commit()
                mine.append((time.perf_counter() - t0) * 1000)
            i += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=loop) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - start
    if chainer is not None:
        chainer.stop()
    out.put((lat, elapsed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--cpu-ms", type=float, default=3.0)
    opts = parser.parse_args()
    name = f"ketacare_contention_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        from ketacare.db import migrate
        from ketacare.db.engine import get_engine, session_factory
        from ketacare.features.audit import service

        migrate.upgrade(get_engine(url))
        service.register_key(url, KEY)
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        procs = [
            ctx.Process(target=_worker, args=(url, opts.threads, opts.seconds, opts.cpu_ms, out))
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        lat = sorted(x for r in results for x in r[0])
        elapsed = max(r[1] for r in results)
        with session_factory(get_engine(url))() as db:
            report = service.verify_chain(db)
            pending = db.execute(text("SELECT count(*) FROM audit_event WHERE seq < 0")).scalar()
        get_engine(url).dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(
        f"2 processes x {opts.threads} threads, {opts.cpu_ms} ms CPU each, {opts.seconds:.0f} s; "
        f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"  commits {len(lat)} ({len(lat) / elapsed:.0f}/s)  commit p50 "
        f"{statistics.median(lat):.1f} ms  p99 {p99:.1f} ms  chain ok {report.ok}, "
        f"{report.checked} chained, {pending} pending"
    )


if __name__ == "__main__":
    main()
