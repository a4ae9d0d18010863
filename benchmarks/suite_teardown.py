"""The suite's table teardown, side by side in one run: ``tests.cs_guards.empty_tables`` (one
query finds the tables that hold rows; only those are emptied) against the peer it replaced
(a DELETE to every table, with the ledger's and notes' guards lifted on all of them).

Every database test (some 1,600) empties the tables when it ends. The script migrates a
SQLite file and a new PostgreSQL database (``KETACARE_TEST_POSTGRES_URL``, as the suite; its
part is skipped when the server does not answer), then empties the tables ``--rounds`` times
each way, interleaved, with a clinic and a user (what a short test leaves) written before
each round, and prints the median CPU of this process and wall time a round.

    python benchmarks/suite_teardown.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.cs_guards import empty_tables, guards_lifted  # noqa: E402

from ketacare.db import migrate  # noqa: E402
from ketacare.db.engine import get_engine, session_factory  # noqa: E402
from ketacare.features.auth.models import Role, User  # noqa: E402
from ketacare.features.clinics.models import Clinic  # noqa: E402
from ketacare.features.models import Base  # noqa: E402
from ketacare.web.app import create_app  # noqa: E402,F401  (every feature's models)

PG_ADMIN_URL = os.environ.get(
    "KETACARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def every_table(engine: Engine) -> None:
    """The peer: a DELETE to each table, every guard lifted."""
    with engine.begin() as conn, guards_lifted(conn):
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def occupied_only(engine: Engine) -> None:
    empty_tables(engine, Base.metadata)


def some_rows(engine: Engine) -> None:
    """What a short test leaves: a clinic and a user of it."""
    with session_factory(engine)() as db:
        clinic = Clinic(slug="bench", name="Bench")
        db.add(clinic)
        db.flush()
        db.add(
            User(clinic_id=clinic.id, email="bench@example.org", role=Role.nurse, password_hash="x")
        )
        db.commit()


@contextmanager
def databases(tmp: str) -> Iterator[list[tuple[str, Engine]]]:
    """A migrated SQLite file and, when the server answers, a new PostgreSQL database."""
    found = [("SQLite", f"sqlite:///{tmp}/bench.db")]
    name = f"ketacare_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        found.append(("PostgreSQL", PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"))
    except Exception as exc:  # the PostgreSQL part is optional here
        print(f"PostgreSQL skipped: {type(exc).__name__}")
        name = ""
    engines = [(label, get_engine(url)) for label, url in found]
    try:
        for _, engine in engines:
            migrate.upgrade(engine)
        yield engines
    finally:
        for _, engine in engines:
            engine.dispose()
        if name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(fn: Callable[[Engine], None], engine: Engine) -> tuple[float, float]:
    """(CPU s of this process, wall s) of one teardown after a few rows were written."""
    some_rows(engine)
    cpu, wall = time.process_time(), time.perf_counter()
    fn(engine)
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    cases = {"empty_tables (occupied only)": occupied_only, "peer: every table": every_table}
    with tempfile.TemporaryDirectory() as tmp, databases(tmp) as engines:
        print(f"{rounds} rounds each, interleaved; median a teardown")
        print(f"{'database':<11} {'case':<29} {'CPU ms':>7} {'wall ms':>8}")
        for label, engine in engines:
            for fn in cases.values():  # warm: statement caches, the probe's text
                timed(fn, engine)
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
            for _ in range(rounds):
                for name, fn in cases.items():
                    samples[name].append(timed(fn, engine))
            for name, got in samples.items():
                cpu = statistics.median(c for c, _ in got) * 1000
                wall = statistics.median(w for _, w in got) * 1000
                print(f"{label:<11} {name:<29} {cpu:7.1f} {wall:8.1f}")


if __name__ == "__main__":
    main()
